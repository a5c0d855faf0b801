import type { AnomalyRule } from '../core/config.ts';
import { SeriesTable } from './anomaly-series.ts';
import type { Clock } from './clock.ts';
import { CounterRuns } from './counter-runs.ts';
import { flat } from './flat.ts';
import { LruMap } from './lru-map.ts';
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
  /**
   * `increase` rules: what the finding adds to the counter's rises (restarts), computed from the samples
   * in time order (counter-runs.ts). Negative only when a late sample moves rises to another termination
   * reason (`signal.detail`): a correction of an earlier finding, never the first news of a restart.
   */
  increase?: number;
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
  /**
   * Per series (anomaly-series.ts): the last sample, an exponentially weighted mean of past samples (the
   * series' own recent baseline) and how many; a series expires ttlMs after it was created.
   */
  readonly #series: SeriesTable;
  /** `increase` series: their runs in sample-time order, so a counter's rises do not depend on arrival order. */
  readonly #counters: CounterRuns;
  /**
   * A number per site (cluster/namespace/workload/pod) and per rule: series keys are `rule|site|series`
   * of these numbers ("3|1042|c0", 10 bytes) rather than the rule name and the site's text (~90 bytes,
   * 9.6 MB at 100k series in bench/memory.ts). Bounded like the series: every touch of a series touches
   * its site, so a site is evicted only after all its series were.
   */
  readonly #sites: LruMap<number>;
  #nextSite = 0;
  readonly #ruleNo = new Map<AnomalyRule, number>();
  readonly watchedMetrics: ReadonlySet<string>;

  constructor(rules: readonly AnomalyRule[], opts: { maxSeries: number; ttlMs: number; clock: Clock }) {
    const watched = new Set<string>();
    for (const rule of rules) {
      this.#ruleNo.set(rule, this.#ruleNo.size);
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
    this.#series = new SeriesTable({ max: opts.maxSeries, ttlMs: opts.ttlMs, clock: opts.clock });
    this.#counters = new CounterRuns(opts.maxSeries);
    this.#sites = new LruMap(opts.maxSeries);
  }

  get seriesCount(): number {
    return this.#series.size;
  }

  observe(s: MetricSignal, out: (f: AnomalyFinding) => void): void {
    const denomRules = this.#denominators.get(s.name);
    const rules = this.#rulesByMetric.get(s.name);
    if (!denomRules && !rules) return;
    const site = `${s.cluster}/${s.namespace}/${s.workload?.kind}/${s.workload?.name}/${s.pod}`;
    let siteNo = this.#sites.get(site);
    if (siteNo === undefined) {
      siteNo = this.#nextSite++;
      this.#sites.set(flat(site), siteNo);
    }
    const local = `|${siteNo}|${s.series}`;
    if (denomRules) {
      for (const rule of denomRules) {
        const no = this.#ruleNo.get(rule)!;
        this.#remember(`${no}d${local}`, s.value);
        const num = this.#series.get(`${no}n${local}`);
        if (num >= 0) this.#checkRatio(rule, s, site, this.#series.last(num), s.value, out);
      }
    }
    if (!rules) return;
    for (const rule of rules) {
      const no = this.#ruleNo.get(rule)!;
      if (rule.detect === 'below_ratio') {
        this.#remember(`${no}n${local}`, s.value);
        const den = this.#series.get(`${no}d${local}`);
        if (den >= 0) this.#checkRatio(rule, s, site, s.value, this.#series.last(den), out);
        continue;
      }
      const key = `${no}${local}`;
      const st = this.#series.get(key);
      if (st < 0) {
        const slot = this.#series.add(flat(key), s.value);
        if (rule.detect === 'increase') this.#counters.start(slot, s.atMs, s.value, s.detail);
        continue;
      }
      if (rule.detect === 'increase') {
        this.#increase(rule, st, s, site, out);
        continue;
      }
      const mean = this.#series.mean(st);
      const samples = this.#series.samples(st);
      if (samples >= rule.minSamples && s.value >= rule.minValue && s.value > mean * rule.factor) {
        out({
          rule,
          signal: s,
          seriesKey: seriesKey(rule, site, s),
          observed: s.value,
          expected: mean,
          summary: `${s.name} ${fmt(s.value)} is ${fmt(s.value / (mean || 1))}× its recent baseline ${fmt(mean)}`,
        });
      }
      this.#series.update(
        st,
        s.value,
        samples === 0 ? s.value : mean + EWMA_ALPHA * (s.value - mean),
        samples + 1,
      );
    }
  }

  /**
   * A counter's sample: a rise over the sample before it in time is a finding (a drop is a counter reset,
   * not a recovery). Compared in sample-time order, not arrival order (counter-runs.ts).
   */
  #increase(
    rule: AnomalyRule,
    st: number,
    s: MetricSignal,
    site: string,
    out: (f: AnomalyFinding) => void,
  ): void {
    const changes = this.#counters.observe(st, s.atMs, s.value, s.detail, rule.minDelta);
    this.#series.setLast(st, this.#counters.last(st));
    for (const c of changes) {
      const why = c.detail ? ` (last terminated: ${c.detail})` : '';
      out({
        rule,
        // A late sample can change the rise into a later run, of another termination reason.
        signal: c.detail === s.detail ? s : { ...s, detail: c.detail },
        seriesKey: seriesKey(rule, site, s),
        observed: c.observed,
        expected: c.expected,
        increase: c.add,
        summary: `${s.name} rose ${c.expected} → ${c.observed}${why}`,
      });
    }
  }

  #remember(key: string, value: number): void {
    const st = this.#series.get(key);
    if (st >= 0) this.#series.setLast(st, value);
    else this.#series.add(flat(key), value);
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
      seriesKey: seriesKey(rule, site, s),
      observed: numerator,
      expected: denominator,
      summary: `${rule.metrics[0]} ${numerator} of ${denominator} (${fmt((100 * numerator) / denominator)}%, below ${fmt(rule.threshold * 100)}%)`,
    });
  }
}

/** The series' identity as findings and evidence keys spell it (the rule's name and the site's text). */
function seriesKey(rule: AnomalyRule, site: string, s: MetricSignal): string {
  return `${rule.name}|${site}/${s.series}`;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
