// Pod-status facts (src/enrich/pod-status.ts) in scale-out mode. Every replica's informers see every
// pod, so every replica's feed has every fact; only the owner of the fact's workload may count it. The
// owner side drains its feed once per tick, computes each fact's signals partition exactly as ingest
// does for telemetry of the same scope, and queues it for that partition if this replica is assigned
// it; the other replicas drop it (their copy is counted by the owner). No Kafka record carries a fact,
// so none is replayed on a rebuild: an incident restored from its context keeps what the fact added,
// and a fact that arrives before a replica's first assignment is left to the replicas assigned then.
// Between a revoke and the next assignment (an eager rebalance: every member is there at once) the
// feed is not drained, so the new owners take what came meanwhile instead of all calling it elsewhere.
import type { PodStatusChange } from '../workload.ts';

export interface PodStatusRouterStats {
  /** Queued for a partition this replica is assigned. */
  routed: number;
  /** For a partition another replica owns (it counts its own copy). */
  elsewhere: number;
  /** Queue full: the partition's pipeline did not tick for long (a restore); oldest dropped. */
  dropped: number;
}

const NONE: PodStatusChange[] = [];

export class PodStatusRouter {
  readonly stats: PodStatusRouterStats = { routed: 0, elsewhere: 0, dropped: 0 };
  readonly #take: (untilMs: number) => PodStatusChange[];
  readonly #partitionOf: (c: PodStatusChange) => number;
  readonly #maxQueued: number;
  /** Assigned partitions, each with the facts its pipeline has not taken yet. */
  readonly #queues = new Map<number, PodStatusChange[]>();
  /** Revoked and not yet assigned again: the feed waits (it is bounded, src/enrich/pod-status.ts). */
  #rebalancing = false;

  constructor(o: {
    take: (untilMs: number) => PodStatusChange[];
    partitionOf: (c: PodStatusChange) => number;
    /** Per partition; a partition's pipeline takes its queue every tick (1 s) once it exists. */
    maxQueued?: number;
  }) {
    this.#take = o.take;
    this.#partitionOf = o.partitionOf;
    this.#maxQueued = o.maxQueued ?? 1000;
  }

  /** The group's assignment (eager: the whole set). Queues of partitions still assigned are kept. */
  assigned(partitions: readonly number[]): void {
    this.#rebalancing = false;
    for (const p of this.#queues.keys()) if (!partitions.includes(p)) this.#queues.delete(p);
    for (const p of partitions) if (!this.#queues.has(p)) this.#queues.set(p, []);
  }

  revoked(): void {
    this.#rebalancing = true;
    this.#queues.clear();
  }

  /** Drains the feed up to `untilMs` into the assigned partitions' queues. */
  route(untilMs: number): void {
    if (this.#rebalancing) return;
    for (const c of this.#take(untilMs)) {
      const q = this.#queues.get(this.#partitionOf(c));
      if (!q) {
        this.stats.elsewhere++;
        continue;
      }
      if (q.length >= this.#maxQueued) {
        q.shift();
        this.stats.dropped++;
      }
      q.push(c);
      this.stats.routed++;
    }
  }

  /** What the partition's pipeline takes now (its Pipeline calls this through the resolver). */
  takeFor(partition: number): PodStatusChange[] {
    const q = this.#queues.get(partition);
    if (!q || q.length === 0) return NONE;
    this.#queues.set(partition, []);
    return q;
  }
}
