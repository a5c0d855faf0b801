// Noise floors: whether a problem signal may open an incident, or is background that is only counted
// and kept as context. Why each default is what it is: src/stream/README.md "Noise floors".
//
// Rate-like signals (failed spans, ERROR logs) open only when they depart from the workload's own
// baseline beyond chance: a minimum count, a minimum rate, a one-sided Poisson test over a long window,
// and the short window must still show it (the SRE Workbook's long/short burn-rate pair). Kubernetes
// facts that are decisive (CrashLoopBackOff, OOMKilled, image pull, FailedScheduling, …) open at once;
// restarts, probe misses and other Warnings open beyond a count in a window; replica shortfalls must
// persist. All state is bounded (LRU) and driven by record time, so replay stays deterministic.
import type { FloorsConfig } from '../core/config-floors.ts';
import { flat } from './flat.ts';
import type { EvidenceUpdate } from './incidents/evidence.ts';
import { LruMap } from './lru-map.ts';
import { poissonTail } from './poisson.ts';

/** Which floor judged a signal (the `class` label of kubetriage_floor_signals_total). */
export type FloorClass =
  | 'decisive'
  | 'spans'
  | 'logs'
  | 'restarts'
  | 'probes'
  | 'events'
  | 'persist'
  | 'findings'
  | 'other';

export const FLOOR_CLASSES: readonly FloorClass[] = [
  'decisive',
  'spans',
  'logs',
  'restarts',
  'probes',
  'events',
  'persist',
  'findings',
  'other',
];

export interface FloorStats {
  /** Signals at or above their floor (they open an incident or keep one going). */
  above: Record<FloorClass, number>;
  /** Signals below their floor (counted; kept as context when their workload has no incident). */
  below: Record<FloorClass, number>;
  /** Sub-floor updates attached to an incident when it opened. */
  attached: number;
  /** Sub-floor updates dropped from a full per-workload buffer, or expired before any incident. */
  dropped: number;
  /** Failed spans and ERROR lines of a trace already counted as a failed request: they add nothing. */
  folded: { failedSpans: number; errorLogs: number };
}

const zero = (): Record<FloorClass, number> =>
  Object.fromEntries(FLOOR_CLASSES.map((c) => [c, 0])) as Record<FloorClass, number>;

// Buckets per short window: the long window's counts move in steps of shortWindow / 4.
const BUCKETS_PER_SHORT = 4;
// Warning reasons whose series key a workload remembers (NoiseFloors.#eventKeys).
const MAX_REASON_KEYS = 64;
// Timestamps kept per counted series (restarts, probe misses, …); beyond it the oldest go (fewer opens).
const MAX_POINTS = 256;
// What a (workload, trace) pair has been counted as: a request (denominator), a failed request
// (numerator), an ERROR line for the logs floor.
const SEEN = 1;
const FAILED = 2;
const LOGGED = 4;

/** A trace recently seen in a workload: what it was counted as, and when it was last seen. */
interface TraceMark {
  at: number;
  flags: number;
}

/** Counts in fixed buckets over the long window; what leaves it joins a decayed baseline. */
class RateWindow {
  readonly k: Float64Array;
  readonly n: Float64Array;
  readonly tripped: Uint8Array;
  /** Bucket index (time / bucketMs) of the newest bucket. */
  head = Number.NEGATIVE_INFINITY;
  histK = 0;
  histN = 0;
  histAt = 0;
  /** Cached "above" for the head bucket: counts only grow within it. */
  aboveAt = Number.NEGATIVE_INFINITY;
  readonly perMinute: boolean;

  constructor(buckets: number, perMinute: boolean) {
    this.perMinute = perMinute;
    this.k = new Float64Array(buckets);
    this.n = new Float64Array(buckets);
    this.tripped = new Uint8Array(buckets);
  }
}

/**
 * Timestamped amounts within a sliding window.
 *
 * Each count asks for the sum over [now - window, now] right after pushing now's point; summing all of
 * up to 256 points per signal was 3.3 % of a CPU profile of bench/pipeline.ts's stream at 0 % repeats
 * (probe misses, one series per workload). While the points arrive in time order with whole amounts, a
 * running sum of the points from `lo` on answers it by dropping the points that left the window: the
 * same integers added, so the same number. Anything else (a point out of order, a fraction, NaN, a
 * window end before the newest point, a window start moving back) takes the full scan, as before.
 */
