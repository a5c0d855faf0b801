// Starts a real, single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
// for tests. The jars come from Maven Central via scripts/kafka/fetch-broker.sh and are
// cached per version outside the repo; each broker gets fresh loopback ports and a fresh
// temp dir holding its config, data and log.
//
//   const kafka = await startKafkaBroker();
//   ... use kafka.brokers ("127.0.0.1:PORT") ...
//   await kafka.stop();
//
// Env: KAFKA_VERSION picks the default version; KUBETRIAGE_KAFKA_KEEP=1 keeps the temp
// dir (config, data, broker.log) after stop() for debugging.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePorts } from './ports.ts';

export type KafkaBroker = {
  /** Bootstrap address, "127.0.0.1:PORT". */
  brokers: string;
  /** The broker's temp dir: server.properties, broker.log, data/. */
  dataDir: string;
  /** SIGTERM, up to 20 s grace, then SIGKILL; removes dataDir. Idempotent. */
  stop(): Promise<void>;
  /** Fault injection: SIGKILL the JVM (a crashed or lost broker); its ports and data stay for restart(). */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and data after kill(); resolves once it answers. */
  restart(): Promise<void>;
  /**
   * Fault injection: SIGSTOP the JVM (a broker that hangs: connections stay open, nothing answers, so
   * requests time out); resume() answers again within milliseconds, where restart() takes a JVM start.
   */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
};

export type StartKafkaBrokerOptions = {
  /** Kafka version from Maven Central (default: env KAFKA_VERSION or 4.1.1). */
  version?: string;
  /** Progress messages (default: none). */
  log?: (s: string) => void;
  /** How long to wait for the broker to become ready (default 90 s). */
  readyTimeoutMs?: number;
};

const DEFAULT_VERSION = '4.1.1';
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 20_000;
const HOST = '127.0.0.1';

const here = import.meta.dirname ?? dirname(new URL(import.meta.url).pathname);
const REPO_ROOT = resolve(here, '..', '..');
const FETCH_SCRIPT = join(REPO_ROOT, 'scripts', 'kafka', 'fetch-broker.sh');

export async function startKafkaBroker(opts: StartKafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const version = opts.version ?? process.env.KAFKA_VERSION ?? DEFAULT_VERSION;
  const log = opts.log ?? (() => {});
  const libs = await fetchBroker(version, log);
  const java = javaBin();

  // Free ports found by binding port 0 can be taken by someone else before the JVM
  // binds them; retry with fresh ones when that is why the broker died.
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(java, libs, version, log, opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof PortInUseError)) throw err;
      log(`kafka: port already in use, retrying with fresh ports (attempt ${attempt})`);
    }
  }
  throw lastErr;
}

class PortInUseError extends Error {}

