import { hash } from 'node:crypto';
import { flat } from '../flat.ts';
import { Hold, type PartitionState, type RecordSource } from '../offsets.ts';
import type { WorkloadRef } from '../signals.ts';
import type { ManagedByDoc } from '../workload.ts';
import type { WorkloadState } from '../workload-state.ts';
import { seal } from './context-json.ts';
import {
  type EvidenceDoc,
  INCIDENT_CONTEXT_SCHEMA,
  type IncidentContextDoc,
  iso,
  type PersistingDoc,
  type RelatedDoc,
  type RolloutDoc,
} from './document.ts';
import { EvidenceItem, type EvidenceUpdate } from './evidence.ts';

export interface IncidentScope {
  cluster: string;
  namespace: string;
  workload: WorkloadRef;
  /** The signal's deployment.environment(.name); not part of the incident's identity. */
  environment?: string | undefined;
  environmentSource?: string | undefined;
}

// Offset ranges kept per partition; older ones are dropped beyond it, and the document says how many
// (sources[].dropped, sourcesTruncated): provenance that is incomplete must say so.
export const MAX_RANGES = 64;

export function scopeKey(s: IncidentScope): string {
  return `${s.cluster}/${s.namespace}/${s.workload.kind}/${s.workload.name}`;
}

/** Deterministic: the same scope and first signal always give the same id (replay, restarts). */
export function incidentId(s: IncidentScope, startMs: number): string {
  // One-shot crypto.hash, as evidenceId (evidence.ts).
  const h = hash('sha256', `${scopeKey(s)}@${Math.round(startMs)}`);
  return `inc-${h.slice(0, 20)}`;
}

/** One open incident: its evidence, timing state and what it still owes the offset ledger. */
export class Incident {
  readonly id: string;
  readonly key: string;
  readonly scope: IncidentScope;
  team: string | null = null;
  teamSource: string | null = null;
  environment: string | null = null;
  environmentSource: string | null = null;
  /** Who manages the workload (GitOps, Helm), when enrichment knows; in the document only when set. */
  managedBy: ManagedByDoc | null = null;
  revision = 0;
  status: 'open' | 'resolved' = 'open';
  readonly evidence = new Map<string, EvidenceItem>();
  droppedEvidence = 0;
  signals = 0;
  deduplicated = 0;
  windowStart: number;
  windowEnd: number;
  /** Time of the earliest problem signal (a rollout before it widens the window, not this). */
  firstSignalAt: number;
  rollouts: RolloutDoc[] = [];
  /** See `related`: created on first use (most incidents never link one; 10k empty Maps were 1.8 MB). */
  #related: Map<string, RelatedDoc> | undefined;
  /** The noise floor class and time of the signal that opened it (not kept across a restart). */
  openedBy: { cls: string; atMs: number } | undefined;
  /** Latest replica counts (k8s_cluster metrics); not a material change on its own. */
  workloadState: WorkloadState | null = null;
  /** Why it stays open past resolveTimeout (the fault still shows in the cluster). */
  persisting: PersistingDoc | null = null;
  /** Earliest processing time the next resolve check may run (a deferred resolve waits resolveRecheck). */
  resolveCheckAt = 0;
  /** Processing-clock times (record time in replay, wall time in run). */
  readonly createdAt: number;
  lastProblemAt: number;
  lastUpdateAt: number;
  nextEmitAt: number;
  firstContextAt = 0;
  resolvedAt = 0;
  /** A material change (evidence, counts, status) not yet sent: the next context gets a new revision. */
  dirty = false;
  /**
   * Anything absorbed since the last context, material or not (a repeat that only adds to stats and
   * provenance). Such records still hold their offsets, so they are sent too: same revision number.
   */
  pending = false;
  /** Lowest offsets per partition of records absorbed since the last emitted context. */
  hold: Hold | undefined;
  /**
   * Per partition its offset ranges, as [partition, ranges] pairs searched in order: an incident hears
   * from a few partitions, and a Map per incident was 1.8 MB at 10k open incidents (bench/memory.ts).
   */
  #sources: [PartitionState, [number, number][]][] = [];
  /**
   * Per partition, the oldest ranges dropped beyond MAX_RANGES and the offsets they covered. Created on
   * the first drop: at 10k open incidents (bench/memory.ts) 10k empty Maps were 1.8 MB of heap.
   */
  #dropped: Map<PartitionState, { ranges: number; offsets: number }> | undefined;
  /** The scope as the last document wrote it (see #scopeDoc). */
  #scopeDocCache: IncidentContextDoc['scope'] | undefined;

  constructor(scope: IncidentScope, firstSignalMs: number, now: number, groupWaitMs: number, id?: string) {
    this.scope = scope;
    // Flat: both live as long as the incident (see flat.ts).
    this.key = flat(scopeKey(scope));
    this.id = flat(id ?? incidentId(scope, firstSignalMs));
    this.windowStart = firstSignalMs;
    this.windowEnd = firstSignalMs;
    this.firstSignalAt = firstSignalMs;
    this.createdAt = now;
    this.lastProblemAt = now;
    this.lastUpdateAt = now;
    this.nextEmitAt = now + groupWaitMs;
  }

