// Before/after of the noise floors alone (src/stream/floors.ts) on the e2e bench topic's stream (issue 18):
// the NoiseFloors calls the pipeline makes over bench/run-ab.ts's 150 × 1000 log records (50 %
// re-deliveries) are recorded once, with their arguments, from the old checkout's pipeline, then
// replayed against each checkout's NoiseFloors, passes interleaved, CPU time of this process. The
// floors are ~3 % of the pipeline's time there, below what bench/ab-run-path.ts can resolve.
//   node bench/ab-floors.ts <oldDir> [newDir] [rounds]
// Prints the calls by method, whether both sides answered every call alike, and the median with min and
// max of the per-round ratios (>1: new faster).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { feedLogBatches } from './lib/feed.ts';
import { logsStream } from './lib/fixtures.ts';

type Floors = Record<string, (...a: unknown[]) => unknown>;

const [oldDir, newArg, roundsArg] = process.argv.slice(2);
if (!oldDir) {
  process.stderr.write('usage: node bench/ab-floors.ts <oldDir> [newDir] [rounds]\n');
  process.exit(2);
}
const dirs = [resolve(oldDir), resolve(newArg || fileURLToPath(new URL('..', import.meta.url)))] as const;
const rounds = Number(roundsArg ?? 21);
const METHODS = [
  'observeSpan',
  'observeLog',
  'spansAbove',
  'logsAbove',
  'restartsAbove',
  'probesAbove',
  'eventsAbove',
  'persistAbove',
  'findingsAbove',
  'hold',
  'takeHeld',
  'isDecisiveEvent',
  'isDecisiveContainerReason',
  'windowOf',
];

const { validateConfig } = await import(`${dirs[0]}/src/core/config.ts`);
const { ManualClock } = await import(`${dirs[0]}/src/stream/clock.ts`);
const { Pipeline } = await import(`${dirs[0]}/src/stream/pipeline.ts`);
const { NamePatternResolver } = await import(`${dirs[0]}/src/stream/workload.ts`);
const recorded = (await import(`${dirs[0]}/src/stream/floors.ts`)).NoiseFloors;
const config = validateConfig({ grouping: { groupWait: '20m', groupInterval: '20m', restore: false } });

const calls: [string, unknown[]][] = [];
const counts: Record<string, number> = {};
const proto = recorded.prototype as Floors;
const originals = new Map(METHODS.map((m) => [m, proto[m]!]));
for (const m of METHODS) {
  const orig = originals.get(m)!;
  proto[m] = function (this: unknown, ...a: unknown[]) {
    calls.push([m, a]);
    counts[m] = (counts[m] ?? 0) + 1;
    return orig.apply(this, a);
  };
}
const clock = new ManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
const p = new Pipeline({ config, clock, resolver: new NamePatternResolver(), sink: () => {} });
feedLogBatches(p, clock, logsStream(150, 1000, 0.5));
for (const [m, orig] of originals) proto[m] = orig;
console.log('calls by method:', counts);

// A second module instance for the old side (the query string), so its class is not the recording one.
const sides = await Promise.all(
  dirs.map(
    async (d, i) => (await import(`${d}/src/stream/floors.ts${i === 0 ? '?replay' : ''}`)).NoiseFloors,
  ),
);
const answers: string[][] = [[], []];
const cpu: number[][] = [[], []];
for (let r = 0; r < rounds + 1; r++) {
  for (const i of r % 2 ? [1, 0] : [0, 1]) {
    const f = new sides[i]!(config.floors) as Floors;
    const out: unknown[] = [];
    const t0 = process.cpuUsage();
    for (const [m, a] of calls) out.push(f[m]!(...a));
    const c = process.cpuUsage(t0);
    // Round 0 warms both sides up and is not counted.
    if (r > 0) cpu[i]!.push((c.user + c.system) / 1000);
    else answers[i] = out.map((v) => JSON.stringify(v));
  }
}
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const med = (a: number[]) => sorted(a)[a.length >> 1]!;
const ratios = cpu[0]!.map((o, k) => o / cpu[1]![k]!);
console.log('same answers:', answers[0]!.join('\n') === answers[1]!.join('\n'));
for (const i of [0, 1])
  console.log(`${dirs[i]}: ${med(cpu[i]!).toFixed(2)} ms per pass (min ${sorted(cpu[i]!)[0]!.toFixed(2)})`);
console.log(
  `new/old speed (old CPU / new CPU): median ${med(ratios).toFixed(3)} (min ${sorted(ratios)[0]!.toFixed(3)}, max ${sorted(ratios).at(-1)!.toFixed(3)}), ${rounds} rounds`,
);
