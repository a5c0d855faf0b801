// Starts a real OpenTelemetry Collector (otelcol-kubetriage, built from the Go module proxy by
// scripts/otelcol/build.sh) for tests and benchmarks, on fresh loopback ports.
//
//   const col = await startCollector({ configYaml });
//   ... POST OTLP to col.otlpHttp + '/v1/logs', or gRPC to col.otlpGrpc ...
//   await col.metric('otelcol_exporter_sent_log_records');
//   await col.stop();
//
// The harness owns the network-facing parts of the config it is given: it rewrites the `otlp`
// receiver's endpoints (when the config has one) to free loopback ports, adds the `health_check`
// extension (readiness) and pulls the Collector's own metrics onto a free port (Prometheus text).
// Everything else in `configYaml` is used as written. The Collector logs to a file (`logFile`) in a
// temp dir that stop() removes unless asked to keep it (`stop({keep: true})`, or env
// KUBETRIAGE_OTELCOL_KEEP=1); a failed start keeps it and throws with the log's tail.
//
// Env: OTELCOL_BIN (use this binary, skip the build), KUBETRIAGE_CACHE (build cache, see build.sh).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { watchEnd } from './child.ts';
import { freePort, retryOnPortClash } from './ports.ts';

const here = import.meta.dirname ?? dirname(new URL(import.meta.url).pathname);
const REPO_ROOT = resolve(here, '..', '..');
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'otelcol', 'build.sh');
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export interface Collector {
  /** Base URL of the OTLP/HTTP receiver, e.g. `http://127.0.0.1:PORT` (POST `/v1/logs` …). */
  otlpHttp: string;
  /** OTLP/gRPC receiver address, `127.0.0.1:PORT`. */
  otlpGrpc: string;
  /** The Collector's own metrics (Prometheus text format). */
  metricsUrl: string;
  /** health_check extension endpoint (200 once the pipelines run). */
  healthUrl: string;
  pid: number;
  /** The Collector's stdout+stderr. */
  logFile: string;
  /** The effective config the Collector runs with. */
  configFile: string;
  /** Sum of a metric of the Collector's own telemetry over all series whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM, then SIGKILL after a grace period; removes the temp dir unless `keep`. Idempotent. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface StartCollectorOptions {
  /** Collector config (YAML). The otlp receiver's endpoints, if present, are replaced (see above). */
  configYaml: string;
  /** Binary to run (default: OTELCOL_BIN, else what scripts/otelcol/build.sh prints). */
  binary?: string;
  readyTimeoutMs?: number;
  /** Collector log level (service.telemetry.logs.level), default `info`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Progress messages (default: none). */
  log?: (s: string) => void;
}

