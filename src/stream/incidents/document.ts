// The incident-context document (../shared/README.md "Documents written"); config/incident-context.schema.json
// is its JSON Schema. Field order is fixed by construction so output is byte-stable for replay.

import type { ManagedByDoc } from '../workload.ts';
import type { WorkloadState } from '../workload-state.ts';

export const INCIDENT_CONTEXT_SCHEMA = 'kubetriage.io/incident-context/v1';

export interface IncidentContextDoc {
  schema: typeof INCIDENT_CONTEXT_SCHEMA;
  id: string;
  revision: number;
  status: 'open' | 'resolved';
  scope: {
    cluster: string;
    namespace: string;
    workload: { kind: string; name: string };
    team: string | null;
    teamSource: string | null;
    /** What the namespace's labels or the telemetry's deployment.environment say (production, staging, …). */
    environment: string | null;
    /** `label:environment on Namespace/shop`, `resource:deployment.environment.name`. */
    environmentSource: string | null;
    /** Who manages the workload (Argo CD, Flux, Helm); absent when nobody known does. */
    managedBy?: ManagedByDoc;
  };
  window: { start: string; end: string };
  evidence: EvidenceDoc[];
  rollouts: RolloutDoc[];
  /**
   * Other incidents this one is tied to by failing calls (related.ts): `upstream` is a peer this
   * workload's failed calls went to, which has its own incident (the likely cause); `impact` is a
   * caller whose failed calls came here. Absent in contexts written before correlation existed.
   */
  related?: RelatedDoc[];
  /** Latest replica counts of the workload from k8s_cluster metrics, when seen. */
  workloadState: WorkloadState | null;
  /**
   * Why the incident is still open although its signals went quiet for grouping.resolveTimeout: the
   * fault still shows in the cluster (null while signals keep it open, or when nothing was deferred).
   */
  persisting: PersistingDoc | null;
  stats: { signals: number; deduplicated: number; droppedEvidence: number };
  /**
   * Kafka records that contributed, as offset ranges per partition (provenance for replays): the most
   * recent ranges; `dropped` counts the older ones no longer listed (and the offsets they covered).
   */
  sources: {
    topic: string;
    partition: number;
    ranges: [number, number][];
    dropped?: { ranges: number; offsets: number };
  }[];
  /** Present (true) when some partition's `sources` dropped ranges: the provenance is incomplete. */
  sourcesTruncated?: true;
  timings: { firstSignal: string; firstContext: string; updated: string; resolved: string | null };
}

export interface PersistingDoc {
  /** unschedulable, pending, waiting (a container's waiting reason), unavailable (replicas missing). */
  reason: string;
  detail: string;
  /** When the cluster last showed it (the processing clock). */
  checkedAt: string;
}

export interface EvidenceDoc {
  id: string;
  /** What collapses into this item (reason + object, operation, template, series). */
  key: string;
  kind: string;
  at: string;
  lastAt: string;
  summary: string;
  count: number;
  /** Distinct messages (event messages, log lines), most specific first; the summary quotes the first. */
  messages?: string[];
  /** Present (true) when every update was below its noise floor: background attached for context. */
  context?: boolean;
  refs: Record<string, unknown>;
}

export interface RelatedDoc {
  incident: string;
  namespace: string;
  workload: { kind: string; name: string };
  relation: 'upstream' | 'impact';
  /** The related incident's first signal: when the peer (upstream) or the caller (impact) began failing. */
  since: string;
  /** The caller's failing client-span evidence ids (in this context for upstream, the caller's for impact). */
  evidence: string[];
}

export interface RolloutDoc {
  revision: number | null;
  /** null: unknown (a ReplicaSet without creationTimestamp), never a made-up 1970. */
  at: string | null;
  images: string[];
  changeCause: string | null;
  replicaSet: string;
  source: string;
}

const DAY_MS = 86_400_000;
// 10000-01-01T00:00:00.000Z: from here on toISOString writes a six-digit year with a sign.
const FOUR_DIGIT_YEARS_END = 253_402_300_800_000;
/** The last formatted day's "YYYY-MM-DDT" and the time written over it (see iso). */
const isoBuf = Buffer.from('1970-01-01T00:00:00.000Z', 'latin1');
let isoDay = 0;
/**
 * The last texts by time, direct-mapped on the low bits of the millisecond: a revision writes again
 * the times it wrote before (window start, an item's first occurrence, `updated` of every context of
 * one tick). iso was 1.0–2.7 % of CPU profiles of bench/pipeline.ts's stream at 0 % repeats, and 15,348 of its 22,563 calls in one pass of that stream find their text here.
 */
const ISO_SLOTS = 256;
const isoAt = new Float64Array(ISO_SLOTS).fill(Number.NaN);
const isoText: string[] = new Array(ISO_SLOTS).fill('');

/**
 * `new Date(Math.round(ms)).toISOString()`, byte for byte: the date part is formatted once per day
 * and the time written as digits. Each context formats ~6 timestamps plus 2 per changed evidence item;
 * toISOString was the largest single frame of dedup + grouping: 13.8% → 1.0% of its self time in a CPU
 * profile of bench/pipeline.ts's 40 × 1000 stream, 0 % repeats (`node --cpu-prof`, frames under
 * Pipeline's signal routing and ticks); ~2.3× faster a call in isolation (~500 → ~215 ns).
 * test/stream/iso.test.ts compares it with toISOString.
 */
export function iso(ms: number): string {
  const t = Math.round(ms);
  // Before 1970, from year 10000 on, and NaN (which throws, as before): Date's own formatting.
  if (!(t >= 0 && t < FOUR_DIGIT_YEARS_END)) return new Date(t).toISOString();
  const slot = t & (ISO_SLOTS - 1);
  if (isoAt[slot] === t) return isoText[slot]!;
  const text = format(t);
  isoAt[slot] = t;
  isoText[slot] = text;
  return text;
}

/** The text of a time in [0, FOUR_DIGIT_YEARS_END), whole milliseconds. */
function format(t: number): string {
  const day = Math.floor(t / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoBuf.write(new Date(day * DAY_MS).toISOString(), 0, 11, 'latin1');
  }
  let r = t - day * DAY_MS;
  const milli = r % 1000;
  r = (r - milli) / 1000;
  const sec = r % 60;
  r = (r - sec) / 60;
  const min = r % 60;
  const hour = (r - min) / 60;
  const b = isoBuf;
  b[11] = 48 + ((hour / 10) | 0);
  b[12] = 48 + (hour % 10);
  b[14] = 48 + ((min / 10) | 0);
  b[15] = 48 + (min % 10);
  b[17] = 48 + ((sec / 10) | 0);
  b[18] = 48 + (sec % 10);
  b[20] = 48 + ((milli / 100) | 0);
  b[21] = 48 + (((milli / 10) | 0) % 10);
  b[22] = 48 + (milli % 10);
  return b.toString('latin1', 0, 24);
}
