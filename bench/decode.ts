// Decode benchmark: kubetriage's decoder (to signals, and to the full OTLP model) against protobufjs
// reflection decoding of the same bytes, and against a no-allocation walk (the practical ceiling).
// Run alone: node bench/decode.ts [--quick]
import { validateConfig } from '../src/core/config.ts';
import { otlpType } from '../src/sim/otlp-proto.ts';
import { AnomalyDetector } from '../src/stream/anomaly.ts';
import { NoiseFloors } from '../src/stream/floors.ts';
import { scopeKey } from '../src/stream/incidents/incident.ts';
import { LogClassifier } from '../src/stream/log-class.ts';
import type { NormaliseContext } from '../src/stream/normalise/context.ts';
import { normaliseMetrics } from '../src/stream/normalise/metrics.ts';
import { decodeAndNormalise } from '../src/stream/normalise/record.ts';
import { normaliseTraces } from '../src/stream/normalise/traces.ts';
import { SpanStats } from '../src/stream/span-stats.ts';
import { decodeLogs } from '../src/stream/wire/decode-logs.ts';
import { decodeMetrics } from '../src/stream/wire/decode-metrics.ts';
import { decodeTraces } from '../src/stream/wire/decode-traces.ts';
import { NamePatternResolver } from '../src/stream/workload.ts';
import { WORKLOAD_STATE_METRICS } from '../src/stream/workload-state.ts';
import { batch, logsBatch, type Signal } from './lib/fixtures.ts';
import { compare, fmt, MIN_ROUNDS, type Rate, type Spread, spread } from './lib/measure.ts';
import type { BenchOptions, BenchResult, BenchRow, Chart } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';
import { walkOtlp } from './lib/walk.ts';

const TYPES = {
  logs: 'ExportLogsServiceRequest',
  metrics: 'ExportMetricsServiceRequest',
  traces: 'ExportTraceServiceRequest',
} as const;

/**
 * The context the pipeline gives the normalisers (src/stream/pipeline.ts), with the same span
 * statistics, noise floors and log classes behind it: server spans go through SpanStats and every
 * span through the floors, as in `kubetriage run` — not a counter that would skip that work. Only
 * emitted signals stop here (dedup and grouping are bench/pipeline.ts's).
 */