export class WindowSum {
  readonly at: number[] = [];
  readonly add: number[] = [];
  /** Points in time order with integer amounts (|add| ≤ 2^31, so 257 of them sum exactly). */
  #ordered = true;
  /** First point at or after #loFrom, and the sum of the amounts from it on. */
  #lo = 0;
  #tail = 0;
  #loFrom = Number.NEGATIVE_INFINITY;

  push(atMs: number, add: number): void {
    const n = this.at.length;
    if (
      !(n === 0 ? !Number.isNaN(atMs) : atMs >= this.at[n - 1]!) ||
      !(Number.isInteger(add) && Math.abs(add) <= 2 ** 31)
    )
      this.#ordered = false;
    this.at.push(atMs);
    this.add.push(add);
    if (atMs >= this.#loFrom) this.#tail += add;
    else this.#lo = n + 1;
    if (this.at.length > MAX_POINTS) {
      this.at.shift();
      const gone = this.add.shift()!;
      if (this.#lo > 0) this.#lo--;
      else this.#tail -= gone;
    }
  }

  sum(fromMs: number, toMs: number): number {
    const at = this.at;
    const n = at.length;
    if (this.#ordered && n > 0 && toMs >= at[n - 1]! && fromMs >= this.#loFrom) {
      let lo = this.#lo;
      let tail = this.#tail;
      while (lo < n && at[lo]! < fromMs) tail -= this.add[lo++]!;
      this.#lo = lo;
      this.#tail = tail;
      this.#loFrom = fromMs;
      return tail;
    }
    let s = 0;
    for (let i = 0; i < n; i++) {
      const t = at[i]!;
      if (t >= fromMs && t <= toMs) s += this.add[i]!;
    }
    return s;
  }
}

interface Streak {
  since: number;
  last: number;
}

export interface HeldUpdate {
  u: EvidenceUpdate;
  cls: FloorClass;
}

export class NoiseFloors {
  readonly stats: FloorStats = {
    above: zero(),
    below: zero(),
    attached: 0,
    dropped: 0,
    folded: { failedSpans: 0, errorLogs: 0 },
  };
  readonly enabled: boolean;
  readonly #cfg: FloorsConfig;
  readonly #bucketMs: number;
  readonly #buckets: number;
  readonly #shortBuckets: number;
  readonly #spans: LruMap<RateWindow>;
  readonly #logs: LruMap<RateWindow>;
  readonly #sums: LruMap<WindowSum>;
  readonly #streaks: LruMap<Streak>;
  readonly #held: LruMap<HeldUpdate[]>;
  readonly #traces: LruMap<TraceMark>;
  readonly #decisiveEvents: ReadonlySet<string>;
  readonly #decisiveContainer: ReadonlySet<string>;
  /**
   * The counted series' keys (`p|workload`, `e|workload|reason`) by the workload key the pipeline passes
   * (one string per scope, scope-keys.ts): a lookup of a string whose hash is cached instead of a fresh
   * concatenation flattened and hashed per signal (the probe count's LRU lookup was 1.4 % of a CPU
   * profile of bench/pipeline.ts's stream at 0 % repeats). Bounded like #sums; cleared when full.
   */
  readonly #probeKeys = new Map<string, string>();
  readonly #eventKeys = new Map<string, Map<string, string>>();
  readonly #maxKeys: number;
  /**
   * #sums2's results: the long window's failures and requests, the short window's. Written there rather
   * than returned in an object, as #decayed writes the baseline in place (no object per ERROR line or
   * failed span): the floors 1.07× (min 0.90, max 1.41) over the bench topic, 596 vs 604 bytes
   * allocated per record in the pipeline (`node bench/ab-floors.ts <old>`, 21 rounds; `node --expose-gc
   * bench/ab-run-path.ts pipeline <old>`: CPU 1.00×, within noise; 2026-12-06, load 5–8).
   */
  #k = 0;
  #n = 0;
  #ks = 0;
  #ns = 0;

  constructor(cfg: FloorsConfig) {
    this.#cfg = cfg;
    this.enabled = cfg.enabled;
    this.#bucketMs = Math.max(1, Math.floor(cfg.shortWindow / BUCKETS_PER_SHORT));
    this.#buckets = Math.max(1, Math.ceil(cfg.window / this.#bucketMs));
    this.#shortBuckets = Math.min(this.#buckets, BUCKETS_PER_SHORT);
    const max = cfg.context.maxWorkloads;
    this.#spans = new LruMap(max);
    this.#logs = new LruMap(max);
    this.#sums = new LruMap(max * 4);
    this.#maxKeys = max * 4;
    this.#streaks = new LruMap(max * 4);
    this.#traces = new LruMap(cfg.spans.recentTraces);
    this.#held = new LruMap(max, (v) => {
      this.stats.dropped += v.length;
    });
    this.#decisiveEvents = new Set(cfg.events.decisive);
    this.#decisiveContainer = new Set(cfg.events.decisiveContainerReasons);
  }

