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

export function iso(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}
