// The fault suite's view of `kubetriage run`: a real child process with its own config file, its
// stderr (JSON log lines) kept, and probes that hit its HTTP endpoints on a schedule and keep every
// answer with its latency, so a test can say how /healthz and /readyz behaved through a fault.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafka from '@confluentinc/kafka-javascript';
import { stringify } from 'yaml';
import { freePort } from '../harness/ports.ts';
import { waitFor } from '../helpers/kafka.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

export interface RunChild {
  child: ChildProcess;
  port: number;
  /** Where its config is, and its whole log once it has exited (run.log). */
  dir: string;
  /** stderr so far (JSON log lines). */
  log(): string;
  /** Resolves with the exit code (or 128 + signal number style string) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

/** Starts `kubetriage run` with `config` (its http.port is picked here) and waits until it consumes. */
export async function startRun(
  config: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): Promise<RunChild> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kt-fault-'));
  const file = join(dir, 'kubetriage.yaml');
  writeFileSync(file, stringify({ ...config, http: { host: '127.0.0.1', port } }));
  const child = spawn(process.execPath, [BIN, 'run', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  const chunks: string[] = [];
  child.stderr?.on('data', (d: Buffer) => chunks.push(d.toString()));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal });
    }),
  );
  const log = () => chunks.join('');
  // The whole log next to the config, for a failing test to point at.
  child.once('exit', () => writeFileSync(join(dir, 'run.log'), log()));
  await waitFor(
    () => {
      if (ended) throw new Error(`kubetriage run exited early:\n${log().slice(-3000)}`);
      return /"msg":"consuming"/.test(log());
    },
    60_000,
    'kubetriage run to start consuming',
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${log().slice(-3000)}`);
  });
  return { child, port, dir, log, exited, alive: () => !ended };
}

export interface Sample {
  /** When the request was sent (ms since epoch). */
  at: number;
  /** Milliseconds to the answer, or to the give-up (`status` 0). */
  ms: number;
  status: number;
  body?: Record<string, unknown>;
}

/** GETs `path` every `everyMs` (never two at once) until stopped; answers slower than 2 s count as failures. */
export function probe(port: number, path: string, everyMs: number): { samples: Sample[]; stop(): void } {
  const samples: Sample[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const at = Date.now();
      const t0 = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as Record<string, unknown>;
        samples.push({ at, ms: performance.now() - t0, status: res.status, body });
      } catch {
        samples.push({ at, ms: performance.now() - t0, status: 0 });
      }
      // Unref'd: a test that fails before stop() must not be kept alive by its probes.
      await new Promise((r) => setTimeout(r, everyMs).unref());
    }
  };
  void loop();
  return {
    samples,
    stop() {
      stopped = true;
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Sum of a Prometheus counter's or gauge's samples in /metrics text, by name (all label sets). */
export async function metricSum(port: number, name: string): Promise<number> {
  const text = await (
    await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })
  ).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The Collector's side: produces record after record at a steady rate, through outages (librdkafka buffers). */
export class SteadyProducer {
  readonly #producer: InstanceType<typeof kafka.HighLevelProducer>;
  readonly #topic: string;
  readonly #partitions: number;
  readonly #record: (i: number, atMs: number) => Buffer;
  #next = 0;
  #closed = false;
  #acked = 0;
  #failed: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Record i goes to partition i % partitions; `record(i, atMs)` makes its value. */
  constructor(
    brokers: string,
    topic: string,
    partitions: number,
    record: (i: number, atMs: number) => Buffer,
  ) {
    this.#topic = topic;
    this.#partitions = partitions;
    this.#record = record;
    this.#producer = new kafka.HighLevelProducer({
      'bootstrap.servers': brokers,
      'enable.idempotence': true,
      acks: 'all',
      'linger.ms': 5,
      log_level: 0,
    } as never);
  }
  async start(perSecond: number): Promise<void> {
    await new Promise<void>((res, rej) => this.#producer.connect({}, (e) => (e ? rej(e) : res())));
    this.#producer.setPollInterval(20);
    const start = Date.now() - 10 * 60_000;
    // Unref'd: a test that fails half-way must not be kept alive by its feed.
    this.#timer = setInterval(() => {
      for (let k = 0; k < perSecond / 10; k++) {
        const i = this.#next++;
        this.#producer.produce(
          this.#topic,
          i % this.#partitions,
          this.#record(i, start + i * 10),
          null,
          Date.now(),
          [] as never,
          ((err: Error | null) => {
            if (err) this.#failed.push(err.message);
            else this.#acked++;
          }) as never,
        );
      }
    }, 100);
    this.#timer.unref();
  }
  get produced(): number {
    return this.#next;
  }
  /** For after hooks: stops without waiting for acknowledgements (a failed test must still end). */
  close(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise<void>((res) => this.#producer.disconnect(() => res()));
  }

  async stop(): Promise<{ produced: number; acked: number; failed: string[] }> {
    clearInterval(this.#timer);
    await waitFor(
      () => this.#acked + this.#failed.length === this.#next,
      120_000,
      'every record acknowledged',
    );
    this.#closed = true;
    await new Promise<void>((res) => this.#producer.disconnect(() => res()));
    return { produced: this.#next, acked: this.#acked, failed: this.#failed };
  }
}

/** Rejections of `p` carry the tail of the run's log (and where the whole log is written on exit). */
export function withLog<T>(run: RunChild, p: Promise<T>): Promise<T> {
  return p.catch((err: Error) => {
    throw new Error(
      `${err.message}\n--- kubetriage run log (whole: ${run.dir}/run.log) ---\n${run.log().slice(-4000)}`,
    );
  });
}

/** The log end offset of each partition of `topic` (what "everything committed" means). */
export async function endOffsets(
  brokers: string,
  topic: string,
  partitions: number,
): Promise<Map<number, number>> {
  const consumer = new kafka.KafkaConsumer(
    { 'bootstrap.servers': brokers, 'group.id': `ends-${process.pid}`, log_level: 0 } as never,
    {},
  );
  await new Promise<void>((res, rej) => consumer.connect({}, (e) => (e ? rej(e) : res())));
  try {
    const out = new Map<number, number>();
    for (let p = 0; p < partitions; p++) {
      const w = await new Promise<{ highOffset: number }>((res, rej) =>
        consumer.queryWatermarkOffsets(topic, p, 10_000, (e, o) => (e ? rej(e) : res(o))),
      );
      out.set(p, w.highOffset);
    }
    return out;
  } finally {
    await new Promise<void>((res) => consumer.disconnect(() => res()));
  }
}
