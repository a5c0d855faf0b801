// At-least-once bookkeeping. An offset may be committed only when everything derived from the records
// before it is durable. Anything not yet durable (an incident's unsent changes, a context or DLQ
// record waiting for its broker ack) owns a Hold: the lowest offset per partition it depends on.
// The committable offset of a partition is the smallest of "next to process" and every live hold.

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** Identifies a record's partition without allocating per record. */
export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to process (last processed + 1). */
  next: number;
  /** Last offset committed to the group. */
  committed: number;
  /**
   * First offset processed since this instance was (re)assigned the partition: the group had committed
   * everything below it, so a hold below it no longer matters (someone else re-read those records).
   */
  start?: number;
}

/** The record a signal came from. */
export interface RecordSource {
  partition: PartitionState;
  offset: number;
  timestamp: number;
  /**
   * Scale-out owners (stream/scaleout): the record to hold for commits when it is not the one named
   * in provenance (the signals-topic record of an input record); null: hold nothing (state rebuilt
   * from records already committed).
   */
  holdAt?: { partition: PartitionState; offset: number } | null;
}

export class Hold {
  /** Lowest offset per partition this hold still depends on. */
  readonly min = new Map<PartitionState, number>();
  /** Oldest record timestamp held (for the record → durable-output latency metric). */
  oldestTimestamp = Number.POSITIVE_INFINITY;

  add(p: PartitionState, offset: number, timestamp = Number.POSITIVE_INFINITY): void {
    const cur = this.min.get(p);
    if (cur === undefined || offset < cur) this.min.set(p, offset);
    if (timestamp < this.oldestTimestamp) this.oldestTimestamp = timestamp;
  }

  get empty(): boolean {
    return this.min.size === 0;
  }
}

/** Records of a partition processed but not committed: [committed, processed) will be read again. */
export interface UncommittedRange {
  topic: string;
  partition: number;
  /** The group's committed offset (-1: nothing committed by this instance). */
  committed: number;
  /** Next offset after the last processed record. */
  processed: number;
}

export class OffsetLedger {
  readonly #partitions = new Map<string, PartitionState>();
  readonly #holds = new Set<Hold>();

  partition(topic: string, partition: number): PartitionState {
    const key = `${topic}\u0000${partition}`;
    let p = this.#partitions.get(key);
    if (!p) {
      p = { topic, partition, next: -1, committed: -1, start: -1 };
      this.#partitions.set(key, p);
    }
    return p;
  }

  processed(p: PartitionState, offset: number): void {
    if (p.next < 0) p.start = offset;
    if (offset + 1 > p.next) p.next = offset + 1;
  }

  /** Registers a hold as live; it blocks commits until released. */
  track(hold: Hold): void {
    if (!hold.empty) this.#holds.add(hold);
  }

  release(hold: Hold): void {
    this.#holds.delete(hold);
  }

  get liveHolds(): number {
    return this.#holds.size;
  }

  /** Offsets that may be committed now (only partitions whose committable offset moved forward). */
  committable(): TopicPartitionOffset[] {
    const low = new Map<PartitionState, number>();
    for (const h of this.#holds) {
      for (const [p, o] of h.min) {
        const cur = low.get(p);
        if (cur === undefined || o < cur) low.set(p, o);
      }
    }
    const out: TopicPartitionOffset[] = [];
    for (const p of this.#partitions.values()) {
      if (p.next < 0) continue;
      const held = low.get(p);
      const offset = held === undefined || held < (p.start ?? -1) ? p.next : Math.min(held, p.next);
      if (offset > p.committed) out.push({ topic: p.topic, partition: p.partition, offset });
    }
    return out;
  }

  markCommitted(offsets: readonly TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const p = this.partition(o.topic, o.partition);
      if (o.offset > p.committed) p.committed = o.offset;
    }
  }

  /** Partitions whose processed records are not all committed (shutdown reports them). */
  uncommitted(): UncommittedRange[] {
    const out: UncommittedRange[] = [];
    for (const p of this.#partitions.values())
      if (p.next >= 0 && p.next > p.committed)
        out.push({ topic: p.topic, partition: p.partition, committed: p.committed, processed: p.next });
    return out;
  }

  /**
   * Forgets what this instance processed and committed (after a revoke). The partition objects stay:
   * a drain that timed out leaves holds on them, and when a partition comes back those holds must still
   * block its commits (a new object would not match them, and a commit would pass unacknowledged
   * output); incidents' `sources` keep one entry per partition for the same reason.
   */
  forgetAll(): void {
    for (const p of this.#partitions.values()) {
      p.next = -1;
      p.committed = -1;
      p.start = -1;
    }
  }

  /** The records still in flight per partition: for the lag and "held" metrics. */
  heldPartitions(): number {
    const set = new Set<PartitionState>();
    for (const h of this.#holds) for (const p of h.min.keys()) set.add(p);
    return set.size;
  }
}
