// Decode of 1000-record logs batches to signals against protobufjs reflection, with the intern cache
// warm (the same batch over and over, as bench/decode.ts does) and cold (20 batches whose pod names,
// uids and messages are all distinct, cycled, so nearly every short string misses the cache).
// Candidates interleaved round-robin; median, min and max of the rounds. Rates are per CPU-second of
// this process (process.cpuUsage), not wall time: on a shared machine preemption would otherwise land
// on whichever candidate happened to be running (wall-time rounds here varied 0.7–4× between runs).
// Still indicative: protobufjs's rate per CPU-second swung up to 2× between runs on the loaded machine
// (one run printed 4.3×, the next 2.3×); quote bench/ab.ts's per-round ratios over several runs.
// Run alone: node bench/decode-cold.ts [--rounds N] [--ms MS] [--profile warm|cold SECONDS]
import { validateConfig } from '../src/core/config.ts';
import { otlpType } from '../src/sim/otlp-proto.ts';
import { AnomalyDetector } from '../src/stream/anomaly.ts';
import type { NormaliseContext } from '../src/stream/normalise/context.ts';
import { decodeAndNormalise } from '../src/stream/normalise/record.ts';
import { NamePatternResolver } from '../src/stream/workload.ts';
import { WORKLOAD_STATE_METRICS } from '../src/stream/workload-state.ts';
import { logsBatch, rng } from './lib/fixtures.ts';

const argv = process.argv;
const opt = (flag: string, dflt: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1]! : dflt);

// Signals emitted: printed, so a decoder that silently stopped emitting would show.
let emitted = 0;

function context(): NormaliseContext {
  const config = validateConfig({});
  const anomalies = new AnomalyDetector(config.anomalies, {
    maxSeries: 1000,
    ttlMs: 60_000,
    clock: { now: () => 0 },
  });
  return {
    defaultCluster: 'bench',
    resolver: new NamePatternResolver(),
    recordTimeMs: 0,
    watchedMetrics: new Set([...anomalies.watchedMetrics, ...WORKLOAD_STATE_METRICS.keys()]),
    emit: () => {
      emitted++;
    },
    observeServerSpan: () => {
      emitted++;
    },
  };
}

const warm = logsBatch({ records: 1000 });
// Distinct strings per batch: 100k workloads to draw from and fresh event uids in every batch.
const cold = Array.from({ length: 20 }, (_, i) =>
  logsBatch(
    { records: 1000, workloads: 100_000, startMs: Date.UTC(2026, 10, 28, 10, 0, 0) + i * 10_000 },
    // biome-ignore lint/suspicious/noExplicitAny: the fixture's stream state is internal to it
    { r: rng(100 + i), emitted: [], unique: i * 1_000_000 } as any,
  ),
);
const type = otlpType('ExportLogsServiceRequest');
const ctx = context();
let ci = 0;
const nextCold = () => {
  const b = cold[ci]!;
  ci = ci === cold.length - 1 ? 0 : ci + 1;
  return b;
};
// What the pipeline runs per logs record (src/stream/normalise/record.ts).
const decoded = () => {};
const toSignals = (b: Buffer) => decodeAndNormalise('logs', b, 'logs', ctx, decoded);
const cands: Record<string, () => unknown> = {
  'signals warm': () => toSignals(warm),
  'protobufjs warm': () => type.decode(warm),
  'signals cold': () => toSignals(nextCold()),
  'protobufjs cold': () => type.decode(nextCold()),
};

/** Calls per CPU-second of this process, over about `ms` of CPU time. */
function rate(fn: () => unknown, ms: number): number {
  const c0 = process.cpuUsage();
  let n = 0;
  let used = 0;
  while (used < ms * 1000) {
    for (let i = 0; i < 4; i++) fn();
    n += 4;
    const c = process.cpuUsage(c0);
    used = c.user + c.system;
  }
  return (n * 1e6) / used;
}

if (argv.includes('--profile')) {
  const which = opt('--profile', 'warm');
  const fn = cands[`signals ${which}`]!;
  const end = performance.now() + Number(argv[argv.indexOf('--profile') + 2] ?? 5) * 1000;
  while (performance.now() < end) fn();
} else {
  const rounds = Number(opt('--rounds', '7'));
  const ms = Number(opt('--ms', '400'));
  const per: Record<string, number[]> = Object.fromEntries(Object.keys(cands).map((k) => [k, []]));
  for (const fn of Object.values(cands)) rate(fn, 100);
  for (let r = 0; r < rounds; r++)
    for (const [k, fn] of Object.entries(cands)) per[k]!.push(rate(fn, ms) * 1000);
  const ratio = (a: string, b: string) => per[a]!.map((x, i) => x / per[b]![i]!).sort((x, y) => x - y);
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  for (const k of Object.keys(per)) process.stdout.write(`${k}: ${Math.round(med(per[k]!))} rec/s\n`);
  for (const c of ['warm', 'cold']) {
    const r = ratio(`signals ${c}`, `protobufjs ${c}`);
    process.stdout.write(
      `signals / protobufjs, ${c} cache: median ${med(r).toFixed(2)}× (min ${r[0]!.toFixed(2)}, max ${r.at(-1)!.toFixed(2)}, ${rounds} rounds)\n`,
    );
  }
  process.stdout.write(`signals emitted: ${emitted}\n`);
}
