import { Hold, type RecordSource } from './offsets.ts';
import type { MetricSignal, SignalSite } from './signals.ts';

export const LATENCY_P99 = 'kubetriage.server.latency.p99';
export const ERROR_RATE = 'kubetriage.server.error_rate';

// Samples kept per bucket for the quantile; beyond it, reservoir sampling keeps it unbiased and bounded.
const RESERVOIR = 512;

interface Bucket {
  site: SignalSite;
  start: number;
  total: number;
  failed: number;
  durations: Float64Array;
  kept: number;
  seed: number;
  /** The records in the bucket (run mode): they stay uncommitted until what the bucket yields is durable. */
  from: BucketSources | undefined;
}

/**
 * The records a bucket was computed from: a hold on their offsets (tracked by the offset ledger while
 * the bucket is open) and their offsets as ranges, for the provenance of a finding it yields.
 */
export class BucketSources {
  readonly hold = new Hold();
  readonly #ranges: { src: RecordSource; hi: number }[] = [];

  add(src: RecordSource): void {
    const last = this.#ranges[this.#ranges.length - 1];
    if (
      last &&
      last.src.partition === src.partition &&
      src.offset >= last.src.offset &&
      src.offset <= last.hi + 1
    ) {
      if (src.offset > last.hi) last.hi = src.offset;
      return;
    }
    this.hold.add(src.partition, src.offset, src.timestamp);
    this.#ranges.push({ src, hi: src.offset });
  }

  /** Every record, one by one (a finding's incident takes each into its hold and `sources`). */
  *records(): IterableIterator<RecordSource> {
    for (const { src, hi } of this.#ranges)
      for (let o = src.offset; o <= hi; o++)
        yield { partition: src.partition, offset: o, timestamp: src.timestamp };
  }
}

/** Where open buckets' holds go (run mode): the offset ledger. */
export interface BucketHolds {
  track(h: Hold): void;
  release(h: Hold): void;
}

/**
 * Server-span latency and failure ratio per workload, cut into fixed time buckets. When a bucket is
 * over, its p99 and error rate become metric samples that the anomaly rules compare with the
 * workload's own baseline.
 */
export class SpanStats {
  readonly #bucketMs: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxSeries: number;

  readonly #minSamples: number;

  readonly #holds: BucketHolds | undefined;

  constructor(bucketMs: number, minSamples = 1, maxSeries = 50_000, holds?: BucketHolds) {
    this.#bucketMs = bucketMs;
    this.#minSamples = minSamples;
    this.#maxSeries = maxSeries;
    this.#holds = holds;
  }

  /** `out` gets a closed bucket's samples with the records behind them (run mode). */
  observe(
    site: SignalSite,
    atMs: number,
    durationMs: number,
    failed: boolean,
    out: (m: MetricSignal, from: BucketSources | undefined) => void,
    src?: RecordSource,
  ): void {
    if (!site.workload) return;
    const key = `${site.cluster}/${site.namespace}/${site.workload.kind}/${site.workload.name}`;
    const start = atMs - (atMs % this.#bucketMs);
    let b = this.#buckets.get(key);
    if (b && start > b.start) {
      this.#close(b, out);
      b.start = start;
      b.total = 0;
      b.failed = 0;
      b.kept = 0;
    }
    if (!b) {
      if (this.#buckets.size >= this.#maxSeries) return;
      b = {
        site,
        start,
        total: 0,
        failed: 0,
        durations: new Float64Array(RESERVOIR),
        kept: 0,
        seed: 1,
        from: undefined,
      };
      this.#buckets.set(key, b);
    }
    if (src && this.#holds) {
      if (!b.from) {
        b.from = new BucketSources();
        b.from.add(src);
        this.#holds.track(b.from.hold);
      } else b.from.add(src);
    }
    b.total++;
    if (failed) b.failed++;
    if (b.kept < RESERVOIR) b.durations[b.kept++] = durationMs;
    else {
      // Deterministic xorshift, so replay output does not depend on Math.random.
      b.seed ^= b.seed << 13;
      b.seed ^= b.seed >>> 17;
      b.seed ^= b.seed << 5;
      const j = (b.seed >>> 0) % b.total;
      if (j < RESERVOIR) b.durations[j] = durationMs;
    }
  }

  /** Closes every bucket that ended before `now` (called on the clock tick). */
  flush(now: number, out: (m: MetricSignal, from: BucketSources | undefined) => void): void {
    for (const b of this.#buckets.values()) {
      if (b.total > 0 && b.start + this.#bucketMs <= now) {
        this.#close(b, out);
        b.total = 0;
        b.failed = 0;
        b.kept = 0;
      }
    }
  }

  /**
   * Revoke or shutdown: open buckets are dropped, not closed early (a partial bucket is not the
   * workload's rate). Their records stay uncommitted and are re-read, by this instance or the
   * partition's next owner; the holds returned still block their commit until the caller releases them.
   */
  dropOpen(): Hold[] {
    const held: Hold[] = [];
    for (const b of this.#buckets.values()) {
      if (b.from) held.push(b.from.hold);
      b.from = undefined;
      b.total = 0;
      b.failed = 0;
      b.kept = 0;
    }
    return held;
  }

  #close(b: Bucket, out: (m: MetricSignal, from: BucketSources | undefined) => void): void {
    const from = b.from;
    b.from = undefined;
    try {
      this.#emit(b, from, out);
    } finally {
      // What the bucket yielded holds its records from here on (an incident's hold), or nothing did.
      if (from) this.#holds?.release(from.hold);
    }
  }

  #emit(
    b: Bucket,
    from: BucketSources | undefined,
    out: (m: MetricSignal, from: BucketSources | undefined) => void,
  ): void {
    // Too few spans make a percentile of noise; the bucket is dropped, not merged (the baseline
    // simply skips it).
    if (b.total < this.#minSamples) return;
    const at = b.start + this.#bucketMs;
    const sorted = b.durations.subarray(0, b.kept).sort();
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
    out(
      {
        type: 'metric',
        atMs: at,
        ...b.site,
        name: LATENCY_P99,
        value: Math.round(p99 * 100) / 100,
        series: '',
        detail: `${b.total} server spans`,
      },
      from,
    );
    out(
      {
        type: 'metric',
        atMs: at,
        ...b.site,
        name: ERROR_RATE,
        value: b.failed / b.total,
        series: '',
        detail: `${b.failed}/${b.total} failed`,
      },
      from,
    );
  }
}
