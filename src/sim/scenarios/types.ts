// What a scenario is and what it promises: the telemetry (capture records), the cluster snapshot,
// and the ground truth an evaluation scores the pipeline and agents against.
import type { CapturedRecord } from '../../stream/capture.ts';
import type { JsonObject } from '../cluster.ts';
import type { CollectorOptions } from '../collector.ts';

export type Severity = 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4';

/** The closed cause set of the triage report (../../../shared/README.md, "Triage report"). */
export type Cause =
  | 'bad_rollout'
  | 'oom'
  | 'crash_loop'
  | 'image_pull'
  | 'config_error'
  | 'probe_failure'
  | 'scheduling'
  | 'node_pressure'
  | 'dependency_failure'
  | 'capacity'
  | 'unknown';

export const CAUSES: readonly Cause[] = [
  'bad_rollout',
  'oom',
  'crash_loop',
  'image_pull',
  'config_error',
  'probe_failure',
  'scheduling',
  'node_pressure',
  'dependency_failure',
  'capacity',
  'unknown',
];

/** Identifies an incident the way the incident context's `scope` does. */
export interface IncidentKey {
  cluster: string;
  /** "" for cluster-scoped objects (a Node's events carry no namespace). */
  namespace: string;
  workload: { kind: string; name: string };
}

/** The one action kubetriage may propose (README "Triage report" `proposal`). */
export interface ExpectedProposal {
  action: 'scale';
  target: { namespace: string; kind: 'Deployment'; name: string };
  /** The replicas the target runs at the end of the scenario. */
  fromReplicas: number;
  /** Any toReplicas in [min, max] is right. */
  toReplicas: { min: number; max: number };
  /** false: proposing nothing is also acceptable (the scale is a reasonable option, not the fix). */
  required: boolean;
}

export interface ExpectedIncident extends IncidentKey {
  /** primary: the scenario's point; minor: real but unrelated (must appear, low severity). */
  role: 'primary' | 'minor';
  /** Acceptable severities. */
  severity: Severity[];
  /** Owning team (from the workload's `team` label in the snapshot; `platform` for nodes). */
  team: string;
  /** The root cause; the best hypothesis should be this. */
  cause: Cause;
  /** Causes that are defensible too (e.g. `oom` for a rollout whose pods are OOMKilled). */
  alsoAcceptable: Cause[];
  /** null: no scale proposal is right (any proposal is wrong); otherwise what a right one looks like. */
  proposal: ExpectedProposal | null;
  why: string;
}

/** Incidents that may appear without counting as false positives (impact, per-pod symptoms). */
export interface ToleratedIncident extends IncidentKey {
  why: string;
}

export interface ScenarioTruth {
  /** Must be raised. Empty for a scenario where nothing may be raised. */
  incidents: ExpectedIncident[];
  /** May be raised. Anything neither expected nor tolerated is a false positive. */
  tolerated: ToleratedIncident[];
}

export interface ScenarioOptions {
  /** Noise seed (latencies, request mix, jitter, ids). Default 1. */
  seed?: number;
  /** Base time: epoch ms or an ISO string. Default 2026-11-28T09:00:00Z. */
  start?: number | string;
  /** Topics, partitions, batching and the exporter's partition_* options. */
  collector?: Partial<CollectorOptions>;
  /**
   * The seeded background of a healthy production cluster (background.ts): sporadic 5xx, single
   * restarts, routine rollouts, HPA rescales, stray ERROR lines, node events. Default: the
   * scenario's own `noise` (on for the quiet family); `eval` turns it on for every scenario.
   */
  noise?: boolean;
}

export interface ScenarioRun {
  name: string;
  /** Kafka records in consumption order, timestamps = the scenario's own times. */
  records: CapturedRecord[];
  /** The cluster at the end of the scenario, as `kubectl get … -A -o json` prints it. */
  snapshot: JsonObject;
  truth: ScenarioTruth;
  start: number;
  end: number;
}

export type ScenarioFamily = 'quiet' | 'failure';

export interface Scenario {
  name: string;
  /** One line. */
  description: string;
  durationMs: number;
  truth: ScenarioTruth;
  /** quiet: nothing may be raised (any incident is a false positive); failure: something must be. */
  family: ScenarioFamily;
  /** Whether the background layer is on when ScenarioOptions.noise is not given. */
  noise: boolean;
  /** Runs the simulation once: records and snapshot of the same run. */
  generate(opts?: ScenarioOptions): ScenarioRun;
  /** Same as generate(opts).records. */
  records(opts?: ScenarioOptions): CapturedRecord[];
  /** Same as generate(opts).snapshot. */
  snapshot(opts?: ScenarioOptions): JsonObject;
}

/** The pipeline's default `cluster` (config.cluster); the Collector config we model adds no k8s.cluster.name. */
export const CLUSTER = 'default';

/**
 * The simulated cluster is a production cluster: the ground truth's severity bands assume these
 * namespaces are production. `demo` and `eval` without `--config` add them to
 * agents.productionNamespaces, as an operator of that cluster would configure it.
 */
export const PRODUCTION_NAMESPACES: readonly string[] = ['shop', 'inventory'];