  /** Incidents tied to this one by failing calls, by `relation|incident` (related.ts); kept once linked. */
  get related(): Map<string, RelatedDoc> {
    this.#related ??= new Map();
    return this.#related;
  }

  /** Records one signal's evidence; `maxEvidence` bounds the document. */
  absorb(u: EvidenceUpdate, maxEvidence: number): void {
    this.signals++;
    this.pending = true;
    let item = this.evidence.get(u.key);
    if (item) {
      this.deduplicated++;
      if (item.apply(u)) this.dirty = true;
    } else if (this.evidence.size < maxEvidence) {
      item = new EvidenceItem(u);
      item.apply(u);
      this.evidence.set(item.key, item);
      this.dirty = true;
    } else {
      this.droppedEvidence++;
      this.dirty = true;
    }
    // Sub-floor context is background: it never moves the window.
    if (u.context) return;
    // The window starts where the fact began (an Event's first occurrence), not where it was first seen.
    const start = u.firstAtMs > 0 && u.firstAtMs < u.atMs ? u.firstAtMs : u.atMs;
    if (start < this.windowStart) this.windowStart = start;
    if (u.atMs > this.windowEnd) this.windowEnd = u.atMs;
  }

  /**
   * Remembers which record contributed (for commits and for the document's provenance). Returns the
   * hold when this record started a new one, so the caller can make the offset ledger see it at once:
   * a record absorbed but not yet sent in a context must block the commit of its offset.
   */
  source(src: RecordSource): Hold | undefined {
    const { partition: p, offset } = src;
    this.#addRange(p, offset);
    if (src.holdAt === null) return undefined;
    const fresh = this.hold === undefined;
    this.hold ??= new Hold();
    const held = src.holdAt ?? src;
    this.hold.add(held.partition, held.offset, src.timestamp);
    return fresh ? this.hold : undefined;
  }

  #addRange(p: PartitionState, offset: number): void {
    let ranges: [number, number][] | undefined;
    for (const [q, r] of this.#sources)
      if (q === p) {
        ranges = r;
        break;
      }
    if (!ranges) {
      ranges = [];
      this.#sources = this.#sources.concat([[p, ranges]]);
    }
    const last = ranges[ranges.length - 1];
    if (last && offset >= last[0] && offset <= last[1] + 1) {
      if (offset > last[1]) last[1] = offset;
      return;
    }
    ranges.push([offset, offset]);
    if (ranges.length > MAX_RANGES) {
      const [lo, hi] = ranges.shift()!;
      const d = this.#dropped?.get(p);
      if (d) {
        d.ranges++;
        d.offsets += hi - lo + 1;
      } else {
        this.#dropped ??= new Map();
        this.#dropped.set(p, { ranges: 1, offsets: hi - lo + 1 });
      }
    }
  }

