import { hash } from 'node:crypto';
import { flat } from '../flat.ts';
import type { PodRevision } from '../workload.ts';
import { seal } from './context-json.ts';
import { type EvidenceDoc, iso } from './document.ts';
import { specificity, specificityAtMost } from './specificity.ts';

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
// Tracked events from which an item looks their uids up in a Map rather than the array (#eventAt).
const EVENT_INDEX_FROM = 8;
// Distinct messages kept per item, most specific first.
const MAX_MESSAGES = 5;

/** One piece of new information about an evidence item, produced from one signal. */
export interface EvidenceUpdate {
  key: string;
  kind: EvidenceKind;
  atMs: number;
  /** Read it through summaryOf(): '' until then when `summarize` is set. */
  summary: string;
  /**
   * Builds `summary` from the update's own fields on first use (fromEvent): most Warning events only add
   * to an item whose message it already keeps, and their summary was concatenated per event and dropped.
   * A function of the update, not a closure over the signal: a closure kept each event's signal alive
   * as long as its update, and memory-child's steady rows rose 258 → 288 MB RSS.
   */
  summarize: ((u: EvidenceUpdate) => string) | undefined;
  /** An Event's type and reason, for its summary; '' otherwise. */
  eventType: string;
  eventReason: string;
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
  /** The telemetry's own text (event message, log body); '' when the summary is all there is. */
  message: string;
  /** When the reported fact first occurred, if earlier than atMs (an Event's first occurrence); 0 unknown. */
  firstAtMs: number;
  /**
   * One Kubernetes fact several Events report (an image's pull failures: "Failed to pull image",
   * "Error: ErrImagePull", "Error: ImagePullBackOff", "Back-off pulling image"): their counts are one
   * count, the largest of the strong reports (the attempts), else of the weak ones (the back-off repeats).
   */
  fact: string;
  factWeak: boolean;
  /** A log line's content class (floors.logPatterns: config_error, crash, error); '' none. */
  logClass: string;
  /** Below its noise floor and held until an incident opened: context, not a cause (never widens the window). */
  context: boolean;
  /** Below its noise floor: added to an open incident, but does not keep it from resolving. */
  subFloor: boolean;
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
    summarize: undefined,
    eventType: '',
    eventReason: '',
    add: 1,
    eventUid: '',
    eventCount: 0,
    object: undefined,
    pod: '',
    container: '',
    traceId: '',
    metric: undefined,
    revision: undefined,
    message: '',
    firstAtMs: 0,
    fact: '',
    factWeak: false,
    logClass: '',
    context: false,
    subFloor: false,
  };
}

/**
 * crypto.hash, the one-shot form of createHash().update().digest() (same digest): ~0.39 against
 * ~0.94 µs a call here (200k calls, Node 24); new items and incidents hashed their ids through the
 * Hash object's stream setup (1.4 % of dedup + grouping in a CPU profile of bench/pipeline.ts at 0 %
 * repeats).
 */
/** The update's summary, built now if it was left to build (EvidenceUpdate.summarize). */
export function summaryOf(u: EvidenceUpdate): string {
  const build = u.summarize;
  if (build !== undefined) {
    u.summary = build(u);
    u.summarize = undefined;
  }
  return u.summary;
}

