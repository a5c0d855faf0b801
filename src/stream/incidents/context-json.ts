// The JSON text of an incident context as it leaves the process: redactor().json(doc, 'context'), byte
// for byte (same walk, same counts), without walking again the evidence items that did not change since
// an earlier revision.
//
// An evidence item's document form is one object per state of the item: EvidenceItem.toDoc rebuilds it
// after a change and hands out the same object until then, and nothing mutates it (it is sealed here).
// So "this redactor's walk left this object unchanged" holds for every later revision carrying it.
// The redaction walk over every string of every revision (event uids, summaries, messages…) was 17 % of
// a CPU profile of bench/pipeline.ts's 40 × 1000 stream at 0 % repeats (`node --cpu-prof`), the
// JSON.stringify itself 4 %. Event refs, object refs (evidence.ts) and the scope (incident.ts) are sealed
// too: Redactor.text() calls per context on that stream went 218 → 75 (counted, deterministic), and a
// pass with context JSON took median 505 → 469 CPU-ms per 40k records against main (15 interleaved
// rounds on the shared 2-core machine; the pass without JSON unchanged).
// Sealing is a promise: whoever receives a context must not mutate it in place (copy it first).
import { type CleanReuse, type Redactor, redactor } from '../../core/redact.ts';
import type { IncidentContextDoc } from './document.ts';

/**
 * The mark of a sealed part, a non-enumerable own property (JSON, Object.keys, spread and deepEqual do
 * not see it): absent on parts never sealed, null on sealed ones, and the verdicts of the redactor that
 * found it clean once it did. It replaced two WeakSets (sealed, clean): WeakSet.add was ~0.7–1.1 µs a
 * call against ~0.15 µs for this define (30 × bench/pipeline.ts's 40 × 1000 stream, 0 % repeats,
 * `node --cpu-prof`: seal was 4.8 % of all samples, the largest frame of dedup + grouping after
 * EvidenceItem.apply).
 */
const SEALED = Symbol('kubetriage.sealed');
type Marked = { [SEALED]?: Verdicts | null };
const MARK: PropertyDescriptor = { value: null, writable: true, enumerable: false, configurable: false };

/** Marks a document part as never mutated from now on: its redaction verdict may be reused. */
export function seal<T extends object>(part: T): T {
  Object.defineProperty(part, SEALED, MARK);
  return part;
}

/** Whether a part was sealed. */
const sealed = { has: (o: object): boolean => SEALED in o };

/** The parts one redactor found clean: sealed parts whose mark names this object. */
class Verdicts {
  has(o: object): boolean {
    return (o as Marked)[SEALED] === this;
  }
  /** Only called for sealed parts (Redactor: `r === v && reuse.sealed.has(v)`), whose mark is writable. */
  add(o: object): void {
    (o as Marked)[SEALED] = this;
  }
}

// Verdicts of the current redactor; a reconfigured one (installRedactor) starts over. The marks go with
// their objects (the item changed, or its incident closed).
let reuseFor: Redactor | undefined;
let reuse: CleanReuse = { sealed, clean: new Verdicts() };

/** redactor().json(doc, 'context'), reusing the verdicts on parts already found clean. */
export function contextJson(doc: IncidentContextDoc, r: Redactor = redactor()): string {
  if (reuseFor !== r) {
    reuseFor = r;
    reuse = { sealed, clean: new Verdicts() };
  }
  return r.json(doc, 'context', reuse);
}
