import type { AnomalyRule } from '../core/config.ts';
import type { Clock } from './clock.ts';
import { flat } from './flat.ts';
import { TtlLruMap } from './lru-map.ts';
import type { MetricSignal } from './signals.ts';

export interface AnomalyFinding {
  rule: AnomalyRule;
  signal: MetricSignal;
  /** Human-readable, e.g. "k8s.container.restarts rose 3 → 5 (OOMKilled)". */
  summary: string;
  /** Series identity, stable across samples (evidence key part). */
  seriesKey: string;
  observed: number;
  expected: number;
}

interface SeriesState {
  /** When the series was created (record clock): it expires ttlMs later (TtlLruMap). */
  setAt: number;
  last: number;
  /** Exponentially weighted mean of past samples (the series' own recent baseline). */
  mean: number;
  samples: number;
}

// Baseline weight of a new sample: about the last 10 samples matter.
const EWMA_ALPHA = 0.2;

/**
 * Compares each watched metric series with its own recent past. Series state is bounded (LRU with a
 * TTL) so a churn of pods cannot grow memory without limit.
 */
export class AnomalyDetector {
  readonly #rulesByMetric = new Map<string, AnomalyRule[]>();
  readonly #denominators = new Map<string, AnomalyRule[]>();
  readonly #series: TtlLruMap<SeriesState>;
  readonly watchedMetrics: ReadonlySet<string>;

  constructor(rules: readonly AnomalyRule[], opts: { maxSeries: number; ttlMs: number; clock: Clock }) {
    const watched = new Set<string>();
    for (const rule of rules) {
      for (const m of rule.metrics) {
        watched.add(m);
        pushTo(this.#rulesByMetric, m, rule);
      }
      for (const m of rule.ratioTo) {
        watched.add(m);
        pushTo(this.#denominators, m, rule);
      }
    }
    this.watchedMetrics = watched;
    // The record clock is read at every access: it can jump by minutes within a millisecond (replay,
    // catch-up after lag).
    this.#series = new TtlLruMap({ max: opts.maxSeries, ttlMs: opts.ttlMs, clock: opts.clock });
  }

  get seriesCount(): number {
    return this.#series.size;
  }

  observe(s: MetricSignal, out: (f: AnomalyFinding) => void): void {
    const site = `${s.cluster}/${s.namespace}/${s.workload?.kind}/${s.workload?.name}/${s.pod}/${s.series}`;
    const denomRules = this.#denominators.get(s.name);
    if (denomRules) {
      for (const rule of denomRules) {
        this.#remember(`${rule.name}#den|${site}`, s.value);
        const num = this.#series.get(`${rule.name}#num|${site}`);
        if (num) this.#checkRatio(rule, s, site, num.last, s.value, out);
      }
    }
    const rules = this.#rulesByMetric.get(s.name);
    if (!rules) return;
    for (const rule of rules) {
      if (rule.detect === 'below_ratio') {
        this.#remember(`${rule.name}#num|${site}`, s.value);
        const den = this.#series.get(`${rule.name}#den|${site}`);
        if (den) this.#checkRatio(rule, s, site, s.value, den.last, out);
        continue;
      }
      const key = `${rule.name}|${site}`;
      const st = this.#series.get(key);
      if (!st) {
        this.#series.set(flat(key), { setAt: 0, last: s.value, mean: s.value, samples: 1 });
        continue;
      }
      if (rule.detect === 'increase') {
        const delta = s.value - st.last;
        // A drop is a counter reset (container replaced), not a recovery; take the new value as base.
        if (delta >= rule.minDelta) {
          const why = s.detail ? ` (last terminated: ${s.detail})` : '';
          out({
            rule,
            signal: s,
            seriesKey: key,
            observed: s.value,
            expected: st.last,
            summary: `${s.name} rose ${st.last} → ${s.value}${why}`,
          });
        }
      } else if (
        st.samples >= rule.minSamples &&
        s.value >= rule.minValue &&
        s.value > st.mean * rule.factor
      ) {
        out({
          rule,
          signal: s,
          seriesKey: key,
          observed: s.value,
          expected: st.mean,
          summary: `${s.name} ${fmt(s.value)} is ${fmt(s.value / (st.mean || 1))}× its recent baseline ${fmt(st.mean)}`,
        });
      }
      st.mean = st.samples === 0 ? s.value : st.mean + EWMA_ALPHA * (s.value - st.mean);
      st.last = s.value;
      st.samples++;
    }
  }

  #remember(key: string, value: number): void {
    const st = this.#series.get(key);
    if (st) st.last = value;
    else this.#series.set(flat(key), { setAt: 0, last: value, mean: value, samples: 1 });
  }

  #checkRatio(
    rule: AnomalyRule,
    s: MetricSignal,
    site: string,
    numerator: number,
    denominator: number,
    out: (f: AnomalyFinding) => void,
  ): void {
    if (denominator <= 0 || numerator / denominator >= rule.threshold) return;
    out({
      rule,
      signal: s,
      seriesKey: `${rule.name}|${site}`,
      observed: numerator,
      expected: denominator,
      summary: `${rule.metrics[0]} ${numerator} of ${denominator} (${fmt((100 * numerator) / denominator)}%, below ${fmt(rule.threshold * 100)}%)`,
    });
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