  /**
   * The document's scope. Without managedBy (enrichment's object, not ours to seal) it is one sealed
   * object until team or environment change: every revision carries the same one, and the context
   * serialiser does not walk it again (context-json.ts).
   */
  #scopeDoc(): IncidentContextDoc['scope'] {
    const d = this.#scopeDocCache;
    if (
      d !== undefined &&
      this.managedBy === null &&
      d.team === this.team &&
      d.teamSource === this.teamSource &&
      d.environment === this.environment &&
      d.environmentSource === this.environmentSource
    )
      return d;
    const fresh = {
      cluster: this.scope.cluster,
      namespace: this.scope.namespace,
      workload: { kind: this.scope.workload.kind, name: this.scope.workload.name },
      team: this.team,
      teamSource: this.teamSource,
      environment: this.environment,
      environmentSource: this.environmentSource,
      ...(this.managedBy ? { managedBy: this.managedBy } : {}),
    };
    if (this.managedBy === null) {
      seal(fresh.workload);
      this.#scopeDocCache = seal(fresh);
    } else this.#scopeDocCache = undefined;
    return fresh;
  }

  /** Takes the hold for the context about to be sent; the next changes start a new one. */
  takeHold(): Hold | undefined {
    const h = this.hold;
    this.hold = undefined;
    return h;
  }

  /**
   * Rebuilds an open incident from its latest context (read back from the contexts topic at start-up),
   * so a restarted instance continues the same id and revision instead of opening a duplicate.
   */
  static fromDoc(
    doc: IncidentContextDoc,
    now: number,
    groupIntervalMs: number,
    partitionOf: (topic: string, partition: number) => PartitionState,
  ): Incident {
    const scope: IncidentScope = {
      cluster: doc.scope.cluster,
      namespace: doc.scope.namespace,
      workload: { ...doc.scope.workload },
    };
    const inc = new Incident(scope, Date.parse(doc.window.start), now, 0, doc.id);
    inc.team = doc.scope.team;
    inc.teamSource = doc.scope.teamSource;
    inc.environment = doc.scope.environment ?? null;
    inc.environmentSource = doc.scope.environmentSource ?? null;
    inc.managedBy = doc.scope.managedBy ?? null;
    inc.persisting = doc.persisting ?? null;
    inc.revision = doc.revision;
    inc.windowEnd = Date.parse(doc.window.end);
    inc.firstSignalAt = Date.parse(doc.timings?.firstSignal ?? '') || inc.windowStart;
    for (const e of doc.evidence) {
      const item = EvidenceItem.fromDoc(e);
      inc.evidence.set(item.key, item);
    }
    inc.rollouts = doc.rollouts.map((r) => ({ ...r }));
    for (const r of doc.related ?? []) inc.related.set(`${r.relation}|${r.incident}`, { ...r });
    inc.workloadState = doc.workloadState ?? null;
    for (const src of doc.sources ?? []) {
      const p = partitionOf(src.topic, src.partition);
      const ranges = src.ranges.map((r): [number, number] => [r[0], r[1]]);
      const at = inc.#sources.findIndex(([q]) => q === p);
      if (at < 0) inc.#sources = inc.#sources.concat([[p, ranges]]);
      else inc.#sources[at] = [p, ranges];
      if (src.dropped) {
        inc.#dropped ??= new Map();
        inc.#dropped.set(partitionOf(src.topic, src.partition), { ...src.dropped });
      }
    }
    inc.signals = doc.stats.signals;
    inc.deduplicated = doc.stats.deduplicated;
    inc.droppedEvidence = doc.stats.droppedEvidence ?? 0;
    const updated = Date.parse(doc.timings?.updated ?? '') || now;
    inc.firstContextAt = Date.parse(doc.timings?.firstContext ?? '') || updated;
    // Quiet time before the restart counts towards resolve_timeout.
    inc.lastProblemAt = updated;
    inc.lastUpdateAt = updated;
    inc.nextEmitAt = updated + groupIntervalMs;
    return inc;
  }

  toDocument(now: number): IncidentContextDoc {
    const evidence = evidenceDocs(this.evidence);
    const sources = [...this.#sources]
      .map(([p, ranges]) => {
        const dropped = this.#dropped?.get(p);
        return {
          topic: p.topic,
          partition: p.partition,
          ranges: ranges.map((r) => [r[0], r[1]] as [number, number]),
          ...(dropped ? { dropped: { ...dropped } } : {}),
        };
      })
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return {
      schema: INCIDENT_CONTEXT_SCHEMA,
      id: this.id,
      revision: this.revision,
      status: this.status,
      scope: this.#scopeDoc(),
      window: { start: iso(this.windowStart), end: iso(this.windowEnd) },
      evidence,
      rollouts: this.rollouts.map((r) => ({ ...r })),
      related: this.#related
        ? [...this.#related.values()].sort(relatedOrder).map((r) => ({ ...r, evidence: [...r.evidence] }))
        : [],
      workloadState: this.workloadState,
      persisting: this.persisting,
      stats: {
        signals: this.signals,
        deduplicated: this.deduplicated,
        droppedEvidence: this.droppedEvidence,
      },
      sources,
      ...(this.#dropped !== undefined && this.#dropped.size > 0 ? { sourcesTruncated: true as const } : {}),
      timings: {
        firstSignal: iso(this.firstSignalAt),
        firstContext: iso(this.firstContextAt || now),
        updated: iso(now),
        resolved: this.resolvedAt ? iso(this.resolvedAt) : null,
      },
    };
  }
}

/** Evidence in document order: by first occurrence, then id (a total order: ids are distinct). */
function evidenceOrder(a: EvidenceItem, b: EvidenceItem): number {
  return a.firstAt - b.firstAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// Up to this many items are put in order by insertion into one array; more go through Array.sort.
const INSERTION_SORTED = 32;

/**
 * The items' documents in evidenceOrder, in one array. It was a spread, a sort and a map (three arrays,
 * and the sort's work copy): 3.4 of the 20.5 MB that dedup + grouping allocate per pass of
 * bench/pipeline.ts's stream at 0 % repeats were that sort and map (sampling heap profile, collected
 * objects kept). The order is total, so any sort gives the same documents; the items mostly come in
 * order already (a Map keeps them as they opened).
 */
function evidenceDocs(items: Map<string, EvidenceItem>): EvidenceDoc[] {
  if (items.size > INSERTION_SORTED) return [...items.values()].sort(evidenceOrder).map((e) => e.toDoc());
  const sorted = new Array<EvidenceItem>(items.size);
  let n = 0;
  for (const item of items.values()) {
    let i = n++;
    for (; i > 0 && evidenceOrder(sorted[i - 1]!, item) > 0; i--) sorted[i] = sorted[i - 1]!;
    sorted[i] = item;
  }
  const docs = sorted as unknown as EvidenceDoc[];
  for (let i = 0; i < n; i++) docs[i] = sorted[i]!.toDoc();
  return docs;
}

/** Upstream first (the likely cause), then impact; by namespace, workload and id within each. */
function relatedOrder(a: RelatedDoc, b: RelatedDoc): number {
  const ka = `${a.relation === 'upstream' ? 0 : 1}|${a.namespace}|${a.workload.name}|${a.workload.kind}|${a.incident}`;
  const kb = `${b.relation === 'upstream' ? 0 : 1}|${b.namespace}|${b.workload.name}|${b.workload.kind}|${b.incident}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
