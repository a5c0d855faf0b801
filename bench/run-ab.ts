// Before/after of `kubetriage run` end to end (issue 18): checkouts drain the same pre-filled topic
// (bench/collector-peer.ts's 150 × 1000 log records) one after the other, rounds interleaved, each in
// its own consumer group; CPU of the process from spawn to done less its start-up cost on an empty
// topic (as collector-peer). Done = every offset committed (CommitWatch), then one /metrics scrape for
// kubetriage_pending_outputs 0. A side written `scrape20:<dir>` also scrapes /metrics every 20 ms, as
// collector-peer did before, to show what that measuring costs the measured process.
//   node bench/run-ab.ts <dirA> [dirB ...] [--rounds N] [--batches N]   (KAFKA_BROKERS, or a broker is started)
// Example: `git archive <rev> | tar -x -C /tmp/old`, link node_modules, then
// `node bench/run-ab.ts /tmp/old . scrape20:/tmp/old --rounds 5`. A side written `<dir>#<node flags>`
// (comma-separated) runs that checkout under those Node/V8 flags, e.g. `.#--single-threaded-gc`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { processCpuSeconds, sumMetric } from '../test/harness/otelcol.ts';
import { freePort } from '../test/harness/ports.ts';
import { createTopics, produce, unique } from '../test/helpers/kafka.ts';
import { logsStream } from './lib/fixtures.ts';
import { CommitWatch, withBroker, writeDrainConfig } from './lib/kafka.ts';
import { spread } from './lib/measure.ts';
import { THREAD_KINDS, threadCpu } from './lib/thread-cpu.ts';

const SIZE = 1000;
const PARTITIONS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args.splice(at, 2)[1]) : 5;
// --batches N: a longer topic (default 150, as collector-peer). Two lengths give the marginal CPU per
// record, without the one-off costs of a fresh process (V8 compiling the hot path: ~0.2 CPU-s).
const atBatches = args.indexOf('--batches');
const BATCHES = atBatches >= 0 ? Number(args.splice(atBatches, 2)[1]) : 150;
const sides = args.map((a) => {
  const scrape20 = a.startsWith('scrape20:');
  const [path, flags] = (scrape20 ? a.slice('scrape20:'.length) : a).split('#');
  return { label: a, dir: resolve(path!), scrape20, flags: flags ? flags.split(',') : [] };
});
if (sides.length === 0) {
  process.stderr.write('usage: node bench/run-ab.ts <dir> [[scrape20:]dir ...] [--rounds N]\n');
  process.exit(2);
}

async function scrape(port: number): Promise<string | undefined> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return undefined;
  }
}

/** One drain; `ends` null: an empty topic, run until ready + 3 s (the start-up cost). */
async function drain(
  brokers: string,
  dir: string,
  workDir: string,
  topic: string,
  ends: Map<number, number> | null,
  scrape20: boolean,
  flags: string[],
): Promise<{ cpu: number; seconds: number; threads: Record<string, number> }> {
  const { config, group } = writeDrainConfig(workDir, brokers, topic, 'run-ab');
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...flags, join(dir, 'bin/kubetriage.js'), 'run', '--config', config, '--port', String(port)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const watch = await CommitWatch.open(brokers, group, topic, PARTITIONS);
  try {
    while (!(await scrape(port))) {
      if (child.exitCode !== null) throw new Error(`kubetriage run exited with ${child.exitCode}`);
      await sleep(20);
    }
    if (!ends) {
      await sleep(3000);
      return { cpu: processCpuSeconds(child.pid!), seconds: 0, threads: threadCpu(child.pid!) };
    }
    for (const deadline = Date.now() + 600_000; Date.now() < deadline; await sleep(20)) {
      if (scrape20) await scrape(port);
      if (!(await watch.allAt(ends))) continue;
      const seconds = (performance.now() - t0) / 1000;
      const cpu = processCpuSeconds(child.pid!);
      const threads = threadCpu(child.pid!);
      if (sumMetric((await scrape(port)) ?? '', 'kubetriage_pending_outputs') === 0)
        return { cpu, seconds, threads };
    }
    throw new Error(`${dir}: the topic was not drained in time`);
  } finally {
    await watch.close();
    child.kill('SIGTERM');
    await exited;
  }
}

await withBroker(
  (l) => process.stderr.write(`${l}\n`),
  async (brokers) => {
    const workDir = mkdtempSync(join(tmpdir(), 'kt-run-ab-'));
    try {
      const topic = unique('run-ab-logs');
      const empty = unique('run-ab-empty');
      await createTopics([topic, empty], PARTITIONS);
      const stream = logsStream(BATCHES, SIZE, 0.5);
      await produce(
        topic,
        stream.map((value, i) => ({ value, partition: i % PARTITIONS })),
        { compression: 'lz4' },
      );
      const ends = new Map<number, number>();
      for (let i = 0; i < BATCHES; i++) ends.set(i % PARTITIONS, (ends.get(i % PARTITIONS) ?? 0) + 1);
      const base: { cpu: number; threads: Record<string, number> }[] = [];
      for (const s of sides) {
        // The first start of a checkout after its sources changed fills Node's compile cache: 0.3–0.5
        // CPU-s more than the warm starts the drains make, so it is not the baseline.
        await drain(brokers, s.dir, workDir, empty, null, false, s.flags);
        base.push(await drain(brokers, s.dir, workDir, empty, null, false, s.flags));
      }
      const cpu: number[][] = sides.map(() => []);
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 ? [...sides.keys()].reverse() : [...sides.keys()];
        for (const i of order) {
          const d = await drain(
            brokers,
            sides[i]!.dir,
            workDir,
            topic,
            ends,
            sides[i]!.scrape20,
            sides[i]!.flags,
          );
          const net = d.cpu - base[i]!.cpu;
          cpu[i]!.push(net);
          const threads = THREAD_KINDS.slice(0, 3)
            .map((k) => `${k} ${(d.threads[k]! - base[i]!.threads[k]!).toFixed(2)}`)
            .join(', ');
          console.log(
            `round ${r + 1} ${sides[i]!.label}: ${net.toFixed(2)} CPU-s, ${d.seconds.toFixed(2)} s; ${threads}`,
          );
        }
      }
      for (const [i, s] of sides.entries()) {
        const c = spread(cpu[i]!);
        const rate = (x: number) => Math.round((BATCHES * SIZE) / x);
        console.log(
          `${s.label}: CPU-s median ${c.median.toFixed(2)} (min ${c.min.toFixed(2)}, max ${c.max.toFixed(2)}); ` +
            `records/CPU-s ${rate(c.median)} (${rate(c.max)}–${rate(c.min)})`,
        );
      }
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
);
process.exit(0);
