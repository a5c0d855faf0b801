// The per-stage pipeline metrics of single-process mode (src/stream/service.ts) in scale-out mode: the
// same names, help and labels, summed over this replica's partition pipelines (no partition label).
// Counters must never go down although pipelines come and go with rebalances: each pipeline counts from
// the moment it went live (after its restore: the muted re-read of records another owner already counted
// is left out), and what a pipeline counted is kept when the pipeline is dropped.
import type { Registry } from 'prom-client';
import { counterFromStats, gaugeFrom } from '../../core/metrics.ts';
import type { Pipeline } from '../pipeline.ts';

export type Readings = [Record<string, string>, number][];

interface Spec {
  name: string;
  help: string;
  labels: string[];
  read: (p: Pipeline) => Readings;
}

const entries = (o: Record<string, number>, label: string): Readings =>
  Object.entries(o).map(([k, v]) => [{ [label]: k }, v]);

/** Counters of the pipeline stages, as single-process mode names them (ingest's records and bytes are the splitter's). */
const COUNTERS: Spec[] = [
  {
    name: 'kubetriage_signals_total',
    help: 'Signals normalised from records, by type',
    labels: ['type'],
    read: (p) => entries(p.stats.signals, 'type'),
  },
  {
    name: 'kubetriage_dedup_total',
    help: 'Windowed dedup lookups, by result',
    labels: ['result'],
    read: (p) => [
      [{ result: 'hit' }, p.dedup.stats.hits],
      [{ result: 'miss' }, p.dedup.stats.misses],
      [{ result: 'eviction' }, p.dedup.stats.evictions],
    ],
  },
  {
    name: 'kubetriage_duplicate_events_total',
    help: 'Kubernetes Event updates already seen (same uid and count)',
    labels: [],
    read: (p) => [[{}, p.stats.duplicateEvents]],
  },
  {
    name: 'kubetriage_incidents_total',
    help: 'Incident lifecycle events',
    labels: ['event'],
    read: (p) => [
      [{ event: 'opened' }, p.grouper.stats.opened],
      [{ event: 'resolved' }, p.grouper.stats.resolved],
      [{ event: 'evicted' }, p.grouper.stats.evicted],
    ],
  },
  {
    name: 'kubetriage_floor_signals_total',
    help: 'Problem signals judged by the noise floors, by floor class and result (above opens or keeps an incident; below is background)',
    labels: ['class', 'result'],
    read: (p) =>
      (['above', 'below'] as const).flatMap((result) =>
        Object.entries(p.floors.stats[result]).map(([cls, v]): [Record<string, string>, number] => [
          { class: cls, result },
          v,
        ]),
      ),
  },
  {
    name: 'kubetriage_pod_status_signals_total',
    help: 'Pod-status facts taken from enrichment (terminations, waiting reasons, unschedulable pods)',
    labels: [],
    read: (p) => [[{}, p.stats.podStatus]],
  },
  {
    name: 'kubetriage_floor_context_total',
    help: 'Sub-floor updates attached as context when their workload opened an incident, or dropped (buffer full, expired)',
    labels: ['result'],
    read: (p) => [
      [{ result: 'attached' }, p.floors.stats.attached],
      [{ result: 'dropped' }, p.floors.stats.dropped],
    ],
  },
  {
    name: 'kubetriage_floor_folded_total',
    help: 'Failed spans and ERROR lines whose trace was already counted as a failed request of the workload (one request, one count)',
    labels: ['signal'],
    read: (p) => [
      [{ signal: 'failed_span' }, p.floors.stats.folded.failedSpans],
      [{ signal: 'error_log' }, p.floors.stats.folded.errorLogs],
    ],
  },
  {
    name: 'kubetriage_resolve_deferred_total',
    help: 'Quiet incidents kept open because the fault still shows (a Pending or waiting pod, replicas missing), by reason',
    labels: ['reason'],
    read: (p) => entries(p.grouper.stats.deferred, 'reason'),
  },
  {
    name: 'kubetriage_related_links_total',
    help: 'Links made between incidents by failing calls (upstream in the caller, impact in the peer)',
    labels: ['relation'],
    read: (p) => entries(p.grouper.links, 'relation'),
  },
  {
    name: 'kubetriage_call_graph_failed_calls_total',
    help: 'Failed client calls to a workload Service recorded in the call graph',
    labels: [],
    read: (p) => [[{}, p.grouper.callGraph?.stats.failedCalls ?? 0]],
  },
];

