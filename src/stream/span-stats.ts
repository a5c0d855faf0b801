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

  constructor(bucketMs: number, minSamples = 1, maxSeries = 50_000) {
    this.#bucketMs = bucketMs;
    this.#minSamples = minSamples;
    this.#maxSeries = maxSeries;
  }

  observe(
    site: SignalSite,
    atMs: number,
    durationMs: number,
    failed: boolean,
    out: (m: MetricSignal) => void,
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
      b = { site, start, total: 0, failed: 0, durations: new Float64Array(RESERVOIR), kept: 0, seed: 1 };
      this.#buckets.set(key, b);
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
  flush(now: number, out: (m: MetricSignal) => void): void {
    for (const b of this.#buckets.values()) {
      if (b.total > 0 && b.start + this.#bucketMs <= now) {
        this.#close(b, out);
        b.total = 0;
        b.failed = 0;
        b.kept = 0;
      }
    }
  }

  #close(b: Bucket, out: (m: MetricSignal) => void): void {
    // Too few spans make a percentile of noise; the bucket is dropped, not merged (the baseline
    // simply skips it).
    if (b.total < this.#minSamples) return;
    const at = b.start + this.#bucketMs;
    const sorted = b.durations.subarray(0, b.kept).sort();
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
    out({
      type: 'metric',
      atMs: at,
      ...b.site,
      name: LATENCY_P99,
      value: Math.round(p99 * 100) / 100,
      series: '',
      detail: `${b.total} server spans`,
    });
    out({
      type: 'metric',
      atMs: at,
      ...b.site,
      name: ERROR_RATE,
      value: b.failed / b.total,
      series: '',
      detail: `${b.failed}/${b.total} failed`,
    });
  }
}
