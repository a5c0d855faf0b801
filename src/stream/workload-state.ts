// The latest replica counts of each workload, as k8s_cluster reports them (FORMATS.md §6: legacy and
// semconv names). Incidents carry them so later stages know "3 of 10 available" and "HPA at max".
import { iso } from './incidents/document.ts';
import { LruMap } from './lru-map.ts';
import type { MetricSignal } from './signals.ts';

export interface WorkloadState {
  desiredReplicas: number | null;
  availableReplicas: number | null;
  hpa: { min: number | null; max: number | null; current: number | null; desired: number | null } | null;
  /** RFC 3339 time of the newest sample. */
  at: string;
}

type Field = 'desired' | 'available' | 'hpaMin' | 'hpaMax' | 'hpaCurrent' | 'hpaDesired';

export const WORKLOAD_STATE_METRICS: ReadonlyMap<string, Field> = new Map<string, Field>([
  ['k8s.deployment.desired', 'desired'],
  ['k8s.deployment.pod.desired', 'desired'],
  ['k8s.deployment.available', 'available'],
  ['k8s.deployment.pod.available', 'available'],
  ['k8s.statefulset.desired_pods', 'desired'],
  ['k8s.statefulset.ready_pods', 'available'],
  ['k8s.hpa.min_replicas', 'hpaMin'],
  ['k8s.hpa.max_replicas', 'hpaMax'],
  ['k8s.hpa.current_replicas', 'hpaCurrent'],
  ['k8s.hpa.desired_replicas', 'hpaDesired'],
]);

interface Entry {
  desired: number | null;
  available: number | null;
  hpaMin: number | null;
  hpaMax: number | null;
  hpaCurrent: number | null;
  hpaDesired: number | null;
  atMs: number;
}

export class WorkloadStates {
  readonly #byWorkload: LruMap<Entry>;

  constructor(maxWorkloads = 50_000) {
    this.#byWorkload = new LruMap(maxWorkloads);
  }

  /** Returns true when the sample was a workload-state metric (and was recorded). */
  note(workloadKey: string, s: MetricSignal): boolean {
    const field = WORKLOAD_STATE_METRICS.get(s.name);
    if (!field) return false;
    let e = this.#byWorkload.get(workloadKey);
    if (!e) {
      e = {
        desired: null,
        available: null,
        hpaMin: null,
        hpaMax: null,
        hpaCurrent: null,
        hpaDesired: null,
        atMs: 0,
      };
      this.#byWorkload.set(workloadKey, e);
    }
    if (s.atMs >= e.atMs || e[field] === null) {
      e[field] = s.value;
      if (s.atMs > e.atMs) e.atMs = s.atMs;
    }
    return true;
  }

  get(workloadKey: string): WorkloadState | null {
    const e = this.#byWorkload.get(workloadKey);
    if (!e) return null;
    const hasHpa = e.hpaMin !== null || e.hpaMax !== null || e.hpaCurrent !== null || e.hpaDesired !== null;
    return {
      desiredReplicas: e.desired,
      availableReplicas: e.available,
      hpa: hasHpa ? { min: e.hpaMin, max: e.hpaMax, current: e.hpaCurrent, desired: e.hpaDesired } : null,
      // iso(): toISOString byte for byte, ~2.3x faster a call (document.ts); asked per replica-count
      // sample of a workload with an open incident.
      at: iso(e.atMs),
    };
  }
}
