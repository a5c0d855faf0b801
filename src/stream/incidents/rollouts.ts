import type { RolloutDoc } from './document.ts';
import { iso } from './document.ts';

// "Scaled up replica set checkout-7d9f8c6b5 to 3" / "Scaled down replica set checkout-5f4d to 0"
const SCALED = /^Scaled (up|down) replica set (\S+)/;

interface ScaleEvent {
  up: boolean;
  replicaSet: string;
  atMs: number;
}

const MAX_EVENTS = 32;
// A scale-up counts as a rollout when another ReplicaSet of the same Deployment is scaled down this close.
const PAIRING_MS = 15 * 60_000;

/**
 * The rollout timeline as far as telemetry shows it: the deployment controller's ScalingReplicaSet
 * events. A scale-up of one ReplicaSet paired with a scale-down of another is a rollout; a scale-up
 * alone is autoscaling. The enrichment stage replaces this with revisions and images from the cluster.
 */
export class RolloutMemory {
  readonly #byWorkload = new Map<string, ScaleEvent[]>();
  readonly #memoryMs: number;
  readonly #maxWorkloads: number;

  constructor(memoryMs: number, maxWorkloads = 20_000) {
    this.#memoryMs = memoryMs;
    this.#maxWorkloads = maxWorkloads;
  }

  /** Returns true when the event was a ScalingReplicaSet message that was remembered. */
  note(workloadKey: string, message: string, atMs: number): boolean {
    const m = SCALED.exec(message);
    if (!m) return false;
    let list = this.#byWorkload.get(workloadKey);
    if (!list) {
      if (this.#byWorkload.size >= this.#maxWorkloads) {
        const oldest = this.#byWorkload.keys().next().value;
        if (oldest !== undefined) this.#byWorkload.delete(oldest);
      }
      list = [];
      this.#byWorkload.set(workloadKey, list);
    }
    const up = m[1] === 'up';
    const replicaSet = m[2]!;
    if (!list.some((e) => e.up === up && e.replicaSet === replicaSet && Math.abs(e.atMs - atMs) < 1000)) {
      list.push({ up, replicaSet, atMs });
      list.sort((a, b) => a.atMs - b.atMs);
      if (list.length > MAX_EVENTS) list.shift();
    }
    return true;
  }

  /** Rollouts of the workload that started within the memory window before `untilMs`, newest first. */
  rollouts(workloadKey: string, untilMs: number): (RolloutDoc & { atMs: number })[] {
    const list = this.#byWorkload.get(workloadKey);
    if (!list) return [];
    const out: (RolloutDoc & { atMs: number })[] = [];
    const seen = new Set<string>();
    for (const e of list) {
      if (!e.up || seen.has(e.replicaSet) || e.atMs > untilMs || e.atMs < untilMs - this.#memoryMs) continue;
      const paired = list.some(
        (d) => !d.up && d.replicaSet !== e.replicaSet && Math.abs(d.atMs - e.atMs) <= PAIRING_MS,
      );
      if (!paired) continue;
      seen.add(e.replicaSet);
      out.push({
        revision: null,
        at: iso(e.atMs),
        atMs: e.atMs,
        images: [],
        changeCause: null,
        replicaSet: e.replicaSet,
        source: 'ScalingReplicaSet events',
      });
    }
    return out.reverse();
  }
}
