// Decode benchmark: kubetriage's decoder (to signals, and to the full OTLP model) against protobufjs
// reflection decoding of the same bytes, and against a no-allocation walk (the practical ceiling).
// Run alone: node bench/decode.ts [--quick]
import { validateConfig } from '../src/core/config.ts';
import { otlpType } from '../src/sim/otlp-proto.ts';
import { AnomalyDetector } from '../src/stream/anomaly.ts';
import type { NormaliseContext } from '../src/stream/normalise/context.ts';
import { normaliseLogs } from '../src/stream/normalise/logs.ts';
import { normaliseMetrics } from '../src/stream/normalise/metrics.ts';
import { normaliseTraces } from '../src/stream/normalise/traces.ts';
import { decodeLogs } from '../src/stream/wire/decode-logs.ts';
import { decodeMetrics } from '../src/stream/wire/decode-metrics.ts';
import { decodeTraces } from '../src/stream/wire/decode-traces.ts';
import { NamePatternResolver } from '../src/stream/workload.ts';
import { WORKLOAD_STATE_METRICS } from '../src/stream/workload-state.ts';
import { batch, type Signal } from './lib/fixtures.ts';
import { compare, fmt } from './lib/measure.ts';
import type { BenchOptions, BenchResult, BenchRow, Chart } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';
import { walkOtlp } from './lib/walk.ts';

const TYPES = {
  logs: 'ExportLogsServiceRequest',
  metrics: 'ExportMetricsServiceRequest',
  traces: 'ExportTraceServiceRequest',
} as const;

function signalsContext(): { ctx: NormaliseContext; count: () => number } {
  const config = validateConfig({});
  const anomalies = new AnomalyDetector(config.anomalies, {
    maxSeries: 1000,
    ttlMs: 60_000,
    clock: { now: () => 0 },
  });
  let n = 0;
  const ctx: NormaliseContext = {
    defaultCluster: 'bench',
    resolver: new NamePatternResolver(),
    recordTimeMs: 0,
    watchedMetrics: new Set([...anomalies.watchedMetrics, ...WORKLOAD_STATE_METRICS.keys()]),
    emit: () => {
      n++;
    },
    observeServerSpan: () => {
      n++;
    },
  };
  return { ctx, count: () => n };
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const sizes = [1, 100, 1000];
  const signals: Signal[] = ['logs', 'metrics', 'traces'];
  const ms = opts.quick ? 60 : 400;
  const rounds = opts.quick ? 3 : 7;
  const rows: BenchRow[] = [];
  const charts: Chart[] = [];
  const headline: Record<string, number> = {};
  for (const signal of signals) {
    const chart: Chart = { title: `Decode ${signal}: records/s per core`, unit: 'records/s', groups: [] };
    for (const size of sizes) {
      const bytes = batch(signal, { records: size });
      const type = otlpType(TYPES[signal]);
      const { ctx } = signalsContext();
      const decode = signal === 'logs' ? decodeLogs : signal === 'metrics' ? decodeMetrics : decodeTraces;
      const toSignals =
        signal === 'logs'
          ? () => normaliseLogs(decodeLogs(bytes), ctx)
          : signal === 'metrics'
            ? () => normaliseMetrics(decodeMetrics(bytes), ctx)
            : () => normaliseTraces(decodeTraces(bytes), ctx);
      const r = compare(
        {
          'kubetriage → signals': toSignals,
          'kubetriage → OTLP model': () => decode(bytes),
          'protobufjs reflection': () => type.decode(bytes),
          'no-allocation walk': () => walkOtlp(signal, bytes),
        },
        ms,
        rounds,
      );
      const recs = (name: string) => r[name]!.opsPerSec * size;
      const ours = recs('kubetriage → signals');
      const pbjs = recs('protobufjs reflection');
      const walk = recs('no-allocation walk');
      const row: BenchRow = {
        case: `${signal} × ${size}`,
        values: {
          bytes: bytes.length,
          'signals rec/s': Math.round(ours),
          'model rec/s': Math.round(recs('kubetriage → OTLP model')),
          'protobufjs rec/s': Math.round(pbjs),
          'walk rec/s': Math.round(walk),
          'signals MB/s': round((r['kubetriage → signals']!.opsPerSec * bytes.length) / 1e6),
          'vs protobufjs': round(ours / pbjs),
          'walk / signals': round(walk / ours),
        },
      };
      rows.push(row);
      chart.groups.push({
        label: `× ${size}`,
        bars: {
          'kubetriage → signals': ours,
          'kubetriage → model': recs('kubetriage → OTLP model'),
          protobufjs: pbjs,
          'no-alloc walk': walk,
        },
      });
      opts.log(
        `decode ${row.case}: signals ${fmt(ours)} rec/s, ${row.values['vs protobufjs']}× protobufjs, walk ${row.values['walk / signals']}× faster`,
      );
      if (size === 1000) {
        headline[`${signal}.signalsRecPerSec`] = Math.round(ours);
        headline[`${signal}.vsProtobufjs`] = round(ours / pbjs);
        headline[`${signal}.walkOverSignals`] = round(walk / ours);
      }
    }
    charts.push(chart);
  }
  const vs = headline['logs.vsProtobufjs'] ?? 0;
  const walkGap = headline['logs.walkOverSignals'] ?? 0;
  return {
    name: 'decode',
    title: 'Decode: bytes to signals',
    method:
      'Each batch is decoded repeatedly in one process; candidates run round-robin and the median of the rounds is kept. "signals" = decode + normalise to typed signals (what the pipeline does); "model" = decode to the full OTLP object model; protobufjs = reflection decode of the pinned protos; walk = visit every field without allocating.',
    reproduce: 'node bench/decode.ts',
    columns: [
      'bytes',
      'signals rec/s',
      'model rec/s',
      'protobufjs rec/s',
      'walk rec/s',
      'signals MB/s',
      'vs protobufjs',
      'walk / signals',
    ],
    rows,
    headline,
    targets: [
      {
        target: 'decode to signals ≥ 5× protobufjs reflection (logs × 1000)',
        met: vs >= 5,
        detail: `${vs}×`,
      },
      {
        target: 'within 3× of the no-allocation walk (logs × 1000)',
        met: walkGap <= 3,
        detail: `walk is ${walkGap}× faster`,
      },
    ],
    charts,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

await runAlone(import.meta.url, run);
