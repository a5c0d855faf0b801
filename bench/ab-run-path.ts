// Before/after of what `kubetriage run` does per record over the e2e bench topic (issue 18), without
// Kafka: the same 150 × 1000-record stream as bench/run-ab.ts and bench/collector-peer.ts (50 %
// re-deliveries), two checkouts in one process, passes interleaved, CPU time of this process.
//   node bench/ab-run-path.ts normalise <oldDir> [newDir] [rounds]
//        decode + normalise, signals dropped, with a dropEvent like the pipeline's (where the checkout
//        has one: Normal Events outside normalReasonsOfInterest's default)
//   node --expose-gc bench/ab-run-path.ts pipeline <oldDir> [newDir] [rounds]
//        the whole Pipeline as `run` configures it for the bench (contexts serialised), bytes allocated
//        per record (V8's GC statistics) and CPU; group wait and interval long enough that contexts
//        come at the end, as in the e2e drain (~100 contexts), not every simulated 10 s
// newDir defaults to this checkout. Medians with min and max of the per-round ratios (>1: new faster).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { feedLogBatches } from './lib/feed.ts';
import { logsStream } from './lib/fixtures.ts';
import { allocated } from './lib/measure.ts';
import { benchNormaliseContext } from './lib/normalise-context.ts';

const [mode, oldDir, newArg, roundsArg] = process.argv.slice(2);
if ((mode !== 'normalise' && mode !== 'pipeline') || !oldDir) {
  process.stderr.write(
    'usage: node [--expose-gc] bench/ab-run-path.ts normalise|pipeline <oldDir> [newDir] [rounds]\n',
  );
  process.exit(2);
}
const dirs = [resolve(oldDir), resolve(newArg || fileURLToPath(new URL('..', import.meta.url)))] as const;
const rounds = Number(roundsArg ?? 9);
const batches = logsStream(150, 1000, 0.5);
const records = 150 * 1000;
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function normaliseSide(dir: string): Promise<() => void> {
  const { decodeAndNormalise } = await import(`${dir}/src/stream/normalise/record.ts`);
  const { NamePatternResolver } = await import(`${dir}/src/stream/workload.ts`);
  const ctx = benchNormaliseContext(new NamePatternResolver(), {
    dropEvent: (_cluster, eventType, reason) => eventType !== 'Warning' && reason !== 'ScalingReplicaSet',
  });
  return () => {
    for (const b of batches) decodeAndNormalise('logs', b, 'otlp_logs', ctx, () => {});
  };
}

async function pipelineSide(dir: string): Promise<() => void> {
  const { validateConfig } = await import(`${dir}/src/core/config.ts`);
  const { contextJson } = await import(`${dir}/src/stream/incidents/context-json.ts`);
  const { ManualClock } = await import(`${dir}/src/stream/clock.ts`);
  const { Pipeline } = await import(`${dir}/src/stream/pipeline.ts`);
  const { NamePatternResolver } = await import(`${dir}/src/stream/workload.ts`);
  const config = validateConfig({ grouping: { groupWait: '20m', groupInterval: '20m', restore: false } });
  return () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
    const p = new Pipeline({
      config,
      clock,
      resolver: new NamePatternResolver(),
      sink: (doc: unknown) => {
        contextJson(doc);
      },
    });
    feedLogBatches(p, clock, batches);
  };
}

const sides = await Promise.all(dirs.map((d) => (mode === 'normalise' ? normaliseSide(d) : pipelineSide(d))));
for (const s of sides) s();
const cpu: number[][] = [[], []];
const bytes: number[][] = [[], []];
for (let r = 0; r < rounds; r++) {
  for (const i of r % 2 ? [1, 0] : [0, 1]) {
    let used = 0;
    // Only the pass is timed, not the full GC allocated() starts with.
    const pass = () => {
      const t0 = cpuMs();
      sides[i]!();
      used = cpuMs() - t0;
    };
    if (mode === 'pipeline') bytes[i]!.push(allocated(pass) / records);
    else pass();
    cpu[i]!.push(used);
  }
}
const stats = (xs: number[], digits = 3) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[s.length >> 1]!.toFixed(digits)} (min ${s[0]!.toFixed(digits)}, max ${s.at(-1)!.toFixed(digits)})`;
};
for (const [i, d] of dirs.entries()) {
  const rate = cpu[i]!.map((ms) => (records * 1000) / ms);
  process.stdout.write(
    `${d}: records/CPU-s ${stats(rate, 0)}${mode === 'pipeline' ? `; bytes allocated/record ${stats(bytes[i]!, 0)}` : ''}\n`,
  );
}
process.stdout.write(`new/old records per CPU-second: ${stats(cpu[0]!.map((ms, k) => ms / cpu[1]![k]!))}\n`);
