import { createHash } from 'node:crypto';
import { flat } from '../flat.ts';
import type { PodRevision } from '../workload.ts';
import { type EvidenceDoc, iso } from './document.ts';

export type EvidenceKind =
  | 'k8s_event'
  | 'restart'
  | 'metric_anomaly'
  | 'span_errors'
  | 'rollout'
  | 'log'
  /** A pod condition from its status (PodScheduled=False): neither an Event nor a container restart. */
  | 'pod_status';

// Reference lists are capped: evidence must stay readable and documents bounded.
const MAX_REFS = 10;
// Per-event counts kept exactly; beyond this many distinct events, the rest are summed.
const MAX_EVENT_UIDS = 32;

/** One piece of new information about an evidence item, produced from one signal. */
export interface EvidenceUpdate {
  key: string;
  kind: EvidenceKind;
  atMs: number;
  summary: string;
  /** Occurrences this update adds (ignored when eventUid is set: events carry their own count). */
  add: number;
  eventUid: string;
  eventCount: number;
  object: ObjectRef | undefined;
  pod: string;
  container: string;
  traceId: string;
  metric: MetricRef | undefined;
  /** The pod's revision when enrichment knows its ReplicaSet (set by the grouper). */
  revision: PodRevision | undefined;
}

/** Which revision of the workload the failing pods ran, as the cluster knew it at the signal. */
export interface RevisionRef {
  replicaSet: string;
  revision: number | null;
  label: 'new-revision' | 'old-revision';
}

export interface ObjectRef {
  kind: string;
  name: string;
  uid: string;
}

export interface MetricRef {
  name: string;
  rule: string;
  observed: number;
  expected: number;
}

export function blankUpdate(kind: EvidenceKind, key: string, atMs: number, summary: string): EvidenceUpdate {
  return {
    key,
    kind,
    atMs,
    summary,
    add: 1,
    eventUid: '',
    eventCount: 0,
    object: undefined,
    pod: '',
    container: '',
    traceId: '',
    metric: undefined,
    revision: undefined,
  };
}

