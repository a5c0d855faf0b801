import { createHash } from 'node:crypto';
import { Hold, type PartitionState, type RecordSource } from '../offsets.ts';
import type { WorkloadRef } from '../signals.ts';
import { INCIDENT_CONTEXT_SCHEMA, type IncidentContextDoc, iso, type RolloutDoc } from './document.ts';
import { EvidenceItem, type EvidenceUpdate } from './evidence.ts';

export interface IncidentScope {
  cluster: string;
  namespace: string;
  workload: WorkloadRef;
}

// Offset ranges kept per partition; older ones are dropped (and the document says so) beyond it.
const MAX_RANGES = 64;

export function scopeKey(s: IncidentScope): string {
  return `${s.cluster}/${s.namespace}/${s.workload.kind}/${s.workload.name}`;
}

/** Deterministic: the same scope and first signal always give the same id (replay, restarts). */
export function incidentId(s: IncidentScope, startMs: number): string {
  const h = createHash('sha256')
    .update(`${scopeKey(s)}@${Math.round(startMs)}`)
    .digest('hex');
  return `inc-${h.slice(0, 20)}`;
}

/** One open incident: its evidence, timing state and what it still owes the offset ledger. */
export class Incident {
  readonly id: string;
  readonly key: string;
  readonly scope: IncidentScope;
  team: string | null = null;
  teamSource: string | null = null;
  revision = 0;
  status: 'open' | 'resolved' = 'open';
  readonly evidence = new Map<string, EvidenceItem>();
  droppedEvidence = 0;
  signals = 0;
  deduplicated = 0;
  windowStart: number;
  windowEnd: number;
  rollouts: RolloutDoc[] = [];
  /** Processing-clock times (record time in replay, wall time in run). */
  readonly createdAt: number;
  lastProblemAt: number;
  lastUpdateAt: number;
  nextEmitAt: number;
  firstContextAt = 0;
  resolvedAt = 0;
  dirty = false;
  /** Lowest offsets per partition of records absorbed since the last emitted context. */
  hold: Hold | undefined;
  readonly #sources = new Map<PartitionState, [number, number][]>();

  constructor(scope: IncidentScope, firstSignalMs: number, now: number, groupWaitMs: number) {
    this.scope = scope;
    this.key = scopeKey(scope);
    this.id = incidentId(scope, firstSignalMs);
    this.windowStart = firstSignalMs;
    this.windowEnd = firstSignalMs;
    this.createdAt = now;
    this.lastProblemAt = now;
    this.lastUpdateAt = now;
    this.nextEmitAt = now + groupWaitMs;
  }

  /** Records one signal's evidence; `maxEvidence` bounds the document. */
  absorb(u: EvidenceUpdate, maxEvidence: number): void {
    this.signals++;
    let item = this.evidence.get(u.key);
    if (item) {
      this.deduplicated++;
      if (item.apply(u)) this.dirty = true;
    } else if (this.evidence.size < maxEvidence) {
      item = new EvidenceItem(u);
      item.apply(u);
      this.evidence.set(u.key, item);
      this.dirty = true;
    } else {
      this.droppedEvidence++;
      this.dirty = true;
    }
    if (u.atMs < this.windowStart) this.windowStart = u.atMs;
    if (u.atMs > this.windowEnd) this.windowEnd = u.atMs;
  }

  /** Remembers which record contributed (for commits and for the document's provenance). */
  source(src: RecordSource): void {
    const { partition: p, offset } = src;
    this.hold ??= new Hold();
    this.hold.add(p, offset, src.timestamp);
    let ranges = this.#sources.get(p);
    if (!ranges) {
      ranges = [];
      this.#sources.set(p, ranges);
    }
    const last = ranges[ranges.length - 1];
    if (last && offset >= last[0] && offset <= last[1] + 1) {
      if (offset > last[1]) last[1] = offset;
      return;
    }
    ranges.push([offset, offset]);
    if (ranges.length > MAX_RANGES) ranges.shift();
  }

  /** Takes the hold for the context about to be sent; the next changes start a new one. */
  takeHold(): Hold | undefined {
    const h = this.hold;
    this.hold = undefined;
    return h;
  }

  toDocument(now: number): IncidentContextDoc {
    const evidence = [...this.evidence.values()]
      .sort((a, b) => a.firstAt - b.firstAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((e) => ({
        id: e.id,
        kind: e.kind,
        at: iso(e.firstAt),
        lastAt: iso(e.lastAt),
        summary: e.summary,
        count: e.count,
        refs: e.refs(),
      }));
    const sources = [...this.#sources]
      .map(([p, ranges]) => ({
        topic: p.topic,
        partition: p.partition,
        ranges: ranges.map((r) => [r[0], r[1]] as [number, number]),
      }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return {
      schema: INCIDENT_CONTEXT_SCHEMA,
      id: this.id,
      revision: this.revision,
      status: this.status,
      scope: {
        cluster: this.scope.cluster,
        namespace: this.scope.namespace,
        workload: { kind: this.scope.workload.kind, name: this.scope.workload.name },
        team: this.team,
        teamSource: this.teamSource,
      },
      window: { start: iso(this.windowStart), end: iso(this.windowEnd) },
      evidence,
      rollouts: this.rollouts.map((r) => ({ ...r })),
      stats: {
        signals: this.signals,
        deduplicated: this.deduplicated,
        droppedEvidence: this.droppedEvidence,
      },
      sources,
      timings: {
        firstSignal: iso(this.windowStart),
        firstContext: iso(this.firstContextAt || now),
        updated: iso(now),
        resolved: this.resolvedAt ? iso(this.resolvedAt) : null,
      },
    };
  }
}
