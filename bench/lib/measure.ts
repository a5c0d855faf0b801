// Timing and allocation measurement. Every comparison runs both sides in the same process, interleaved,
// and reports ratios, because absolute numbers drift on shared machines.
import { GCProfiler } from 'node:v8';

export interface Rate {
  /** Operations per second (median of rounds). */
  opsPerSec: number;
  rounds: number[];
  /** Slowest and fastest round. */
  min: number;
  max: number;
}

/** The fewest rounds any figure in a report is the median of (issue 18: "at least 5"). */
export const MIN_ROUNDS = 5;

/** Median, min and max of a figure measured over several rounds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, rounds: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, rounds: s.length };
}

/** "median (min–max, n rounds)" for tables and logs. */
export function fmtSpread(x: Spread, f: (n: number) => string = (n) => fmt(n)): string {
  return `${f(x.median)} (${f(x.min)}–${f(x.max)}, n=${x.rounds})`;
}

/** Runs `fn` repeatedly for about `ms` per round, `rounds` rounds; returns the median rate. */
export function rate(fn: () => unknown, ms: number, rounds = MIN_ROUNDS, warm = true): Rate {
  // Warm-up so the JIT has seen the code.
  const warmEnd = performance.now() + (warm ? Math.min(200, ms) : 0);
  while (performance.now() < warmEnd) fn();
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    const end = t0 + ms;
    while (t < end) {
      for (let i = 0; i < 8; i++) fn();
      n += 8;
      t = performance.now();
    }
    out.push((n * 1000) / (t - t0));
  }
  const x = spread(out);
  return { opsPerSec: x.median, rounds: out, min: x.min, max: x.max };
}

/** Several candidates measured round-robin, so drift hits them alike. */
export function compare(
  cands: Record<string, () => unknown>,
  ms: number,
  rounds = MIN_ROUNDS,
): Record<string, Rate> {
  const names = Object.keys(cands);
  const rounds_: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) rate(cands[n]!, Math.min(ms, 100), 1);
  for (let r = 0; r < rounds; r++)
    for (const n of names) rounds_[n]!.push(rate(cands[n]!, ms, 1, false).opsPerSec);
  const out: Record<string, Rate> = {};
  for (const n of names) {
    const x = spread(rounds_[n]!);
    out[n] = { opsPerSec: x.median, rounds: rounds_[n]!, min: x.min, max: x.max };
  }
  return out;
}

/** Bytes allocated on the JS heap while `fn` runs (from V8's GC statistics plus the final heap delta). */
export function allocated(fn: () => void): number {
  globalThis.gc?.();
  const profiler = new GCProfiler();
  const before = process.memoryUsage().heapUsed;
  profiler.start();
  fn();
  const stats = profiler.stop();
  const after = process.memoryUsage().heapUsed;
  let total = 0;
  let last = before;
  for (const s of stats?.statistics ?? []) {
    total += s.beforeGC.heapStatistics.usedHeapSize - last;
    last = s.afterGC.heapStatistics.usedHeapSize;
  }
  total += after - last;
  return Math.max(0, total);
}

export function fmt(n: number, digits = 0): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(digits);
}