export function evidenceId(key: string): string {
  return `ev-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** An aggregated evidence item inside one incident. */
export class EvidenceItem {
  readonly id: string;
  readonly key: string;
  readonly kind: EvidenceKind;
  firstAt: number;
  lastAt: number;
  summary: string;
  #plainCount = 0;
  #eventCounts: Map<string, number> | undefined;
  #overflowCount = 0;
  // Reference sets are created on first use: most items only ever fill one or two of them, and
  // thousands of open incidents each holding four empty collections showed in the memory benchmark.
  #objects: Map<string, ObjectRef> | undefined;
  #pods: Set<string> | undefined;
  #containers: Set<string> | undefined;
  #traceIds: Set<string> | undefined;
  #revisions: Map<string, RevisionRef> | undefined;
  metric: MetricRef | undefined;
  /**
   * The document form, rebuilt only after a change: an incident's revision usually changes a few of
   * its items, and building every item's refs and timestamps per context was a measured hot spot.
   */
  #doc: EvidenceDoc | undefined;

  constructor(u: Pick<EvidenceUpdate, 'key' | 'kind' | 'atMs' | 'summary'>) {
    // Flat: both live as long as the incident (see flat.ts).
    this.id = flat(evidenceId(u.key));
    this.key = flat(u.key);
    this.kind = u.kind;
    this.firstAt = u.atMs;
    this.lastAt = u.atMs;
    this.summary = u.summary;
  }

  /** Rebuilds an item from its document form (state restore after a restart). */
  static fromDoc(e: EvidenceDoc): EvidenceItem {
    const item = new EvidenceItem({
      key: e.key,
      kind: e.kind as EvidenceKind,
      atMs: Date.parse(e.at),
      summary: e.summary,
    });
    item.lastAt = Date.parse(e.lastAt);
    const refs = e.refs as {
      objects?: ObjectRef[];
      events?: { uid: string; count: number }[];
      pods?: string[];
      containers?: string[];
      traceIds?: string[];
      metric?: MetricRef;
      revisions?: RevisionRef[];
    };
    let eventTotal = 0;
    if (refs.events?.length) {
      item.#eventCounts = new Map();
      for (const ev of refs.events) {
        item.#eventCounts.set(ev.uid, ev.count);
        eventTotal += ev.count;
      }
    }
    item.#plainCount = Math.max(0, e.count - eventTotal);
    for (const o of refs.objects ?? []) item.#addObject(o);
    for (const p of refs.pods ?? []) item.#pods = addBounded(item.#pods, p);
    for (const c of refs.containers ?? []) item.#containers = addBounded(item.#containers, c);
    for (const t of refs.traceIds ?? []) item.#traceIds = addBounded(item.#traceIds, t);
    for (const r of refs.revisions ?? []) item.#addRevision(r);
    item.metric = refs.metric;
    return item;
  }

  get count(): number {
    let n = this.#plainCount + this.#overflowCount;
    if (this.#eventCounts) for (const c of this.#eventCounts.values()) n += c;
    return n;
  }

  /** Applies an update; returns true when the item changed (a new revision is due). */
  apply(u: EvidenceUpdate): boolean {
    this.#doc = undefined;
    let changed = false;
    if (u.eventUid) {
      // A Kubernetes Event's count is cumulative: keep the highest seen per event, so a re-delivered
      // or re-ordered update never counts twice.
      this.#eventCounts ??= new Map();
      const seen = this.#eventCounts.get(u.eventUid);
      if (seen === undefined) {
        if (this.#eventCounts.size < MAX_EVENT_UIDS) this.#eventCounts.set(u.eventUid, u.eventCount);
        else this.#overflowCount += u.eventCount;
        changed = true;
      } else if (u.eventCount > seen) {
        this.#eventCounts.set(u.eventUid, u.eventCount);
        changed = true;
      }
    } else if (u.add > 0) {
      this.#plainCount += u.add;
      changed = true;
    }
    if (u.atMs < this.firstAt) this.firstAt = u.atMs;
    if (u.atMs > this.lastAt) {
      this.lastAt = u.atMs;
      this.summary = u.summary;
    }
    if (u.object) this.#addObject(u.object);
    if (u.pod) this.#pods = addBounded(this.#pods, u.pod);
    if (u.container) this.#containers = addBounded(this.#containers, u.container);
    if (u.traceId) this.#traceIds = addBounded(this.#traceIds, u.traceId);
    if (u.metric) this.metric = u.metric;
    if (u.revision) {
      const label = u.revision.isLatest ? 'new-revision' : 'old-revision';
      const seen = this.#revisions?.get(u.revision.replicaSet);
      // The label as of the newest signal: a later rollout turns a new revision into an old one.
      if (seen?.label !== label)
        this.#addRevision({ replicaSet: u.revision.replicaSet, revision: u.revision.revision, label });
    }
    return changed;
  }

  #addRevision(r: RevisionRef): void {
    this.#revisions ??= new Map();
    if (this.#revisions.size < MAX_REFS || this.#revisions.has(r.replicaSet))
      this.#revisions.set(r.replicaSet, r);
  }

  #addObject(o: ObjectRef): void {
    this.#objects ??= new Map();
    if (this.#objects.size < MAX_REFS) this.#objects.set(`${o.kind}/${o.name}`, o);
  }

  toDoc(): EvidenceDoc {
    this.#doc ??= {
      id: this.id,
      key: this.key,
      kind: this.kind,
      at: iso(this.firstAt),
      lastAt: iso(this.lastAt),
      summary: this.summary,
      count: this.count,
      refs: this.refs(),
    };
    return this.#doc;
  }

  refs(): Record<string, unknown> {
    const refs: Record<string, unknown> = {};
    if (this.#objects?.size) refs.objects = [...this.#objects.values()];
    // All tracked events (bounded by MAX_EVENT_UIDS), so a restart can restore exact per-event counts.
    if (this.#eventCounts?.size) refs.events = [...this.#eventCounts].map(([uid, count]) => ({ uid, count }));
    if (this.#pods?.size) refs.pods = [...this.#pods];
    if (this.#containers?.size) refs.containers = [...this.#containers];
    if (this.#traceIds?.size) refs.traceIds = [...this.#traceIds];
    if (this.#revisions?.size) refs.revisions = [...this.#revisions.values()];
    if (this.metric) refs.metric = this.metric;
    return refs;
  }
}

function addBounded(set: Set<string> | undefined, v: string): Set<string> {
  const s = set ?? new Set<string>();
  if (s.size < MAX_REFS) s.add(v);
  return s;
}
