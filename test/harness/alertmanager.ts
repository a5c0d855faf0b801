// Starts a real Alertmanager (built from the Go module proxy by scripts/alertmanager/build.sh) for tests,
// on a free loopback port, with its own storage folder and no cluster gossip.
//
//   const am = await startAlertmanager({ configYaml });
//   ... POST am.url + '/api/v2/alerts' ..., GET am.url + '/api/v2/alerts'
//   await am.stop();
//
// A missing binary is built (about a minute cold); a build that fails fails the test with the command
// that builds it: never a skip. The process runs in its own process group, stopped as a group.
// Env: ALERTMANAGER_BIN (use this binary, skip the build), KUBETRIAGE_CACHE (build cache, see build.sh).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { watchEnd } from './child.ts';
import { freePort, retryOnPortClash } from './ports.ts';

const here = import.meta.dirname ?? dirname(new URL(import.meta.url).pathname);
const BUILD_SCRIPT = join(resolve(here, '..', '..'), 'scripts', 'alertmanager', 'build.sh');
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export interface Alertmanager {
  /** Base URL, e.g. http://127.0.0.1:PORT (API under /api/v2). */
  url: string;
  pid: number;
  logFile: string;
  /** GET /api/v2/alerts (all states unless filtered by the query, e.g. `filter=team="payments"`). */
  alerts(query?: string): Promise<GettableAlert[]>;
  /** POST /api/v2/silences; returns the silence id. */
  silence(
    matchers: { name: string; value: string; isRegex?: boolean; isEqual?: boolean }[],
    minutes?: number,
  ): Promise<string>;
  /** SIGTERM to the process group, SIGKILL after a grace period; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  generatorURL?: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
  receivers: { name: string }[];
}

/** The binary's path, building it when needed; throws (with the build command) when it cannot be had. */
export function alertmanagerBinary(): string {
  const fromEnv = process.env.ALERTMANAGER_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new Error(
        `ALERTMANAGER_BIN=${fromEnv} does not exist; build it with \`bash scripts/alertmanager/build.sh\``,
      );
    return fromEnv;
  }
  const res = spawnSync('bash', [BUILD_SCRIPT], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const path = res.stdout?.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !path || !existsSync(path))
    throw new Error(
      `Alertmanager binary missing and its build failed (exit ${res.status ?? res.signal}${res.error ? `, ${res.error.message}` : ''}); build it with: bash scripts/alertmanager/build.sh`,
    );
  return path;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.pid) killGroup(c.pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function startAlertmanager(opts: {
  configYaml: string;
  binary?: string;
  log?: (s: string) => void;
}): Promise<Alertmanager> {
  const log = opts.log ?? (() => {});
  const binary = opts.binary ?? alertmanagerBinary();
  return retryOnPortClash('alertmanager', () => startOnce(binary, opts.configYaml, log), log);
}

async function startOnce(
  binary: string,
  configYaml: string,
  log: (s: string) => void,
): Promise<Alertmanager> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-alertmanager-'));
  const configFile = join(dir, 'alertmanager.yml');
  const logFile = join(dir, 'alertmanager.log');
  writeFileSync(configFile, configYaml);
  const fd = openSync(logFile, 'a');
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${HOST}:${port}`,
      '--cluster.listen-address=', // no gossip: a single, private instance
      '--log.level=debug',
    ],
    { stdio: ['ignore', fd, fd], detached: true },
  );
  closeSync(fd);
  live.add(child);
  const end = watchEnd(child, () => live.delete(child));
  const url = `http://${HOST}:${port}`;
  const tail = () => readFileSync(logFile, 'utf8').trim().split('\n').slice(-30).join('\n');

  let removed = false;
  const stop = async (): Promise<void> => {
    if (end.reason() === undefined && child.pid) {
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), STOP_GRACE_MS);
      await end.done;
      clearTimeout(timer);
    }
    if (!removed) {
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const started = Date.now();
  for (;;) {
    if (end.reason() !== undefined) {
      const why = `alertmanager exited during start-up (${end.reason()}):\n${tail()}`;
      await stop();
      // The log says so when the port was taken between freePort() and the bind.
      throw new Error(why);
    }
    try {
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > READY_TIMEOUT_MS) {
      const why = `alertmanager not ready after ${Date.now() - started} ms:\n${tail()}`;
      await stop();
      throw new Error(why);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`alertmanager: ready in ${Date.now() - started} ms (pid ${child.pid})`);

  return {
    url,
    pid: child.pid ?? 0,
    logFile,
    alerts: async (query = '') => {
      const r = await fetch(`${url}/api/v2/alerts${query ? `?${query}` : ''}`);
      if (!r.ok) throw new Error(`GET /api/v2/alerts: ${r.status} ${await r.text()}`);
      return (await r.json()) as GettableAlert[];
    },
    silence: async (matchers, minutes = 60) => {
      const now = Date.now();
      const r = await fetch(`${url}/api/v2/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          matchers: matchers.map((m) => ({ isRegex: false, isEqual: true, ...m })),
          startsAt: new Date(now - 1000).toISOString(),
          endsAt: new Date(now + minutes * 60_000).toISOString(),
          createdBy: 'kubetriage-test',
          comment: 'test silence',
        }),
      });
      if (!r.ok) throw new Error(`POST /api/v2/silences: ${r.status} ${await r.text()}`);
      return ((await r.json()) as { silenceID: string }).silenceID;
    },
    stop,
  };
}