export function evidenceId(key: string): string {
  return `ev-${hash('sha256', key).slice(0, 12)}`;
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
  /**
   * Per event uid, its entry of refs.events as the document writes it (count, fact): replaced, never
   * mutated, so an unchanged entry is the same sealed object in every revision (context-json.ts).
   * An array searched by uid (at most MAX_EVENT_UIDS), as are the reference lists below (at most
   * MAX_REFS): a Map or Set of one entry is 184 bytes, an array of one 40, and with 10k open incidents
   * (bench/memory.ts) those tables were 7 MB of heap. The arrays are replaced by one element longer
   * (withOne), never pushed to: a push gives an array room for 17.
   */
  #events: EventRef[] | undefined;
  /**
   * Kept in step with #events: the counts of events without a fact summed, and how many have one. The
   * count of an item is read for every context, and adding up its 32 events each time was 1.7 % of a
   * CPU profile of bench/pipeline.ts at 0 % repeats.
   */
  #eventSum = 0;
  #factEvents = 0;
  /**
   * Where each uid sits in #events, once it holds EVENT_INDEX_FROM of them (few items do; the memory
   * bench's have one). An item of a busy pod fills its 32 slots, and every further event was compared
   * with all 32 uids before it went to the overflow count: that loop was 3.9 % of all samples of a CPU
   * profile of 30 × bench/pipeline.ts's 40 × 1000 stream at 0 % repeats, the largest line of dedup +
   * grouping (the uid's hash is already cached: dedup looked it up).
   */
  #eventAt: Map<string, number> | undefined;
  /** Distinct messages with their specificity and the summary that quoted them, most specific first. */
  #messages: { text: string; score: number; summary: string }[] | undefined;
  /** Every update so far was sub-floor context. */
  contextOnly = true;
  #overflowCount = 0;
  // Reference sets are created on first use: most items only ever fill one or two of them, and
  // thousands of open incidents each holding four empty collections showed in the memory benchmark.
  #objects: ObjectRef[] | undefined;
  /** The object ref last stored from an update (never a restored one, which may carry other keys). */
  #lastObject: ObjectRef | undefined;
  #pods: string[] | undefined;
  #containers: string[] | undefined;
  #traceIds: string[] | undefined;
  #revisions: Map<string, RevisionRef> | undefined;
  metric: MetricRef | undefined;
  logClass = '';
  /**
   * The document form, rebuilt only after a change: an incident's revision usually changes a few of
   * its items, and building every item's refs and timestamps per context was a measured hot spot.
   */
  #doc: EvidenceDoc | undefined;

  constructor(u: Pick<EvidenceUpdate, 'key' | 'kind' | 'atMs' | 'summary'> | EvidenceUpdate) {
    // Flat: both live as long as the incident (see flat.ts).
    this.id = flat(evidenceId(u.key));
    this.key = flat(u.key);
    this.kind = u.kind;
    this.firstAt = u.atMs;
    this.lastAt = u.atMs;
    this.summary = 'summarize' in u ? summaryOf(u) : u.summary;
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
      events?: { uid: string; count: number; fact?: string; weak?: boolean }[];
      pods?: string[];
      containers?: string[];
      traceIds?: string[];
      metric?: MetricRef;
      revisions?: RevisionRef[];
    };
    if (refs.events?.length) {
      for (const ev of refs.events)
        item.#setEvent(eventRef(ev.uid, ev.count, ev.fact ?? '', ev.weak === true), item.#event(ev.uid));
    }
    item.#plainCount = Math.max(0, e.count - item.count);
    if (e.messages?.length)
      item.#messages = e.messages.map((text, i) => ({
        text,
        score: specificity(text),
        summary: i === 0 ? e.summary : text,
      }));
    item.contextOnly = e.context === true;
    // Restored refs are stored as they were written (as before), never taken for an update's equal.
    for (const o of refs.objects ?? []) {
      item.#lastObject = undefined;
      item.#addObject(o);
    }
    item.#lastObject = undefined;
    for (const p of refs.pods ?? []) item.#pods = addBounded(item.#pods, p);
    for (const c of refs.containers ?? []) item.#containers = addBounded(item.#containers, c);
    for (const t of refs.traceIds ?? []) item.#traceIds = addBounded(item.#traceIds, t);
    for (const r of refs.revisions ?? []) item.#addRevision(r);
    item.metric = refs.metric;
    if (typeof (refs as { logClass?: unknown }).logClass === 'string')
      item.logClass = (refs as { logClass: string }).logClass;
    return item;
  }

  get count(): number {
    let n = this.#plainCount + this.#overflowCount;
    if (!this.#events) return n;
    if (this.#factEvents === 0) return n + this.#eventSum;
    // Events of one fact count once: the largest strong report, else the largest weak one.
    let facts: Map<string, { strong: number; weak: number }> | undefined;
    for (const ev of this.#events) {
      const c = ev.count;
      const key = ev.fact;
      if (key === undefined) {
        n += c;
        continue;
      }
      const weak = ev.weak === true;
      facts ??= new Map();
      const g = facts.get(key) ?? { strong: 0, weak: 0 };
      if (weak) g.weak = Math.max(g.weak, c);
      else g.strong = Math.max(g.strong, c);
      facts.set(key, g);
    }
    if (facts) for (const g of facts.values()) n += g.strong || g.weak;
    return n;
  }

  /** Applies an update; returns true when the item changed (a new revision is due). */
  apply(u: EvidenceUpdate): boolean {
    this.#doc = undefined;
    let changed = false;
    if (u.eventUid) {
      // A Kubernetes Event's count is cumulative: keep the highest seen per event, so a re-delivered
      // or re-ordered update never counts twice.
      const seen = this.#event(u.eventUid);
      if (seen === undefined) {
        if ((this.#events?.length ?? 0) < MAX_EVENT_UIDS)
          this.#setEvent(eventRef(u.eventUid, u.eventCount, u.fact, u.factWeak), undefined);
        else this.#overflowCount += u.eventCount;
        changed = true;
      } else if (u.eventCount > seen.count) {
        this.#setEvent(eventRef(u.eventUid, u.eventCount, seen.fact ?? '', seen.weak === true), seen);
        changed = true;
      }
    } else if (u.add > 0) {
      this.#plainCount += u.add;
      changed = true;
    } else if (u.add < 0 && this.#plainCount > 0) {
      // A correction (a restart counter's late sample moved a rise to another reason): never below zero,
      // in case what it corrects went elsewhere (an earlier incident, a dropped held update).
      this.#plainCount = Math.max(0, this.#plainCount + u.add);
      changed = true;
    }
    if (!u.context && this.contextOnly) {
      this.contextOnly = false;
      changed = true;
    }
    const first = u.firstAtMs > 0 && u.firstAtMs < u.atMs ? u.firstAtMs : u.atMs;
    if (first < this.firstAt) this.firstAt = first;
    if (u.atMs > this.lastAt) {
      this.lastAt = u.atMs;
      // Without messages of its own (spans, metric findings) the newest summary is the freshest.
      if (!this.#messages) this.summary = summaryOf(u);
    }
    if (u.message && this.#addMessage(u.message, u)) changed = true;
    if (u.object) this.#addObject(u.object);
    if (u.pod) this.#pods = addBounded(this.#pods, u.pod);
    if (u.container) this.#containers = addBounded(this.#containers, u.container);
    if (u.traceId) this.#traceIds = addBounded(this.#traceIds, u.traceId);
    if (u.metric) this.metric = u.metric;
    if (u.logClass) this.logClass = u.logClass;
    if (u.revision) {
      const label = u.revision.isLatest ? 'new-revision' : 'old-revision';
      const seen = this.#revisions?.get(u.revision.replicaSet);
      // The label as of the newest signal: a later rollout turns a new revision into an old one.
      if (seen?.label !== label)
        this.#addRevision({ replicaSet: u.revision.replicaSet, revision: u.revision.revision, label });
    }
    return changed;
  }

  /**
   * Keeps distinct messages, most specific first ("pull access denied" before "Error: ImagePullBackOff");
   * the summary quotes the most specific. Returns true when the list changed.
   */
  #addMessage(text: string, u: EvidenceUpdate): boolean {
    const list = this.#messages ?? [];
    for (const m of list) if (m.text === text) return false;
    // Full, and this text cannot score above the least specific kept: it would not go in.
    if (list.length >= MAX_MESSAGES && specificityAtMost(text) <= list[list.length - 1]!.score) return false;
    const score = specificity(text);
    let at = list.findIndex((m) => m.score < score);
    if (at < 0) at = list.length;
    if (at >= MAX_MESSAGES) return false;
    // A new array of the exact length (see #events); the summary flat: it lives as long as the item
    // and was built by concatenation (flat.ts).
    const next = list.toSpliced(at, 0, { text, score, summary: flat(summaryOf(u)) });
    this.#messages = next.length > MAX_MESSAGES ? next.slice(0, MAX_MESSAGES) : next;
    this.summary = this.#messages[0]!.summary;
    return true;
  }

  /** The entry of an event uid, if tracked. */
  #event(uid: string): EventRef | undefined {
    const events = this.#events;
    if (events === undefined) return undefined;
    if (this.#eventAt !== undefined) {
      const at = this.#eventAt.get(uid);
      return at === undefined ? undefined : events[at];
    }
    for (let i = 0; i < events.length; i++) if (events[i]!.uid === uid) return events[i];
    return undefined;
  }

  /** Sets an event's entry (new, or replacing `prev`, its entry so far, in its place); see #eventSum. */
  #setEvent(ref: EventRef, prev: EventRef | undefined): void {
    if (prev) this.#events![this.#eventAt?.get(prev.uid) ?? this.#events!.indexOf(prev)] = ref;
    else {
      const events = withOne(this.#events, ref);
      this.#events = events;
      if (this.#eventAt !== undefined) this.#eventAt.set(ref.uid, events.length - 1);
      else if (events.length >= EVENT_INDEX_FROM) this.#eventAt = new Map(events.map((e, i) => [e.uid, i]));
    }
    if (prev) {
      if (prev.fact === undefined) this.#eventSum -= prev.count;
      else this.#factEvents--;
    }
    if (ref.fact === undefined) this.#eventSum += ref.count;
    else this.#factEvents++;
  }

  #addRevision(r: RevisionRef): void {
    this.#revisions ??= new Map();
    if (this.#revisions.size < MAX_REFS || this.#revisions.has(r.replicaSet))
      this.#revisions.set(r.replicaSet, seal(r));
  }

  #addObject(o: ObjectRef): void {
    // The same object as the one last stored (most updates of an item name one pod): replacing it with
    // its equal changes nothing, and the sealed one the last context carried stays (its redaction verdict
    // is reused). Saves a key concatenation and a Map set per update.
    const last = this.#lastObject;
    if (last !== undefined && o.uid === last.uid && o.name === last.name && o.kind === last.kind) return;
    const objects = this.#objects;
    if (objects === undefined || objects.length < MAX_REFS) {
      // One entry per kind and name, the latest in the place of the first (as a Map by `kind/name` kept
      // them); sealed: an update's object ref is never changed after (context-json.ts).
      const at =
        objects === undefined ? -1 : objects.findIndex((x) => x.name === o.name && x.kind === o.kind);
      if (at < 0) this.#objects = withOne(objects, seal(o));
      else objects![at] = seal(o);
      this.#lastObject = o;
    }
  }

  toDoc(): EvidenceDoc {
    // Sealed: never mutated once built (the context serialiser reuses its redaction verdict).
    this.#doc ??= seal({
      id: this.id,
      key: this.key,
      kind: this.kind,
      at: iso(this.firstAt),
      lastAt: iso(this.lastAt),
      summary: this.summary,
      count: this.count,
      ...(this.#messages ? { messages: this.#messages.map((m) => m.text) } : {}),
      ...(this.contextOnly ? { context: true } : {}),
      refs: this.refs(),
    });
    return this.#doc;
  }

  refs(): Record<string, unknown> {
    const refs: Record<string, unknown> = {};
    if (this.#objects?.length) refs.objects = [...this.#objects];
    // All tracked events (bounded by MAX_EVENT_UIDS), so a restart can restore exact per-event counts.
    if (this.#events?.length) refs.events = [...this.#events];
    if (this.#pods?.length) refs.pods = [...this.#pods];
    if (this.#containers?.length) refs.containers = [...this.#containers];
    if (this.#traceIds?.length) refs.traceIds = [...this.#traceIds];
    if (this.#revisions?.size) refs.revisions = [...this.#revisions.values()];
    if (this.metric) refs.metric = this.metric;
    if (this.logClass) refs.logClass = this.logClass;
    return refs;
  }
}

/** An Event's entry in refs.events; the keys in this order (the document's bytes). */
interface EventRef {
  uid: string;
  count: number;
  fact?: string;
  weak?: true;
}

function eventRef(uid: string, count: number, fact: string, weak: boolean): EventRef {
  if (!fact) return seal({ uid, count });
  return seal(weak ? { uid, count, fact, weak: true } : { uid, count, fact });
}

/** Adds a distinct value while fewer than MAX_REFS are kept (a bounded set in insertion order). */
function addBounded(list: string[] | undefined, v: string): string[] {
  if (list === undefined) return [v];
  return list.length < MAX_REFS && !list.includes(v) ? withOne(list, v) : list;
}

/** The list with `v` appended, as a new array of the exact length (a pushed-to array keeps spare room). */
function withOne<T>(list: T[] | undefined, v: T): T[] {
  return list === undefined ? [v] : list.concat([v]);
}
