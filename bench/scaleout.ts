// Scale-out through a real broker: what the repartition hop costs. A pre-filled 4-partition topic of
// N batches × 1000 log records (50 workloads) is consumed to acknowledged contexts by `kubetriage
// run` processes: today's single-process path (scaleOut off, 1 instance), then scale-out mode with 1,
// 2 and 3 instances (ingest → signals topic keyed by incident scope → owners → contexts + changelog).
// The figure is log records per CPU-second of the kubetriage processes (the broker not counted).
// Run alone: node bench/scaleout.ts [--quick]   (starts a broker unless KAFKA_BROKERS is set)
// SCALEOUT_BATCHES=600 streams more; SCALEOUT_ROUNDS=5 measures every case that many times (median,
// min and max; the cases alternate within a round, so load on a shared machine hits them alike);
// SCALEOUT_CASES=single,1,2,3,1page picks cases; SCALEOUT_THREADS=1 logs CPU by thread;
// SCALEOUT_WARM=1 lets the groups settle before the stream is produced (steady state, no join churn).
// Marginal (steady-state) figure: each case also drains a medium stream, the first
// SCALEOUT_SHORT_BATCHES batches (default a third of SCALEOUT_BATCHES: 100 of 300), with fresh
// processes; marginal = (N_long − N_medium) ÷ (CPU_long − CPU_medium). Both streams are long enough
// that joining, partition set-up and JIT warm-up happen inside both, so the difference is the CPU of
// records processed by warm processes. SCALEOUT_MARGINAL=0 leaves it out. With several instances
// and no SCALEOUT_WARM, the group may settle (members joining, eager rebalances, partitions rebuilt
// elsewhere) inside the long stream but after the medium one is done, so the marginal then includes
// the join; SCALEOUT_WARM=1 gives the steady state of settled groups (SCALEOUT_THREADS=1 prints, per
// member, the input records, groups applied, restores and contexts that show how the work was spread).
// NODE_OPTIONS='--cpu-prof --cpu-prof-dir=DIR' profiles the kubetriage processes (they inherit it);
// NODE_OPTIONS=--max-semi-space-size=16 runs them as the chart does (values.yaml nodeOptions): with
// Node's defaults a fresh process's large young generation costs the V8 GC threads more per record
// while it warms up, which three short-lived processes pay three times (README, "Scaling out").
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { validateConfig } from '../src/core/config.ts';
import { OffsetLedger } from '../src/stream/offsets.ts';
import { SignalSplitter } from '../src/stream/scaleout/ingest.ts';
import { PartitionOwner } from '../src/stream/scaleout/partition-owner.ts';
import { NamePatternResolver } from '../src/stream/workload.ts';
import { freePort } from '../test/harness/ports.ts';
import { createTopics, produce, type RawRecord, unique } from '../test/helpers/kafka.ts';
import { logsStream } from './lib/fixtures.ts';
import { withBroker } from './lib/kafka.ts';
import { fmt } from './lib/measure.ts';
import type { BenchOptions, BenchResult, BenchRow, Chart } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

const BIN = new URL('../bin/kubetriage.js', import.meta.url).pathname;
const SIZE = 1000;
const INPUT_PARTITIONS = 4;
const SIGNALS_PARTITIONS = 12;