/** Path of the Collector binary, building it first when needed (minutes on a cold cache). */
export function collectorBinary(log: (s: string) => void = () => {}): string {
  const fromEnv = process.env.OTELCOL_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`OTELCOL_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  log(`otelcol: ${BUILD_SCRIPT}`);
  // Progress (and, on failure, the reason) goes to our stderr: a cold build takes minutes.
  const res = spawnSync('bash', [BUILD_SCRIPT], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) {
    throw new Error(
      `scripts/otelcol/build.sh failed (exit ${res.status ?? res.signal}${res.error ? `, ${res.error.message}` : ''}); its output is on stderr above`,
    );
  }
  const path = res.stdout.trim().split('\n').pop() ?? '';
  if (!path || !existsSync(path)) throw new Error(`build.sh printed no usable binary path: "${res.stdout}"`);
  return path;
}

/** Whether a Collector can be had here: a binary already built/given, or go to build one. */
export function collectorAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.env.OTELCOL_BIN)
    return existsSync(process.env.OTELCOL_BIN)
      ? { ok: true }
      : { ok: false, why: `OTELCOL_BIN=${process.env.OTELCOL_BIN} does not exist` };
  const go = spawnSync(process.env.GO ?? 'go', ['version'], { encoding: 'utf8' });
  if (go.status === 0) return { ok: true };
  // No go: fine if build.sh's cache already holds an up-to-date binary.
  const res = spawnSync('bash', [BUILD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status === 0) return { ok: true };
  return {
    ok: false,
    why: 'no Collector binary built and no `go` on PATH to build one (scripts/otelcol/build.sh)',
  };
}

type Obj = Record<string, unknown>;

function obj(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  const fresh: Obj = {};
  parent[key] = fresh;
  return fresh;
}

interface Ports {
  grpc: number;
  http: number;
  health: number;
  metrics: number;
}

/** The config the Collector runs: the caller's, with loopback ports, health_check and telemetry. */
export function effectiveConfig(configYaml: string, ports: Ports, logLevel: string): string {
  const cfg = (parse(configYaml) ?? {}) as Obj;
  const receivers = obj(cfg, 'receivers');
  for (const [id, r] of Object.entries(receivers)) {
    if (id !== 'otlp' && !id.startsWith('otlp/')) continue;
    const protocols = obj((r ?? {}) as Obj, 'protocols');
    receivers[id] = { ...(r as Obj), protocols };
    // Null/empty means "enabled with defaults" in the Collector; keep a protocol only if listed.
    if ('grpc' in protocols)
      protocols.grpc = { ...((protocols.grpc as Obj) ?? {}), endpoint: `${HOST}:${ports.grpc}` };
    if ('http' in protocols)
      protocols.http = { ...((protocols.http as Obj) ?? {}), endpoint: `${HOST}:${ports.http}` };
  }
  obj(cfg, 'extensions').health_check = { endpoint: `${HOST}:${ports.health}` };
  const service = obj(cfg, 'service');
  const ext = Array.isArray(service.extensions) ? (service.extensions as string[]) : [];
  if (!ext.includes('health_check')) service.extensions = [...ext, 'health_check'];
  const telemetry = obj(service, 'telemetry');
  telemetry.logs = { ...obj(telemetry, 'logs'), level: logLevel };
  telemetry.metrics = {
    level: 'detailed',
    readers: [{ pull: { exporter: { prometheus: { host: HOST, port: ports.metrics } } } }],
  };
  return stringify(cfg);
}

// Children still running when this process exits are killed (a crashed test must not leak them).
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startCollector(opts: StartCollectorOptions): Promise<Collector> {
  const log = opts.log ?? (() => {});
  const binary = opts.binary ?? collectorBinary(log);
  return retryOnPortClash('otelcol', () => startOnce(binary, opts, log), log);
}

async function startOnce(
  binary: string,
  opts: StartCollectorOptions,
  log: (s: string) => void,
): Promise<Collector> {
  const ports: Ports = {
    grpc: await freePort(),
    http: await freePort(),
    health: await freePort(),
    metrics: await freePort(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-otelcol-'));
  const configFile = join(dir, 'config.yaml');
  const logFile = join(dir, 'otelcol.log');
  writeFileSync(configFile, effectiveConfig(opts.configYaml, ports, opts.logLevel ?? 'info'));
  const fd = openSync(logFile, 'a');
  const child = spawn(binary, ['--config', `file:${configFile}`], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child);
  const end = watchEnd(child, () => live.delete(child));
  const healthUrl = `http://${HOST}:${ports.health}/`;
  const metricsUrl = `http://${HOST}:${ports.metrics}/metrics`;
  const tail = () => readFileSync(logFile, 'utf8').trim().split('\n').slice(-30).join('\n');

  let removed = false;
  const stop = async (o: { keep?: boolean } = {}): Promise<void> => {
    if (end.reason() === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await end.done;
      clearTimeout(timer);
    }
    if (!removed && !o.keep && process.env.KUBETRIAGE_OTELCOL_KEEP !== '1') {
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
  const started = Date.now();
  for (;;) {
    if (end.reason() !== undefined)
      throw new Error(`otelcol exited during start-up (${end.reason()}); ${logFile}:\n${tail()}`);
    try {
      const r = await fetch(healthUrl, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop({ keep: true });
      throw new Error(`otelcol not ready after ${Date.now() - started} ms; ${logFile}:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`otelcol: ready in ${Date.now() - started} ms (pid ${child.pid}, log ${logFile})`);

  return {
    otlpHttp: `http://${HOST}:${ports.http}`,
    otlpGrpc: `${HOST}:${ports.grpc}`,
    metricsUrl,
    healthUrl,
    pid: child.pid ?? 0,
    logFile,
    configFile,
    metric: async (name, labels = {}) => sumMetric(await (await fetch(metricsUrl)).text(), name, labels),
    stop,
  };
}

/**
 * Sums a metric in Prometheus text format over the series whose labels include `labels`. `name`
 * matches with or without the `_total` suffix counters get in the exposition.
 */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[1] !== name && m[1] !== `${name}_total`) continue;
    const got = new Map<string, string>();
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      got.set(lm[1]!, lm[2]!);
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}

let clockTicks: number | undefined;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (Linux). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "pid (comm) state".
  const ticks = Number(fields[11]) + Number(fields[12]);
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
  return ticks / clockTicks;
}