/** Gauges of what the pipelines this replica holds (owned, or kept over a rebalance) hold now. `kubetriage_incidents_open` is registered by the service. */
const GAUGES: Spec[] = [
  {
    name: 'kubetriage_call_graph_edges',
    help: 'Caller → callee edges in the call graph',
    labels: [],
    read: (p) => [[{}, p.grouper.callGraph?.stats.edges ?? 0]],
  },
  {
    name: 'kubetriage_dedup_entries',
    help: 'Entries in the dedup window',
    labels: [],
    read: (p) => [[{}, p.dedup.size]],
  },
  {
    name: 'kubetriage_anomaly_series',
    help: 'Metric series tracked for anomalies',
    labels: [],
    read: (p) => [[{}, p.anomalies.seriesCount]],
  },
];

/** Pipeline-stage metric names registered in scale-out mode (the test compares them with single-process mode's). */
export const PIPELINE_METRIC_NAMES = [...COUNTERS, ...GAUGES].map((s) => s.name);

const labelKey = (labels: Record<string, string>): string => JSON.stringify(labels);

export class PartitionPipelineMetrics {
  /** Per live pipeline, each counter's readings when it went live (its restore's re-read left out). */
  readonly #baselines = new Map<Pipeline, Map<string, number>[]>();
  /** Per counter, what pipelines dropped since counted. */
  readonly #retired: Map<string, { labels: Record<string, string>; v: number }>[] = COUNTERS.map(
    () => new Map(),
  );

  /**
   * `also`: what the same counters count outside the owners' pipelines, by metric name (signals ingest
   * drops before the hop because no owner acts on them, which single-process mode counts as signals).
   */
  constructor(
    registry: Registry,
    owned: () => Iterable<Pipeline>,
    also: Record<string, () => Readings> = {},
  ) {
    COUNTERS.forEach((spec, i) => {
      counterFromStats(registry, spec.name, spec.help, spec.labels, () => {
        const sums = this.#sum(i);
        const extra = also[spec.name];
        if (extra) add(sums, extra());
        return [...sums.values()].map((s) => [s.labels, s.v]);
      });
    });
    for (const spec of GAUGES)
      gaugeFrom(registry, spec.name, spec.help, spec.labels, () => {
        const sums = new Map<string, { labels: Record<string, string>; v: number }>();
        for (const p of owned()) add(sums, spec.read(p));
        const out: Readings = [...sums.values()].map((s) => [s.labels, s.v]);
        return out.length > 0 ? out : spec.labels.length === 0 ? [[{}, 0]] : [];
      });
  }

  /** A pipeline starts counting (after its restore; a resumed one is still live). */
  live(p: Pipeline): void {
    if (this.#baselines.has(p)) return;
    this.#baselines.set(
      p,
      COUNTERS.map((spec) => new Map(spec.read(p).map(([l, v]) => [labelKey(l), v]))),
    );
  }

  /** A pipeline is dropped: what it counted since it went live stays in the counters. */
  retire(p: Pipeline): void {
    const base = this.#baselines.get(p);
    if (!base) return;
    this.#baselines.delete(p);
    COUNTERS.forEach((spec, i) => {
      add(this.#retired[i]!, delta(spec.read(p), base[i]!));
    });
  }

  #sum(i: number): Map<string, { labels: Record<string, string>; v: number }> {
    const sums = new Map<string, { labels: Record<string, string>; v: number }>();
    for (const [k, s] of this.#retired[i]!) sums.set(k, { labels: s.labels, v: s.v });
    for (const [p, base] of this.#baselines) add(sums, delta(COUNTERS[i]!.read(p), base[i]!));
    return sums;
  }
}

function delta(now: Readings, base: Map<string, number>): Readings {
  return now.map(([l, v]) => [l, v - (base.get(labelKey(l)) ?? 0)]);
}

function add(sums: Map<string, { labels: Record<string, string>; v: number }>, readings: Readings): void {
  for (const [labels, v] of readings) {
    const k = labelKey(labels);
    const s = sums.get(k);
    if (s) s.v += v;
    else sums.set(k, { labels, v });
  }
}