  isDecisiveEvent(reason: string): boolean {
    return this.#decisiveEvents.has(reason);
  }

  isDecisiveContainerReason(reason: string): boolean {
    return this.#decisiveContainer.has(reason);
  }

  /**
   * Every span of a workload. The unit is the request, not the span (src/stream/README.md "Requests,
   * not spans"): a trace counts once in the denominator however many spans it has in the workload,
   * and once in the numerator however many of them failed. A span without a trace id is a request.
   */
  observeSpan(workloadKey: string, atMs: number, failed: boolean, traceId = ''): void {
    let n = 1;
    let k = failed ? 1 : 0;
    if (traceId) {
      const m = this.#mark(workloadKey, traceId, atMs);
      n = m.flags & SEEN ? 0 : 1;
      k = failed && !(m.flags & FAILED) ? 1 : 0;
      m.flags |= SEEN | (failed ? FAILED : 0);
      if (failed && k === 0) this.stats.folded.failedSpans++;
      if (n === 0 && k === 0) return;
    }
    const w = this.#window(this.#spans, workloadKey, atMs);
    const i = this.#slot(w, atMs);
    if (i < 0) {
      this.#toHistory(w, k, n, atMs);
      return;
    }
    w.n[i]! += n;
    w.k[i]! += k;
  }

  /**
   * An ERROR (or content-classified) log line of a workload. Lines of a trace already counted, as a
   * failed request or as an earlier line, add nothing: one failure is one count.
   */
  observeLog(workloadKey: string, atMs: number, traceId = ''): void {
    if (traceId) {
      const m = this.#mark(workloadKey, traceId, atMs);
      if (m.flags & (FAILED | LOGGED)) {
        this.stats.folded.errorLogs++;
        return;
      }
      m.flags |= LOGGED;
    }
    const w = this.#window(this.#logs, workloadKey, atMs);
    const i = this.#slot(w, atMs);
    if (i < 0) this.#toHistory(w, 1, 0, atMs);
    else w.k[i]! += 1;
  }

