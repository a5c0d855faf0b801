// V8 heap sizing vs CPU per record, end to end through a real broker: `kubetriage run` drains a
// pre-filled topic (150 × 1000 log records, lz4) at Node's defaults and with the Deployment's
// NODE_OPTIONS (--max-semi-space-size=16), without a memory limit and inside a memory cgroup of the
// Helm chart's limit (512 MiB), where Node sizes V8's heap from the limit (~1 MB semi-spaces). Reported:
// records per CPU-second (all threads, from ready to every offset committed and every context
// acknowledged), CPU by kind of thread, peak RSS. The cgroup cases need a writable cgroup v1 memory
// hierarchy (root on this machine); without one they are left out and the report says so.
//
// Run alone: node bench/gc-sizing.ts [--quick]   (starts a broker unless KAFKA_BROKERS is set)
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sumMetric } from '../test/harness/otelcol.ts';
import { freePort } from '../test/harness/ports.ts';
import { committedOffsets, createTopics, produce, type RawRecord, unique } from '../test/helpers/kafka.ts';
import { logsStream } from './lib/fixtures.ts';
import { withBroker, writeDrainConfig } from './lib/kafka.ts';
import { fmt, MIN_ROUNDS, spread } from './lib/measure.ts';
import type { BenchOptions, BenchResult, BenchRow } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';
import { THREAD_KINDS, type ThreadKind, threadCpu } from './lib/thread-cpu.ts';

const BIN = new URL('../bin/kubetriage.js', import.meta.url).pathname;
const SIZE = 1000;
const PARTITIONS = 4;
/** The Helm chart's resources.limits.memory (deploy/helm/kubetriage/values.yaml). */
const LIMIT_MIB = 512;
const CGROUP_ROOT = '/sys/fs/cgroup/memory';
const DEPLOYMENT_FLAGS = ['--max-semi-space-size=16'];

interface Case {
  label: string;
  flags: string[];
  cgroup: boolean;
}

interface Drain {
  cpu: number;
  threads: Record<ThreadKind, number>;
  peakRssMB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(port: number): Promise<string | undefined> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return undefined;
  }
}

/** A memory cgroup with the chart's limit, or undefined where none can be made (not root, cgroup v2). */
function makeCgroup(): string | undefined {
  const dir = join(CGROUP_ROOT, `kubetriage-bench-${process.pid}`);
  try {
    if (!existsSync(join(CGROUP_ROOT, 'memory.limit_in_bytes'))) return undefined;
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(LIMIT_MIB * 1024 * 1024));
    return dir;
  } catch {
    return undefined;
  }
}

