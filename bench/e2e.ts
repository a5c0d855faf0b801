// End to end through a real broker: produce N batches of 1000 log records first, then time
// `kubetriage run` consuming them to acknowledged contexts, with 1 and then 2 instances in one group.
// Then a live phase: a steady producer while one instance runs, for record → context latency.
// Run alone: node bench/e2e.ts [--quick]   (starts a broker unless KAFKA_BROKERS is set)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AckedProducer } from '../src/stream/kafka/producer.ts';
import { freePort } from '../test/harness/ports.ts';
import {
  createTopics,
  produce,
  type RawRecord,
  brokers as testBrokers,
  unique,
} from '../test/helpers/kafka.ts';
import { logsStream } from './lib/fixtures.ts';
import { withBroker } from './lib/kafka.ts';
import { fmt } from './lib/measure.ts';
import type { BenchOptions, BenchResult, BenchRow, Chart } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

const BIN = new URL('../bin/kubetriage.js', import.meta.url).pathname;
const SIZE = 1000;

interface Instance {
  child: ChildProcess;
  port: number;
}

async function startInstances(n: number, configFile: string): Promise<Instance[]> {
  const out: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'run', '--config', configFile, '--port', String(port)], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    out.push({ child, port });
  }
  return out;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || !line) continue;
      const i = line.lastIndexOf(' ');
      m.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  } catch {
    // Not listening yet.
  }
  return m;
}

function sum(m: Map<string, number>, prefix: string): number {
  let s = 0;
  for (const [k, v] of m) if (k.startsWith(prefix)) s += v;
  return s;
}