async function startOnce(
  java: string,
  libs: string,
  version: string,
  log: (s: string) => void,
  readyTimeoutMs: number,
): Promise<KafkaBroker> {
  const [port, controllerPort] = await freePorts(2);
  if (port === undefined || controllerPort === undefined) throw new Error('could not allocate ports');
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-kafka-'));
  const dataDir = join(dir, 'data');
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j2.properties');
  const brokerLog = join(dir, 'broker.log');
  const classpath = `${libs}/*`;

  writeFileSync(propsFile, serverProperties({ port, controllerPort, dataDir }));
  writeFileSync(log4jFile, LOG4J2_PROPERTIES);
  const jvmCommon = [
    `-Dlog4j2.configurationFile=${log4jFile}`,
    `-Dkafka.logs.dir=${dir}`,
    '-Djava.awt.headless=true',
  ];

  try {
    // Regression: a base64url id may start with '-', which kafka-storage's argument parser then takes
    // for an option ("argument --cluster-id/-t: expected one argument"). Kafka's own generator avoids it.
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    log(`kafka: formatting storage in ${dataDir} (cluster ${clusterId})`);
    const fmt = await runToFile(
      java,
      [
        ...jvmCommon,
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        propsFile,
        '--ignore-formatted',
      ],
      join(dir, 'format.log'),
      dir,
    );
    if (fmt !== 0) {
      throw new Error(`kafka storage format failed (exit ${fmt}):\n${tail(join(dir, 'format.log'))}`);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  log(`kafka: starting ${version} on ${HOST}:${port} (controller ${controllerPort}), log ${brokerLog}`);
  const jvmArgs = [
    '-Xms256m',
    '-Xmx512m',
    ...jvmCommon,
    `-Dkubetriage.kafka.dir=${dir}`,
    '-cp',
    classpath,
    'kafka.Kafka',
    propsFile,
  ];
  let jvm = spawnJvm(java, jvmArgs, dir, brokerLog);
  if (jvm.pid === undefined) {
    await jvm.exitPromise;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start ${java}: ${jvm.spawnError() ?? 'no pid'}`);
  }

  // Best effort against orphaned JVMs: SIGTERM it when this process exits, and a
  // detached watchdog finishes the job (and removes the dir) if we die without
  // running handlers at all (SIGKILL, crash).
  const onExit = (): void => {
    if (jvm.exited() === undefined && jvm.pid !== undefined) {
      try {
        process.kill(jvm.pid, 'SIGTERM');
      } catch {}
    }
  };
  process.on('exit', onExit);
  let watchdog = spawnWatchdog(process.pid, jvm.pid, dir);
  const stopWatchdog = (): void => {
    if (watchdog?.pid !== undefined && watchdog.exitCode === null) {
      try {
        process.kill(watchdog.pid, 'SIGTERM');
      } catch {}
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (jvm.exited() === undefined) {
        jvm.child.kill('SIGCONT'); // a paused JVM would hold SIGTERM until the grace ran out
        jvm.child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((res) => setTimeout(res, STOP_GRACE_MS, 'timeout').unref());
        if ((await Promise.race([jvm.exitPromise, timer])) === 'timeout') {
          log(`kafka: broker did not stop in ${STOP_GRACE_MS / 1000} s, killing it`);
          jvm.child.kill('SIGKILL');
          await jvm.exitPromise;
        }
      }
      process.removeListener('exit', onExit);
      stopWatchdog();
      if (process.env.KUBETRIAGE_KAFKA_KEEP === '1') {
        log(`kafka: keeping ${dir} (KUBETRIAGE_KAFKA_KEEP=1)`);
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  const kill = async (): Promise<void> => {
    if (stopping) throw new Error('kafka: kill() after stop()');
    if (jvm.exited() !== undefined) return;
    log('kafka: SIGKILL (fault injection)');
    jvm.child.kill('SIGKILL');
    await jvm.exitPromise;
  };

  const signal = (sig: 'SIGSTOP' | 'SIGCONT', what: string): void => {
    if (stopping) throw new Error(`kafka: ${what}() after stop()`);
    if (jvm.exited() !== undefined) throw new Error(`kafka: ${what}() while the broker is not running`);
    log(`kafka: ${sig} (fault injection)`);
    jvm.child.kill(sig);
  };
  const pause = (): void => signal('SIGSTOP', 'pause');
  const resume = (): void => signal('SIGCONT', 'resume');

  const restart = async (): Promise<void> => {
    if (stopping) throw new Error('kafka: restart() after stop()');
    if (jvm.exited() === undefined) throw new Error('kafka: restart() while the broker runs; kill() first');
    log(`kafka: restarting on ${HOST}:${port}`);
    stopWatchdog();
    jvm = spawnJvm(java, jvmArgs, dir, brokerLog);
    if (jvm.pid === undefined) {
      await jvm.exitPromise;
      throw new Error(`could not restart ${java}: ${jvm.spawnError() ?? 'no pid'}`);
    }
    watchdog = spawnWatchdog(process.pid, jvm.pid, dir);
    const logOffset = readText(brokerLog).length;
    const current = jvm;
    await waitReady({
      port,
      brokerLog,
      logOffset,
      timeoutMs: readyTimeoutMs,
      hasExited: () => current.exited(),
    });
  };

  try {
    const current = jvm;
    await waitReady({
      port,
      brokerLog,
      logOffset: 0,
      timeoutMs: readyTimeoutMs,
      hasExited: () => current.exited(),
    });
  } catch (err) {
    const logTail = tail(brokerLog);
    const exited = jvm.exited();
    await stop();
    if (exited !== undefined && /Address already in use|BindException/.test(logTail)) {
      throw new PortInUseError(`kafka could not bind its ports:\n${logTail}`);
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `kafka broker ${version} did not become ready: ${reason}\n--- tail of broker.log ---\n${logTail}`,
    );
  }

  return { brokers: `${HOST}:${port}`, dataDir: dir, stop, kill, restart, pause, resume };
}

interface Jvm {
  child: ChildProcess;
  pid: number | undefined;
  exitPromise: Promise<void>;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  spawnError(): string | undefined;
}

/** One broker JVM writing to brokerLog (appended: a restarted broker's log follows the first one's). */
function spawnJvm(java: string, args: string[], dir: string, brokerLog: string): Jvm {
  const logFd = openSync(brokerLog, 'a');
  let child: ChildProcess;
  try {
    child = spawn(java, args, { cwd: dir, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((res) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      res();
    });
    child.once('error', (e) => {
      spawnError = e;
      exited ??= { code: -1, signal: null };
      res();
    });
  });
  return {
    child,
    pid: child.pid,
    exitPromise,
    exited: () => exited,
    spawnError: () => spawnError?.message,
  };
}

function serverProperties(p: { port: number; controllerPort: number; dataDir: string }): string {
  const lines = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${p.controllerPort}`,
    `listeners=PLAINTEXT://${HOST}:${p.port},CONTROLLER://${HOST}:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${p.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${p.dataDir}`,
    'num.partitions=3',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'auto.create.topics.enable=true',
    'delete.topic.enable=true',
    // Internal topics: one replica, few partitions so they are created quickly.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=5',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=5',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'share.coordinator.state.topic.num.partitions=3',
    // Consumer groups rebalance immediately instead of waiting 3 s for more members.
    'group.initial.rebalance.delay.ms=0',
    // Small machine: fewer threads than the defaults.
    'num.network.threads=2',
    'num.io.threads=4',
    'background.threads=4',
    'log.cleaner.dedupe.buffer.size=8388608',
    '',
  ];
  return lines.join('\n');
}

// INFO for Kafka's own startup/shutdown messages (readiness looks for "Kafka Server
// started"), WARN for the chattier subsystems. log4j's shutdown hook is off so the
// broker's own shutdown messages still reach the log.
const LOG4J2_PROPERTIES = `status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.config.name = org.apache.kafka.common.config
logger.config.level = WARN
logger.kafkaconfig.name = kafka.server.KafkaConfig
logger.kafkaconfig.level = WARN
logger.logs.name = kafka.log
logger.logs.level = WARN
logger.storage.name = org.apache.kafka.storage
logger.storage.level = WARN
logger.utils.name = org.apache.kafka.common.utils
logger.utils.level = WARN
`;

async function waitReady(p: {
  port: number;
  brokerLog: string;
  /** Where this JVM's part of the log starts (a restart appends to the same file). */
  logOffset: number;
  timeoutMs: number;
  hasExited: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
}): Promise<void> {
  const deadline = Date.now() + p.timeoutMs;
  let started = false;
  let lastProbeErr = '';
  while (Date.now() < deadline) {
    const ex = p.hasExited();
    if (ex !== undefined) {
      throw new Error(`the JVM exited early (code ${ex.code}, signal ${ex.signal})`);
    }
    if (!started) {
      started = /Kafka Server started/.test(readText(p.brokerLog).slice(p.logOffset));
    }
    if (started) {
      try {
        await kafkaApiVersionsProbe(HOST, p.port, 2_000);
        return;
      } catch (err) {
        lastProbeErr = err instanceof Error ? err.message : String(err);
      }
    }
    await sleep(100);
  }
  throw new Error(
    `timed out after ${p.timeoutMs / 1000} s (` +
      (started
        ? `log says started, but ApiVersions failed: ${lastProbeErr}`
        : `no "Kafka Server started" in the log`) +
      ')',
  );
}

/**
 * Sends a Kafka ApiVersions (v0) request over a raw TCP socket and resolves with the
 * response's error code (0 = OK) once a well-formed response with our correlation id
 * arrives. Rejects on connect errors, malformed replies or timeout.
 */
export function kafkaApiVersionsProbe(host: string, port: number, timeoutMs = 5_000): Promise<number> {
  return new Promise((res, rej) => {
    const correlationId = Math.floor(Math.random() * 0x7fffffff);
    const clientId = Buffer.from('kubetriage-harness');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    let o = body.writeInt16BE(18, 0); // api_key ApiVersions
    o = body.writeInt16BE(0, o); // api_version
    o = body.writeInt32BE(correlationId, o);
    o = body.writeInt16BE(clientId.length, o);
    clientId.copy(body, o);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);

    const sock = new Socket();
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, code?: number): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) rej(err);
      else res(code ?? 0);
    };
    const timer = setTimeout(() => done(new Error(`ApiVersions to ${host}:${port} timed out`)), timeoutMs);
    sock.once('error', (e) => done(e));
    sock.once('close', () => done(new Error('connection closed before an ApiVersions response')));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const len = buf.readInt32BE(0);
      if (buf.length < 4 + len) return;
      if (len < 6) return done(new Error(`short ApiVersions response (${len} bytes)`));
      const cid = buf.readInt32BE(4);
      if (cid !== correlationId)
        return done(new Error(`correlation id mismatch (${cid} != ${correlationId})`));
      done(null, buf.readInt16BE(8));
    });
    sock.connect(port, host, () => sock.write(Buffer.concat([size, body])));
  });
}