async function drain(
  c: Case,
  cgroup: string | undefined,
  dir: string,
  brokers: string,
  topic: string,
  ends: Map<number, number>,
): Promise<Drain> {
  const { config, group } = writeDrainConfig(dir, brokers, topic, 'bench-gc');
  const port = await freePort();
  const args = [...c.flags, BIN, 'run', '--config', config, '--port', String(port)];
  // In the cgroup: the shell moves itself in, then becomes node (same pid), so Node sees the limit.
  const child: ChildProcess = c.cgroup
    ? spawn('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$0" "$@"`, process.execPath, ...args], {
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const deadline = Date.now() + 600_000;
    while (!(await scrape(port))) {
      if (child.exitCode !== null) throw new Error(`kubetriage run exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('kubetriage run did not start');
      await sleep(20);
    }
    const before = threadCpu(child.pid!);
    for (;;) {
      const text = (await scrape(port)) ?? '';
      if (
        sumMetric(text, 'kubetriage_records_total') >= [...ends.values()].reduce((a, b) => a + b, 0) &&
        sumMetric(text, 'kubetriage_pending_outputs') === 0
      ) {
        const committed = await committedOffsets(group, topic, PARTITIONS).catch(() => new Map());
        if ([...ends].every(([p, end]) => (committed.get(p) ?? -1) >= end)) break;
      }
      if (Date.now() > deadline) throw new Error('kubetriage did not drain the topic in time');
      await sleep(20);
    }
    const after = threadCpu(child.pid!);
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
    const threads = Object.fromEntries(THREAD_KINDS.map((k) => [k, after[k] - before[k]])) as Record<
      ThreadKind,
      number
    >;
    return {
      cpu: THREAD_KINDS.reduce((a, k) => a + threads[k], 0),
      threads,
      peakRssMB: Math.round(Number(hwm ?? 0) / 1024),
    };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const batches = opts.quick ? 30 : 150;
  const rounds = opts.quick ? 2 : MIN_ROUNDS;
  const total = batches * SIZE;
  const ends = new Map<number, number>();
  for (let i = 0; i < batches; i++) ends.set(i % PARTITIONS, (ends.get(i % PARTITIONS) ?? 0) + 1);
  const cgroup = makeCgroup();
  const cases: Case[] = [
    { label: "no memory limit, Node's defaults", flags: [], cgroup: false },
    { label: `no memory limit, ${DEPLOYMENT_FLAGS.join(' ')}`, flags: DEPLOYMENT_FLAGS, cgroup: false },
    ...(cgroup
      ? [
          { label: `${LIMIT_MIB} MiB memory cgroup, Node's defaults`, flags: [], cgroup: true },
          {
            label: `${LIMIT_MIB} MiB memory cgroup, ${DEPLOYMENT_FLAGS.join(' ')}`,
            flags: DEPLOYMENT_FLAGS,
            cgroup: true,
          },
        ]
      : []),
  ];
  if (!cgroup) opts.log(`no writable ${CGROUP_ROOT}: the ${LIMIT_MIB} MiB cases are left out`);
  return withBroker(opts.log, async (brokers) => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-bench-gc-'));
    try {
      const topic = unique('bench-gc-logs');
      await createTopics([topic], PARTITIONS);
      await produce(
        topic,
        logsStream(batches, SIZE, 0.5).map((value, i): RawRecord => ({ value, partition: i % PARTITIONS })),
        { compression: 'lz4' },
      );
      const res = new Map<Case, Drain[]>(cases.map((c) => [c, []]));
      for (let round = 0; round < rounds; round++) {
        // Interleaved, the order turning each round: the shared machine's load hits every case alike.
        const order = cases.map((_, i) => cases[(i + round) % cases.length]!);
        for (const c of order) {
          const d = await drain(c, cgroup, dir, brokers, topic, ends);
          res.get(c)!.push(d);
          opts.log(
            `round ${round + 1} ${c.label}: ${fmt(total / d.cpu)} records/CPU-s (${d.cpu.toFixed(2)} CPU-s; ` +
              `${THREAD_KINDS.map((k) => `${k} ${d.threads[k].toFixed(2)}`).join(', ')}), peak RSS ${d.peakRssMB} MB`,
          );
        }
      }
      const med = (xs: number[]) => spread(xs).median;
      const rows: BenchRow[] = cases.map((c) => {
        const ds = res.get(c)!;
        const perCpu = spread(ds.map((d) => total / d.cpu));
        return {
          case: c.label,
          values: {
            records: total,
            'records / CPU-second': Math.round(perCpu.median),
            'records / CPU-second min–max': `${fmt(perCpu.min)}–${fmt(perCpu.max)}`,
            'CPU s: main thread': Math.round(med(ds.map((d) => d.threads.main)) * 100) / 100,
            'CPU s: V8 workers (GC, compiler)':
              Math.round(med(ds.map((d) => d.threads['v8 workers'])) * 100) / 100,
            'CPU s: librdkafka': Math.round(med(ds.map((d) => d.threads.librdkafka)) * 100) / 100,
            'peak RSS MB': med(ds.map((d) => d.peakRssMB)),
          },
        };
      });
      const perCpuOf = (i: number) =>
        rows[i] ? Number(rows[i]!.values['records / CPU-second']) : Number.NaN;
      return {
        name: 'gc-sizing',
        title:
          "V8 heap sizing vs CPU per record (Node's defaults, the Deployment's NODE_OPTIONS, the chart's memory limit)",
        method:
          `${batches} Kafka records of ${SIZE} log records (k8s events, 50% re-deliveries, lz4) pre-filled into a ${PARTITIONS}-partition topic; ` +
          '`kubetriage run` (child process, own consumer group) drains it per case, rounds interleaved, medians with min–max. ' +
          'CPU = utime+stime of every thread (/proc/<pid>/task/*/stat) from ready to done (every offset committed, kubetriage_pending_outputs 0). ' +
          `The memory-cgroup cases run the process in a cgroup v1 memory cgroup limited to ${LIMIT_MIB} MiB (the Helm chart's limit): ` +
          "Node then sizes V8's heap from the limit (heap limit ~270 MB, young generation ~1 MB semi-spaces), as it does in the pod. " +
          'Peak RSS = VmHWM at done.',
        reproduce: 'node bench/gc-sizing.ts [--quick]',
        columns: [
          'records',
          'records / CPU-second',
          'records / CPU-second min–max',
          'CPU s: main thread',
          'CPU s: V8 workers (GC, compiler)',
          'CPU s: librdkafka',
          'peak RSS MB',
        ],
        rows,
        headline: {
          'defaults.recPerCpuSec': perCpuOf(0),
          'deployment.recPerCpuSec': perCpuOf(1),
          ...(cgroup
            ? { 'cgroup.defaults.recPerCpuSec': perCpuOf(2), 'cgroup.deployment.recPerCpuSec': perCpuOf(3) }
            : {}),
        },
        targets: [],
        charts: [
          {
            title: 'Records per CPU-second by heap sizing',
            unit: 'records / CPU-second',
            groups: rows.map((r) => ({
              label: r.case,
              bars: { kubetriage: Number(r.values['records / CPU-second']) },
            })),
          },
        ],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (cgroup)
        try {
          rmdirSync(cgroup);
        } catch {
          // A process still inside (it is being killed): the empty cgroup stays behind, harmless.
        }
    }
  });
}

await runAlone(import.meta.url, run);