async function stop(instances: Instance[]): Promise<void> {
  await Promise.all(
    instances.map(
      (i) =>
        new Promise<void>((resolve) => {
          i.child.once('exit', () => resolve());
          i.child.kill('SIGTERM');
          setTimeout(() => i.child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
}

function config(dir: string, brokers: string, topic: string, contexts: string, group: string): string {
  const f = join(dir, `${group}.yaml`);
  writeFileSync(
    f,
    stringify({
      log: { level: 'warn' },
      grouping: { groupWait: '1s', groupInterval: '1s', restore: false },
      kafka: {
        brokers: brokers.split(','),
        groupId: group,
        topics: { logs: [topic], contexts },
        batchSize: 2000,
      },
    }),
  );
  return f;
}

/**
 * Consumes a pre-filled topic of `batches` Kafka records (each a batch of SIZE log records) with `n`
 * instances; returns log records/s and log records per CPU-second.
 */
async function drain(
  n: number,
  brokers: string,
  topic: string,
  batches: number,
  dir: string,
): Promise<{ recPerSec: number; recPerCpuSec: number; seconds: number }> {
  const contexts = unique('bench-contexts');
  const instances = await startInstances(n, config(dir, brokers, topic, contexts, unique('bench-group')));
  try {
    // Start the clocks when every instance is up (HTTP answers), so process start-up (module loading)
    // counts neither in wall time nor in CPU time; group join and rebalance do count.
    const deadline = Date.now() + 600_000;
    let cpu0 = 0;
    for (;;) {
      const scrapes = await Promise.all(instances.map((i) => scrape(i.port)));
      if (scrapes.every((m) => m.size > 0)) {
        cpu0 = scrapes.reduce((a, m) => a + sum(m, 'kubetriage_process_cpu_seconds_total'), 0);
        break;
      }
      if (Date.now() > deadline) throw new Error('instances did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    const t0 = performance.now();
    while (Date.now() < deadline) {
      const scrapes = await Promise.all(instances.map((i) => scrape(i.port)));
      // kubetriage_records_total counts Kafka records, i.e. batches.
      const consumed = scrapes.reduce((a, m) => a + sum(m, 'kubetriage_records_total'), 0);
      if (consumed >= batches) {
        const total = batches * SIZE;
        const seconds = (performance.now() - t0) / 1000;
        const cpu = scrapes.reduce((a, m) => a + sum(m, 'kubetriage_process_cpu_seconds_total'), 0) - cpu0;
        return { recPerSec: total / seconds, recPerCpuSec: total / cpu, seconds };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('end-to-end benchmark timed out');
  } finally {
    await stop(instances);
  }
}

/** A producer like the Collector's exporter (acks from the leader, lz4), record timestamp = send time. */
async function openProducer(): Promise<AckedProducer> {
  const p = new AckedProducer({
    'bootstrap.servers': testBrokers(),
    'compression.codec': 'lz4',
    'linger.ms': 5,
    log_level: 3,
  });
  await p.connect();
  return p;
}

function quantile(buckets: [number, number][], q: number): number {
  // Prometheus histogram_quantile: linear interpolation inside the bucket.
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const batches = opts.quick ? 20 : 150;
  const total = batches * SIZE;
  return withBroker(opts.log, async (brokers) => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-bench-e2e-'));
    const topic = unique('bench-logs');
    await createTopics([topic], 4);
    const stream = logsStream(batches, SIZE, 0.5);
    const mb = stream.reduce((a, b) => a + b.length, 0) / 1e6;
    opts.log(`producing ${batches} batches × ${SIZE} records (${mb.toFixed(1)} MB) to ${topic}`);
    await produce(
      topic,
      stream.map((value, i): RawRecord => ({ value, partition: i % 4 })),
      { compression: 'lz4' },
    );
    const rows: BenchRow[] = [];
    const chart: Chart = { title: 'End to end through Kafka: records/s', unit: 'records/s', groups: [] };
    const headline: Record<string, number> = {};
    for (const n of [1, 2]) {
      const r = await drain(n, brokers, topic, batches, dir);
      opts.log(`e2e ${n} instance(s): ${fmt(r.recPerSec)} rec/s, ${fmt(r.recPerCpuSec)} rec per CPU-second`);
      rows.push({
        case: `${n} instance${n > 1 ? 's' : ''}, pre-filled topic`,
        values: {
          records: total,
          seconds: Math.round(r.seconds * 100) / 100,
          'records/s': Math.round(r.recPerSec),
          'MB/s': Math.round((mb / r.seconds) * 100) / 100,
          'records / CPU-second': Math.round(r.recPerCpuSec),
        },
      });
      chart.groups.push({
        label: `${n} instance(s)`,
        bars: { 'records/s (wall)': r.recPerSec, 'records / CPU-second': r.recPerCpuSec },
      });
      headline[`instances${n}.recPerSec`] = Math.round(r.recPerSec);
      headline[`instances${n}.recPerCpuSec`] = Math.round(r.recPerCpuSec);
    }

    // Live phase: a steady producer, one instance with group_wait/group_interval 0, latency from the
    // record timestamp to the broker acknowledging the context (kubetriage_context_latency_seconds).
    const liveTopic = unique('bench-live');
    await createTopics([liveTopic], 2);
    const contexts = unique('bench-contexts');
    const f = join(dir, 'live.yaml');
    writeFileSync(
      f,
      stringify({
        log: { level: 'warn' },
        grouping: { groupWait: '0s', groupInterval: '0s', restore: false },
        kafka: {
          brokers: brokers.split(','),
          groupId: unique('live'),
          initialOffset: 'latest',
          topics: { logs: [liveTopic], contexts },
        },
      }),
    );
    const [inst] = await startInstances(1, f);
    const live = logsStream(opts.quick ? 20 : 60, 100, 0.5, 11);
    try {
      for (let i = 0; i < 200 && !(await scrape(inst!.port)).size; i++)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 3000));
      const producer = await openProducer();
      for (const value of live) {
        await producer.send({ topic: liveTopic, key: null, value });
        await new Promise((r) => setTimeout(r, 100));
      }
      await producer.disconnect();
      await new Promise((r) => setTimeout(r, 2000));
      const m = await scrape(inst!.port);
      const buckets: [number, number][] = [];
      for (const [k, v] of m) {
        const mm = /^kubetriage_context_latency_seconds_bucket\{le="([^"]+)"\}$/.exec(k);
        if (mm) buckets.push([mm[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(mm[1]), v]);
      }
      buckets.sort((a, b) => a[0] - b[0]);
      const p = (q: number) => Math.round(quantile(buckets, q) * 1000);
      rows.push({
        case: 'live: 10 batches/s × 100 records, 1 instance',
        values: {
          records: live.length * 100,
          'latency p50 ms': p(0.5),
          'latency p95 ms': p(0.95),
          'latency p99 ms': p(0.99),
        },
      });
      headline['live.p50Ms'] = p(0.5);
      headline['live.p99Ms'] = p(0.99);
      opts.log(
        `e2e live latency p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, p99 ${p(0.99)} ms (histogram estimate)`,
      );
    } finally {
      await stop([inst!]);
    }
    const perCore = headline['instances1.recPerCpuSec'] ?? 0;
    return {
      name: 'e2e',
      title: 'End to end through a real Kafka broker',
      method: `${batches} batches of ${SIZE} log records (k8s events, 50% re-deliveries, lz4) are produced to a 4-partition topic first; then \`kubetriage run\` processes (1, then 2 instances in one group, each a separate process) until /metrics counts every record. records/s is wall time from the first record to the last; records per CPU-second divides by the instances' own CPU time (the per-core figure; the broker's CPU is not counted). Latency: a steady producer and one instance with group_wait/group_interval 0; percentiles are estimated from the kubetriage_context_latency_seconds histogram (record timestamp → context acknowledged). On this 2-core machine the broker shares the cores.`,
      reproduce: 'node bench/e2e.ts',
      columns: [
        'records',
        'seconds',
        'records/s',
        'MB/s',
        'records / CPU-second',
        'latency p50 ms',
        'latency p95 ms',
        'latency p99 ms',
      ],
      rows,
      headline,
      targets: [
        {
          target: '≥ 300k log records/s per core through the broker (1000-record batches)',
          met: perCore >= 300_000,
          detail: `${fmt(perCore)} records per CPU-second`,
        },
      ],
      charts: [chart],
    };
  });
}

await runAlone(import.meta.url, run);