/** Runs scripts/kafka/fetch-broker.sh and returns the libs dir it prints. */
function fetchBroker(version: string, log: (s: string) => void): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn('bash', [FETCH_SCRIPT, version], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const line of d.split('\n')) if (line.trim() !== '') log(line);
    });
    child.once('error', rej);
    child.once('close', (code) => {
      const libs = out.trim().split('\n').pop()?.trim() ?? '';
      if (code === 0 && libs !== '' && existsSync(libs)) res(libs);
      else rej(new Error(`fetch-broker.sh ${version} failed (exit ${code}):\n${err.slice(-4000)}`));
    });
  });
}

function javaBin(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

function runToFile(cmd: string, args: string[], logFile: string, cwd: string): Promise<number> {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', fd, fd] });
    return new Promise((res, rej) => {
      child.once('error', rej);
      child.once('exit', (code, signal) => res(code ?? (signal ? 128 : 1)));
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * A detached shell that outlives us: when our process is gone but the JVM is still
 * running (and is still ours: its command line names our temp dir), it sends SIGTERM,
 * then SIGKILL after the grace period, and removes the temp dir.
 */
function spawnWatchdog(parentPid: number, jvmPid: number, dir: string): ChildProcess | undefined {
  const script = `
    parent=$1 jvm=$2 dir=$3 grace=$4
    ours() { kill -0 "$jvm" 2>/dev/null && grep -qF -- "$dir" "/proc/$jvm/cmdline" 2>/dev/null; }
    while kill -0 "$parent" 2>/dev/null; do
      ours || exit 0
      sleep 1
    done
    if ours; then
      kill -TERM "$jvm" 2>/dev/null
      i=0
      while ours && [ "$i" -lt "$grace" ]; do sleep 1; i=$((i + 1)); done
      ours && kill -KILL "$jvm" 2>/dev/null
      sleep 1
    fi
    [ "\${KUBETRIAGE_KAFKA_KEEP:-}" = 1 ] || rm -rf -- "$dir"
  `;
  try {
    const w = spawn(
      'sh',
      ['-c', script, 'kafka-watchdog', String(parentPid), String(jvmPid), dir, String(STOP_GRACE_MS / 1000)],
      {
        detached: true,
        stdio: 'ignore',
      },
    );
    w.once('error', () => {});
    w.unref();
    return w;
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(file: string, lines = 40): string {
  const text = readText(file);
  if (text === '') return '(empty)';
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