interface Instance {
  child: ChildProcess;
  port: number;
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

const sum = (ms: Map<string, number>[], prefix: string) =>
  ms.reduce((a, m) => {
    let s = 0;
    for (const [k, v] of m) if (k.startsWith(prefix)) s += v;
    return a + s;
  }, 0);

async function stop(instances: Instance[]): Promise<void> {
  await Promise.all(
    instances.map(
      (i) =>
        new Promise<void>((resolve) => {
          i.child.once('exit', () => resolve());
          i.child.kill('SIGTERM');
          setTimeout(() => i.child.kill('SIGKILL'), 20_000).unref();
        }),
    ),
  );
}

interface DrainResult {
  recPerCpuSec: number;
  recPerSec: number;
  signalBytesPerRecord: number;
  /** CPU-seconds of all instances while measured. */
  cpu: number;
}

/** One measured run: `n` instances, scale-out or not, on the pre-filled topic. */
async function drain(
  n: number,
  scaleOut: boolean,
  brokers: string,
  topic: string,
  batches: number,
  dir: string,
  pageFromKafka = false,
  /** Warm groups: the topic starts empty and these are produced once every member holds its partitions. */
  warmInput?: RawRecord[],
): Promise<DrainResult> {
  const group = unique('bench-group');
  const f = join(dir, `${group}.yaml`);
  writeFileSync(
    f,
    stringify({
      log: { level: 'warn' },
      // The hop alone: the incident page's Kafka feed (page.source auto, on with scale-out) is measured
      // as a case of its own, since it reads every context back whatever the hop costs.
      page: { source: pageFromKafka ? 'kafka' : 'local' },
      grouping: { groupWait: '1s', groupInterval: '1s', restore: false },
      kafka: {
        brokers: brokers.split(','),
        groupId: group,
        topics: { logs: [topic], contexts: unique('bench-contexts') },
        batchSize: 2000,
      },
      scaleOut: {
        enabled: scaleOut,
        partitions: SIGNALS_PARTITIONS,
        topics: { signals: unique('bench-signals'), changelog: unique('bench-changelog') },
      },
    }),
  );
  const instances: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    instances.push({
      child: spawn(process.execPath, [BIN, 'run', '--config', f, '--port', String(port)], {
        stdio: ['ignore', 'ignore', 'ignore'],
      }),
      port,
    });
  }
  try {
    // Clocks start once every instance answers: process start-up does not count; joining does.
    const deadline = Date.now() + 900_000;
    let cpu0 = 0;
    let threads0: Map<string, number>[] = [];
    for (;;) {
      const s = await Promise.all(instances.map((i) => scrape(i.port)));
      if (s.every((m) => m.size > 0)) {
        cpu0 = sum(s, 'kubetriage_process_cpu_seconds_total');
        if (process.env.SCALEOUT_THREADS) threads0 = instances.map((i) => threadCpu(i.child.pid));
        break;
      }
      if (Date.now() > deadline) throw new Error('instances did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    if (warmInput) {
      // Steady state: the groups settle first (eager rebalances as members join re-read records), then
      // the stream arrives. Owners create a partition's state on its first record, so there is nothing
      // to poll: members that start together have joined well within the broker's initial rebalance delay
      // (3 s) plus a round trip or two.
      await new Promise((r) => setTimeout(r, 8000));
      const s = await Promise.all(instances.map((i) => scrape(i.port)));
      cpu0 = sum(s, 'kubetriage_process_cpu_seconds_total');
      if (process.env.SCALEOUT_THREADS) threads0 = instances.map((i) => threadCpu(i.child.pid));
      await produce(topic, warmInput, { compression: 'lz4' });
    }
    const t0 = performance.now();
    let doneOnce = false;
    while (Date.now() < deadline) {
      const s = await Promise.all(instances.map((i) => scrape(i.port)));
      const consumed = sum(s, 'kubetriage_records_total');
      // Scale-out: done when every signals record acknowledged has also been applied by its owner.
      const produced = sum(s, 'kubetriage_scaleout_signal_records_total');
      const owned = sum(s, 'kubetriage_scaleout_owner_records_total');
      const done = consumed >= batches && (!scaleOut || (produced > 0 && owned >= produced));
      if (done && doneOnce) {
        if (process.env.SCALEOUT_THREADS)
          instances.forEach((i, k) => {
            logThreads(i.child.pid, threads0[k]!, threadCpu(i.child.pid));
            // Where each member's work went: input records, signals groups applied, restores, contexts.
            const m = s[k]!;
            const one = (prefix: string) => sum([m], prefix);
            process.stderr.write(
              `  member ${i.child.pid}: input records ${one('kubetriage_records_total')}, groups applied ${one('kubetriage_scaleout_owner_groups_total{result="applied"}')}, duplicate ${one('kubetriage_scaleout_owner_groups_total{result="duplicate"}')}, restores ${one('kubetriage_scaleout_restores_total')}, contexts ${one('kubetriage_scaleout_contexts_total') + one('kubetriage_contexts_emitted_total')}, signals records produced ${one('kubetriage_scaleout_signal_records_total')}\n`,
            );
          });
        const total = batches * SIZE;
        const cpu = sum(s, 'kubetriage_process_cpu_seconds_total') - cpu0;
        return {
          recPerCpuSec: total / cpu,
          cpu,
          recPerSec: total / ((performance.now() - t0) / 1000),
          signalBytesPerRecord: sum(s, 'kubetriage_scaleout_signal_bytes_total') / total,
        };
      }
      doneOnce = done;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('scale-out benchmark timed out');
  } finally {
    await stop(instances);
  }
}

/** A run on groups that settled first: a fresh input topic each time, filled once they hold their partitions. */
async function warmDrain(
  n: number,
  scaleOut: boolean,
  brokers: string,
  stream: Buffer[],
  batches: number,
  dir: string,
  pageFromKafka?: boolean,
): ReturnType<typeof drain> {
  const topic = unique('bench-logs-warm');
  await createTopics([topic], INPUT_PARTITIONS);
  const input = stream.map((value, i): RawRecord => ({ value, partition: i % INPUT_PARTITIONS }));
  return drain(n, scaleOut, brokers, topic, batches, dir, pageFromKafka, input);
}

/** Linux only, for finding where CPU goes: CPU seconds per thread name (main, rdk:*, V8 workers, libuv). */
function threadCpu(pid: number | undefined): Map<string, number> {
  const by = new Map<string, number>();
  const tick = 100;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    } catch {
      continue; // The thread ended between the listing and the read (a V8 or librdkafka worker).
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '#');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    by.set(name, (by.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / tick);
  }
  return by;
}

function logThreads(pid: number | undefined, before: Map<string, number>, after: Map<string, number>): void {
  const d = [...after].map(([k, v]): [string, number] => [k, v - (before.get(k) ?? 0)]);
  const text = d
    .sort((a, b) => b[1] - a[1])
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`);
  process.stderr.write(`CPU-s by thread of ${pid} while measured: ${text.join(', ')}\n`);
}

/**
 * What an owner's restore re-reads per second: the stream's signals records applied muted to one
 * partition owner, in this process (no broker: the fetch is librdkafka's, the rest is this).
 */
function rereadRate(stream: Buffer[]): number {
  const config = validateConfig({ kafka: { topics: { logs: ['bench'] } }, scaleOut: { partitions: 1 } });
  const splitter = new SignalSplitter(config, new NamePatternResolver(), 1);
  // One signals record per input record: what ingest produces when each consumed batch holds one.
  const signals: Buffer[] = [];
  stream.forEach((v, i) => {
    splitter.split({ topic: 'bench', partition: 0, offset: i, timestamp: 1_800_000_000_000 + i }, v);
    const record = splitter.take(0);
    if (record) signals.push(record);
  });
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const owner = new PartitionOwner({
      config,
      resolver: new NamePatternResolver(),
      signals: new OffsetLedger().partition('signals', 0),
      sink: () => {},
      trackHold: () => {},
    });
    const cpu0 = process.cpuUsage();
    signals.forEach((v, o) => {
      owner.apply(o, v, true);
    });
    const cpu = process.cpuUsage(cpu0);
    best = Math.max(best, (stream.length * SIZE) / ((cpu.user + cpu.system) / 1e6));
  }
  return best;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s[Math.floor((s.length - 1) / 2)]! / 2 + s[Math.ceil((s.length - 1) / 2)]! / 2;
};

export async function run(opts: BenchOptions): Promise<BenchResult> {
  // SCALEOUT_BATCHES: a longer stream, where one-off costs (JIT, group joins, partition set-up) weigh less.
  const batches = Number(process.env.SCALEOUT_BATCHES) || (opts.quick ? 30 : 300);
  const total = batches * SIZE;
  // The steady-state cost per record: each case also drains a medium stream (SCALEOUT_SHORT_BATCHES, a
  // third by default: 100 of 300; SCALEOUT_MARGINAL=0 skips it) right after the long one, and
  // (N_long − N_medium) ÷ (CPU_long − CPU_medium) is what warm processes spend per record: joining both
  // groups, partition set-up and JIT warm-up (the pipeline compiles within its first few batches) are
  // inside both streams and cancel out.
  const marginal = process.env.SCALEOUT_MARGINAL !== '0';
  const shortBatches = Number(process.env.SCALEOUT_SHORT_BATCHES) || Math.max(1, Math.round(batches / 3));
  if (marginal && shortBatches >= batches)
    throw new Error(`SCALEOUT_SHORT_BATCHES (${shortBatches}) must be below SCALEOUT_BATCHES (${batches})`);
  return withBroker(opts.log, async (brokers) => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-bench-scaleout-'));
    const topic = unique('bench-logs');
    const shortTopic = unique('bench-logs-short');
    await createTopics([topic, shortTopic], INPUT_PARTITIONS);
    const stream = logsStream(batches, SIZE, 0.5);
    opts.log(`producing ${batches} batches × ${SIZE} records to ${topic}`);
    const records = stream.map((value, i): RawRecord => ({ value, partition: i % INPUT_PARTITIONS }));
    await produce(topic, records, { compression: 'lz4' });
    if (marginal) await produce(shortTopic, records.slice(0, shortBatches), { compression: 'lz4' });
    const rows: BenchRow[] = [];
    const chart: Chart = { title: 'Log records per CPU-second', unit: 'records / CPU-second', groups: [] };
    const headline: Record<string, number> = {};
    const all: [string, string, number, boolean, boolean?][] = [
      ['single', 'single process (scaleOut off)', 1, false],
      ['1', 'scale-out, 1 instance', 1, true],
      ['2', 'scale-out, 2 instances', 2, true],
      ['3', 'scale-out, 3 instances', 3, true],
      // What scale-out runs by default besides the hop: page.source auto reads the contexts back.
      ['1page', 'scale-out, 1 instance, page.source kafka', 1, true, true],
    ];
    const picked = process.env.SCALEOUT_CASES?.split(',');
    const cases = all.filter(([id]) => !picked || picked.includes(id));
    const rounds = Math.max(1, Number(process.env.SCALEOUT_ROUNDS) || 1);
    const warm = process.env.SCALEOUT_WARM === '1';
    const runs = new Map<string, DrainResult[]>();
    const margins = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++)
      for (const [id, label, n, so, page] of cases) {
        const r = warm
          ? await warmDrain(n, so, brokers, stream, batches, dir, page)
          : await drain(n, so, brokers, topic, batches, dir, page);
        runs.set(id, [...(runs.get(id) ?? []), r]);
        let m = '';
        if (marginal) {
          const short = warm
            ? await warmDrain(n, so, brokers, stream.slice(0, shortBatches), shortBatches, dir, page)
            : await drain(n, so, brokers, shortTopic, shortBatches, dir, page);
          const perCpuSec = ((batches - shortBatches) * SIZE) / (r.cpu - short.cpu);
          margins.set(id, [...(margins.get(id) ?? []), perCpuSec]);
          m = `, marginal ${fmt(perCpuSec)} records per CPU-second (${batches} − ${shortBatches} batches: ${r.cpu.toFixed(2)} − ${short.cpu.toFixed(2)} CPU-s)`;
        }
        opts.log(
          `round ${round + 1}, ${label}: ${fmt(r.recPerCpuSec)} records per CPU-second, ${fmt(r.recPerSec)} records/s${m}`,
        );
      }
    for (const [id, label] of cases) {
      const rs = runs.get(id) ?? [];
      const cpu = rs.map((r) => r.recPerCpuSec).sort((a, b) => a - b);
      const ms = (margins.get(id) ?? []).sort((a, b) => a - b);
      const r = {
        recPerCpuSec: median(cpu),
        recPerSec: median(rs.map((x) => x.recPerSec)),
        signalBytesPerRecord: rs[0]?.signalBytesPerRecord ?? 0,
      };
      rows.push({
        case: label,
        values: {
          records: total,
          rounds: rs.length,
          'records / CPU-second': Math.round(r.recPerCpuSec),
          'min–max': `${Math.round(cpu[0] ?? 0)}–${Math.round(cpu[cpu.length - 1] ?? 0)}`,
          'marginal records / CPU-second': ms.length ? Math.round(median(ms)) : '',
          'marginal min–max': ms.length ? `${Math.round(ms[0]!)}–${Math.round(ms[ms.length - 1]!)}` : '',
          'records/s': Math.round(r.recPerSec),
          'signals bytes / record': Math.round(r.signalBytesPerRecord * 10) / 10,
        },
      });
      chart.groups.push({ label, bars: { 'records / CPU-second': r.recPerCpuSec } });
      const name = id === 'single' ? 'single' : `scaleOut${id}`;
      headline[`${name}.recPerCpuSec`] = Math.round(r.recPerCpuSec);
      if (ms.length) headline[`${name}.marginalRecPerCpuSec`] = Math.round(median(ms));
    }
    const reread = rereadRate(stream);
    opts.log(`owner re-read (restore, in process): ${fmt(reread)} records per CPU-second`);
    rows.push({
      case: 'owner re-read on restore (in process, muted)',
      values: { records: total, 'records / CPU-second': Math.round(reread) },
    });
    headline['restore.rereadRecPerCpuSec'] = Math.round(reread);
    // Cost per record relative to today's path: CPU per record is the inverse of records per CPU-second.
    const verdict = (metric: string, what: string) => {
      const base = headline[`single.${metric}`] ?? 0;
      const worst = Math.min(
        ...[1, 2, 3].map((n) => headline[`scaleOut${n}.${metric}`] ?? Number.POSITIVE_INFINITY),
      );
      const extra = base > 0 && worst > 0 && Number.isFinite(worst) ? base / worst - 1 : Number.NaN;
      return {
        extra,
        target: {
          target: `the repartition hop costs at most 25% more CPU per record than the single-process path (${what})`,
          met: extra <= 0.25,
          detail: `${fmt(base)} records per CPU-second single-process, ${fmt(worst)} in the slowest scale-out case: ${Math.round(extra * 100)}% more CPU per record`,
        },
      };
    };
    const totalVerdict = verdict('recPerCpuSec', `all CPU while measured / records, ${batches} batches`);
    headline['hop.extraCpuPerRecordShare'] = Math.round(totalVerdict.extra * 1000) / 1000;
    const targets = [totalVerdict.target];
    if (marginal) {
      const m = verdict(
        'marginalRecPerCpuSec',
        `marginal, steady state: CPU of ${batches} batches minus CPU of ${shortBatches}, per extra record`,
      );
      headline['hop.marginalExtraCpuPerRecordShare'] = Math.round(m.extra * 1000) / 1000;
      targets.push(m.target);
    }
    return {
      name: 'scaleout',
      title: 'Scale-out: the repartition hop',
      method: `${batches} batches of ${SIZE} log records (k8s events over 50 workloads, 50% re-deliveries, lz4) are produced to a ${INPUT_PARTITIONS}-partition topic first; then \`kubetriage run\` processes consume them to acknowledged contexts: today's single-process path, then scale-out mode (signals topic of ${SIGNALS_PARTITIONS} partitions) with 1, 2 and 3 instances, each a separate process. Records per CPU-second divides the log records by the instances' own CPU time (user + system, librdkafka threads included, start-up excluded; the broker's CPU is not counted).${marginal ? ` The marginal (steady-state) figure: each case also drains the first ${shortBatches} batches (a topic of their own) with fresh processes, and divides the ${batches - shortBatches} × ${SIZE} extra records by the extra CPU; both streams are long enough that joining, partition set-up and JIT warm-up happen inside both, so it is the CPU per record of warm processes.` : ''} On this 2-core machine the broker and other work share the cores, so records/s is indicative only. The instances ran with NODE_OPTIONS ${process.env.NODE_OPTIONS ? `\`${process.env.NODE_OPTIONS}\`` : "unset (Node's defaults; the chart runs them with --max-semi-space-size=16)"}${warm ? '; settled groups (SCALEOUT_WARM=1)' : ''}.`,
      reproduce: 'node bench/scaleout.ts',
      columns: [
        'records',
        'rounds',
        'records / CPU-second',
        'min–max',
        ...(marginal ? ['marginal records / CPU-second', 'marginal min–max'] : []),
        'records/s',
        'signals bytes / record',
      ],
      rows,
      headline,
      targets,
      charts: [chart],
    };
  });
}

await runAlone(import.meta.url, run);