function signalsContext(): { ctx: NormaliseContext; count: () => number } {
  const config = validateConfig({});
  const spans = new SpanStats(config.spanBucket, config.spanMinSamples);
  const floors = new NoiseFloors(config.floors);
  const logClasses = new LogClassifier(config.floors.logPatterns);
  const anomalies = new AnomalyDetector(config.anomalies, {
    maxSeries: 1000,
    ttlMs: 60_000,
    clock: { now: () => 0 },
  });
  let n = 0;
  const emit = (): void => {
    n++;
  };
  const ctx: NormaliseContext = {
    defaultCluster: 'bench',
    resolver: new NamePatternResolver(),
    recordTimeMs: 0,
    watchedMetrics: new Set([...anomalies.watchedMetrics, ...WORKLOAD_STATE_METRICS.keys()]),
    emit,
    observeServerSpan: (site, _service, atMs, durationMs, failed) =>
      spans.observe(site, atMs, durationMs, failed, emit),
    classifyLog: (body) => logClasses.classify(body),
    observeSpan: (site, atMs, failed, traceId) =>
      floors.observeSpan(
        scopeKey({
          cluster: site.cluster,
          namespace: site.namespace,
          workload: site.workload ?? { kind: 'Namespace', name: site.namespace || '(cluster)' },
          environment: site.environment,
          environmentSource: site.environmentSource,
        }),
        atMs,
        failed,
        traceId,
      ),
  };
  return { ctx, count: () => n };
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const sizes = [1, 100, 1000];
  const signals: Signal[] = ['logs', 'metrics', 'traces'];
  const ms = opts.quick ? 60 : 400;
  const rounds = opts.quick ? MIN_ROUNDS : 7;
  const rows: BenchRow[] = [];
  const charts: Chart[] = [];
  const headline: Record<string, number> = {};
  let warmLogs: Spread | undefined;
  for (const signal of signals) {
    const chart: Chart = { title: `Decode ${signal}: records/s per core`, unit: 'records/s', groups: [] };
    for (const size of sizes) {
      const bytes = batch(signal, { records: size });
      const type = otlpType(TYPES[signal]);
      const { ctx } = signalsContext();
      const decode = signal === 'logs' ? decodeLogs : signal === 'metrics' ? decodeMetrics : decodeTraces;
      const toSignals =
        signal === 'logs'
          ? () => decodeAndNormalise('logs', bytes, 'logs', ctx, decoded)
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
      if (size === 1000 && signal === 'logs') warmLogs = ratioRounds(r);
      if (size === 1000) {
        headline[`${signal}.signalsRecPerSec`] = Math.round(ours);
        headline[`${signal}.vsProtobufjs`] = round(ours / pbjs);
        headline[`${signal}.walkOverSignals`] = round(walk / ours);
      }
    }
    charts.push(chart);
  }
  // Intern caches cold: a ring of batches whose names and uids share nothing (variant suffix), more
  // distinct short strings than the intern cache's 4096 slots, so each batch finds the cache holding
  // other batches' strings. Every candidate walks the same ring.
  const RING = 64;
  const ring = Array.from({ length: RING }, (_, i) => logsBatch({ records: 1000, variant: `-c${i}` }));
  const logsType = otlpType(TYPES.logs);
  const { ctx: coldCtx } = signalsContext();
  const cursor = () => {
    let i = 0;
    return () => ring[i++ % RING]!;
  };
  const [c1, c2, c3] = [cursor(), cursor(), cursor()];
  const cold = compare(
    {
      'kubetriage → signals': () => decodeAndNormalise('logs', c1(), 'logs', coldCtx, decoded),
      'protobufjs reflection': () => logsType.decode(c2()),
      'no-allocation walk': () => walkOtlp('logs', c3()),
    },
    ms,
    rounds,
  );
  const coldRec = (name: string) => cold[name]!.opsPerSec * 1000;
  const coldOurs = coldRec('kubetriage → signals');
  const coldPbjs = coldRec('protobufjs reflection');
  const coldBytes = Math.round(ring.reduce((a, b) => a + b.length, 0) / RING);
  rows.push({
    case: 'logs × 1000, intern cache cold',
    values: {
      bytes: coldBytes,
      'signals rec/s': Math.round(coldOurs),
      'protobufjs rec/s': Math.round(coldPbjs),
      'walk rec/s': Math.round(coldRec('no-allocation walk')),
      'signals MB/s': round((cold['kubetriage → signals']!.opsPerSec * coldBytes) / 1e6),
      'vs protobufjs': round(coldOurs / coldPbjs),
      'walk / signals': round(coldRec('no-allocation walk') / coldOurs),
    },
  });
  headline['logsCold.signalsRecPerSec'] = Math.round(coldOurs);
  headline['logsCold.vsProtobufjs'] = round(coldOurs / coldPbjs);
  opts.log(`decode logs × 1000 cold: ${fmt(coldOurs)} rec/s, ${round(coldOurs / coldPbjs)}× protobufjs`);
  const coldLogs = ratioRounds(cold);
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
        target: 'decode of 1000-record log batches to signals ≥ 4× protobufjs reflection, intern cache warm',
        met: (warmLogs?.median ?? 0) >= 4,
        detail: `${vs}× (ratio of the medians); per-round ratios in measured`,
        goal: '≥ 4×',
        ...(warmLogs ? { measured: warmLogs } : {}),
      },
      {
        target: 'decode of 1000-record log batches to signals ≥ 4× protobufjs reflection, intern cache cold',
        met: coldLogs.median >= 4,
        detail: `${headline['logsCold.vsProtobufjs']}× (ratio of the medians; ${RING} batches with distinct names and uids in turn)`,
        goal: '≥ 4×',
        measured: coldLogs,
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

/** kubetriage → signals over protobufjs, round by round (the candidates run interleaved). */
function ratioRounds(r: Record<string, Rate>): Spread {
  const ours = r['kubetriage → signals']!.rounds;
  const pbjs = r['protobufjs reflection']!.rounds;
  return spread(ours.map((x, i) => x / pbjs[i]!));
}

/** decodeAndNormalise's hook between decoding and normalising: the pipeline's stage marker. */
function decoded(): void {}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

await runAlone(import.meta.url, run);