  /** The marks of a trace in a workload; a mark older than the long window starts over. */
  #mark(workloadKey: string, traceId: string, atMs: number): TraceMark {
    const key = `${workloadKey}|${traceId}`;
    let m = this.#traces.get(key);
    if (!m || Math.abs(atMs - m.at) > this.#cfg.window) {
      m = { at: atMs, flags: 0 };
      this.#traces.set(flat(key), m);
    } else if (atMs > m.at) m.at = atMs;
    return m;
  }

  /** Failed spans of the workload depart from its baseline (count, rate, Poisson test, short window). */
  spansAbove(workloadKey: string, atMs: number): boolean {
    const w = this.#spans.get(workloadKey);
    if (!w) return false;
    this.#roll(w, atMs);
    if (w.aboveAt === w.head) return true;
    const c = this.#cfg.spans;
    this.#sums2(w);
    const k = this.#k;
    const n = this.#n;
    const ks = this.#ks;
    if (k < c.minCount || n <= 0 || k / n < c.minRate || ks < 1 || ks / Math.max(this.#ns, ks) < c.minRate)
      return false;
    this.#decayed(w, atMs);
    const p0 = (w.histK + c.priorRate * c.priorWeight) / (w.histN + c.priorWeight);
    return this.#trip(w, poissonTail(k, n * p0) < this.#cfg.alpha);
  }

  /** ERROR lines of the workload depart from its own per-minute baseline. */
  logsAbove(workloadKey: string, atMs: number): boolean {
    const w = this.#logs.get(workloadKey);
    if (!w) return false;
    this.#roll(w, atMs);
    if (w.aboveAt === w.head) return true;
    const c = this.#cfg.logs;
    this.#sums2(w);
    const k = this.#k;
    if (k < c.minCount || this.#ks < 1) return false;
    this.#decayed(w, atMs);
    const perMinute = (w.histK + c.priorPerMinute * c.priorMinutes) / (w.histN + c.priorMinutes);
    return this.#trip(w, poissonTail(k, (perMinute * this.#cfg.window) / 60_000) < this.#cfg.alpha);
  }

  /** Restarts of one container (series) reach the configured count within the restart window. */
  restartsAbove(seriesKey: string, atMs: number, add: number): boolean {
    const c = this.#cfg.restarts;
    return this.#count(`r|${seriesKey}`, atMs, add, c.window) >= c.count;
  }

  /** Probe misses of the workload (by event count) reach the configured count within the window. */
  probesAbove(workloadKey: string, atMs: number, add: number): boolean {
    const c = this.#cfg.probes;
    let key = this.#probeKeys.get(workloadKey);
    if (key === undefined) {
      if (this.#probeKeys.size >= this.#maxKeys) this.#probeKeys.clear();
      key = flat(`p|${workloadKey}`);
      this.#probeKeys.set(workloadKey, key);
    }
    return this.#count(key, atMs, add, c.window) >= c.count;
  }

  /** Occurrences of one Warning reason on the workload reach the configured count within the window. */
  eventsAbove(workloadKey: string, reason: string, atMs: number, add: number): boolean {
    const c = this.#cfg.events;
    let byReason = this.#eventKeys.get(workloadKey);
    if (byReason === undefined) {
      if (this.#eventKeys.size >= this.#maxKeys) this.#eventKeys.clear();
      byReason = new Map();
      this.#eventKeys.set(workloadKey, byReason);
    }
    let key = byReason.get(reason);
    if (key === undefined) {
      // Reasons are telemetry's text: a workload's memo is bounded too.
      if (byReason.size >= MAX_REASON_KEYS) byReason.clear();
      key = flat(`e|${workloadKey}|${reason}`);
      byReason.set(reason, key);
    }
    return this.#count(key, atMs, add, c.window) >= c.minCount;
  }

  /** A finding (replicas below desired) has fired without a long gap for at least persistFor. */
  persistAbove(seriesKey: string, atMs: number): boolean {
    const c = this.#cfg.anomalies;
    let s = this.#streaks.get(seriesKey);
    if (!s || atMs - s.last > c.maxGap) {
      s = { since: atMs, last: atMs };
      this.#streaks.set(flat(seriesKey), s);
    }
    if (atMs > s.last) s.last = atMs;
    if (atMs < s.since) s.since = atMs;
    return s.last - s.since >= c.persistFor;
  }

  /** An above-baseline finding (latency) repeated within the long window. */
  findingsAbove(seriesKey: string, atMs: number): boolean {
    return this.#count(`f|${seriesKey}`, atMs, 1, this.#cfg.window) >= this.#cfg.anomalies.minFindings;
  }

  /** Keeps a sub-floor update of a workload with no incident, to attach if one opens. */
  hold(workloadKey: string, u: EvidenceUpdate, cls: FloorClass): void {
    const max = this.#cfg.context.maxPerWorkload;
    if (max === 0) return;
    let list = this.#held.get(workloadKey);
    if (!list) {
      list = [];
      this.#held.set(flat(workloadKey), list);
    }
    const from = u.atMs - this.#cfg.context.ttl;
    while (list.length && list[0]!.u.atMs < from) {
      list.shift();
      this.stats.dropped++;
    }
    list.push({ u, cls });
    if (list.length > max) {
      list.shift();
      this.stats.dropped++;
    }
  }

  /**
   * The workload's held updates still within the context TTL, oldest first; the buffer is emptied.
   * Those of the class that opened the incident, within its window, are part of the same departure.
   */
  takeHeld(workloadKey: string, atMs: number): HeldUpdate[] {
    const list = this.#held.get(workloadKey);
    if (!list) return [];
    this.#held.delete(workloadKey);
    const from = atMs - this.#cfg.context.ttl;
    const out = list.filter((h) => h.u.atMs >= from);
    this.stats.dropped += list.length - out.length;
    this.stats.attached += out.length;
    return out;
  }

  /** The long window of the class that opened an incident (held updates of that class inside it are the same departure). */
  windowOf(cls: FloorClass): number {
    switch (cls) {
      case 'restarts':
        return this.#cfg.restarts.window;
      case 'probes':
        return this.#cfg.probes.window;
      case 'events':
        return this.#cfg.events.window;
      case 'persist':
        return this.#cfg.anomalies.persistFor + this.#cfg.anomalies.maxGap;
      default:
        return this.#cfg.window;
    }
  }

  #count(key: string, atMs: number, add: number, windowMs: number): number {
    let s = this.#sums.get(key);
    if (!s) {
      s = new WindowSum();
      this.#sums.set(flat(key), s);
    }
    if (add > 0) s.push(atMs, add);
    return s.sum(atMs - windowMs, atMs);
  }

  #window(cache: LruMap<RateWindow>, key: string, atMs: number): RateWindow {
    let w = cache.get(key);
    if (!w) {
      w = new RateWindow(this.#buckets, cache === this.#logs);
      w.head = Math.floor(atMs / this.#bucketMs);
      w.histAt = atMs;
      cache.set(flat(key), w);
    }
    this.#roll(w, atMs);
    return w;
  }

  /** The slot of atMs in the ring, or -1 when it is older than the long window. */
  #slot(w: RateWindow, atMs: number): number {
    const b = Math.floor(atMs / this.#bucketMs);
    if (b <= w.head - this.#buckets) return -1;
    return ((b % this.#buckets) + this.#buckets) % this.#buckets;
  }

  /** Moves the ring forward to atMs; buckets that leave it join the baseline unless they tripped. */
  #roll(w: RateWindow, atMs: number): void {
    const b = Math.floor(atMs / this.#bucketMs);
    if (b <= w.head) return;
    const steps = Math.min(b - w.head, this.#buckets);
    const minutes = this.#bucketMs / 60_000;
    for (let s = 1; s <= steps; s++) {
      const i = (((w.head + s) % this.#buckets) + this.#buckets) % this.#buckets;
      // Logs: the baseline's denominator is minutes observed (a per-minute rate).
      if (!w.tripped[i]) this.#toHistory(w, w.k[i]!, w.perMinute ? minutes : w.n[i]!, atMs);
      w.k[i] = 0;
      w.n[i] = 0;
      w.tripped[i] = 0;
    }
    if (w.perMinute && b - w.head > this.#buckets)
      this.#toHistory(w, 0, (b - w.head - this.#buckets) * minutes, atMs);
    w.head = b;
  }

  #toHistory(w: RateWindow, k: number, n: number, atMs: number): void {
    this.#decayed(w, atMs);
    w.histK += k;
    w.histN += n;
  }

  /** Decays the baseline counts (w.histK, w.histN) to atMs (half-life floors.baselineHalfLife). */
  #decayed(w: RateWindow, atMs: number): void {
    if (atMs > w.histAt) {
      const f = 0.5 ** ((atMs - w.histAt) / this.#cfg.baselineHalfLife);
      w.histK *= f;
      w.histN *= f;
      w.histAt = atMs;
    }
  }

  /**
   * The long and short windows' counts into #k, #n, #ks, #ns, newest bucket first (the same additions
   * in the same order as before). Fields, not a returned object, and one modulo, not one per bucket:
   * the figure is at #k.
   */
  #sums2(w: RateWindow): void {
    const buckets = this.#buckets;
    const short = this.#shortBuckets;
    let k = 0;
    let n = 0;
    let ks = 0;
    let ns = 0;
    let i = ((w.head % buckets) + buckets) % buckets;
    for (let s = 0; s < buckets; s++) {
      k += w.k[i]!;
      n += w.n[i]!;
      if (s < short) {
        ks += w.k[i]!;
        ns += w.n[i]!;
      }
      i = i === 0 ? buckets - 1 : i - 1;
    }
    this.#k = k;
    this.#n = n;
    this.#ks = ks;
    this.#ns = ns;
  }

  /** A departure: its buckets stay out of the baseline, and the verdict holds for the head bucket. */
  #trip(w: RateWindow, above: boolean): boolean {
    if (!above) return false;
    w.tripped.fill(1);
    w.aboveAt = w.head;
    return true;
  }
}
