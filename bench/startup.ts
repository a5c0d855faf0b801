// Start-up cost: CPU-seconds from spawn to ready for `kubetriage run` (HTTP /readyz answers 200: config
// loaded, Kafka producer and consumer connected, partitions assigned) and from spawn to exit for
// `kubetriage --help`, with Node's module compile cache off, cold (an empty cache directory: the
// first start writes it) and warm (what every later start of the same install finds); beside it the
// build-step variant (scripts/build-js.ts: JavaScript emitted once into dist/) with the cache off and warm.
// Run alone: node bench/startup.ts [--quick]   (starts a broker unless KAFKA_BROKERS is set)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildJs } from '../scripts/build-js.ts';
import { processCpuSeconds } from '../test/harness/otelcol.ts';
import { freePort } from '../test/harness/ports.ts';
import { createTopics, unique } from '../test/helpers/kafka.ts';
import { withBroker } from './lib/kafka.ts';
import { MIN_ROUNDS, type Spread, spread } from './lib/measure.ts';
import type { BenchOptions, BenchResult, BenchRow } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

const BIN = new URL('../bin/kubetriage.js', import.meta.url).pathname;
const DIST = new URL('../dist/', import.meta.url).pathname;
const DIST_BIN = join(DIST, 'bin/kubetriage.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type CacheMode = 'off' | 'cold' | 'warm';

/** The child's environment for a cache mode; `warmDir` already holds a cache from an earlier start. */
function cacheEnv(mode: CacheMode, warmDir: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_COMPILE_CACHE;
  if (mode === 'off') env.KUBETRIAGE_COMPILE_CACHE = 'off';
  else env.KUBETRIAGE_COMPILE_CACHE = mode === 'warm' ? warmDir : mkdtempSync(join(tmpdir(), 'kt-cc-cold-'));
  return env;
}

/** `kubetriage --help`: user+system CPU of the child from spawn to exit (bash's `times`). */
function helpCpu(env: NodeJS.ProcessEnv): { cpu: number; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" --help >/dev/null && times`], {
    env,
    encoding: 'utf8',
  });
  const seconds = (performance.now() - t0) / 1000;
  // `times` prints the shell's then its children's user and system time: "0m0.512s 0m0.100s".
  const children = r.stdout.trim().split('\n').at(-1) ?? '';
  const m = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((x) => Number(x[1]) * 60 + Number(x[2]));
  if (m.length !== 2) throw new Error(`could not read the child's CPU time from ${JSON.stringify(r.stdout)}`);
  return { cpu: m[0]! + m[1]!, seconds };
}

/** `kubetriage run` on an empty topic: CPU (/proc, all threads) from spawn to /readyz 200. */
async function runCpu(
  env: NodeJS.ProcessEnv,
  brokers: string,
  topic: string,
  dir: string,
  extra: Record<string, unknown> = {},
  bin = BIN,
): Promise<{ cpu: number; seconds: number }> {
  const config = join(dir, `${unique('startup')}.yaml`);
  writeFileSync(
    config,
    stringify({
      log: { level: 'error' },
      grouping: { restore: false },
      ...extra,
      kafka: { brokers: brokers.split(','), groupId: unique('bench-startup'), topics: { logs: [topic] } },
    }),
  );
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, 'run', '--config', config, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return { cpu: processCpuSeconds(child.pid!), seconds: (performance.now() - t0) / 1000 };
      if (child.exitCode !== null) throw new Error(`kubetriage run exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('kubetriage run did not become ready');
      await sleep(20);
    }
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const rounds = MIN_ROUNDS;
  const dir = mkdtempSync(join(tmpdir(), 'kt-bench-startup-'));
  const warmDir = join(dir, 'compile-cache');
  const distWarmDir = join(dir, 'compile-cache-dist');
  // The deployed shape of exec (dry-run, in-cluster settings: exec active, ledger and API routes): the
  // server is never asked during start-up, so @kubernetes/client-node must not load before ready.
  const tokenFile = join(dir, 'token');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(tokenFile, 'bench-token');
  writeFileSync(caFile, 'not read before the first request');
  const inCluster = {
    exec: {
      kube: { url: 'https://127.0.0.1:1', tokenFile, caFile },
      audit: { file: join(dir, 'audit.jsonl') },
    },
  };
  const distModules = buildJs(DIST);
  opts.log(`startup: ${distModules} modules emitted as JavaScript into dist/ (scripts/build-js.ts)`);
  try {
    return await withBroker(opts.log, async (brokers) => {
      const topic = unique('bench-startup');
      await createTopics([topic], 4);
      // Fill the warm cache once for both commands.
      helpCpu(cacheEnv('cold', warmDir));
      helpCpu({ ...process.env, KUBETRIAGE_COMPILE_CACHE: warmDir });
      await runCpu({ ...process.env, KUBETRIAGE_COMPILE_CACHE: warmDir }, brokers, topic, dir);
      await runCpu(cacheEnv('warm', distWarmDir), brokers, topic, dir, {}, DIST_BIN);
      const modes: CacheMode[] = ['off', 'cold', 'warm'];
      const help = new Map<CacheMode, { cpu: number; seconds: number }[]>(modes.map((m) => [m, []]));
      const runs = new Map<CacheMode, { cpu: number; seconds: number }[]>(modes.map((m) => [m, []]));
      // exec is on by default and its API client needs @kubernetes/client-node at start (~0.45 CPU-s).
      const noExec: { cpu: number; seconds: number }[] = [];
      const execInCluster: { cpu: number; seconds: number }[] = [];
      const dist = new Map<CacheMode, { cpu: number; seconds: number }[]>([
        ['off', []],
        ['warm', []],
      ]);
      // Modes interleaved round by round, so drift on the shared machine hits them alike.
      for (let round = 0; round < rounds; round++)
        for (const mode of modes) {
          help.get(mode)!.push(helpCpu(cacheEnv(mode, warmDir)));
          runs.get(mode)!.push(await runCpu(cacheEnv(mode, warmDir), brokers, topic, dir));
          if (mode === 'warm') {
            noExec.push(
              await runCpu(cacheEnv(mode, warmDir), brokers, topic, dir, { exec: { enabled: false } }),
            );
            execInCluster.push(await runCpu(cacheEnv(mode, warmDir), brokers, topic, dir, inCluster));
          }
          if (mode !== 'cold')
            dist
              .get(mode)!
              .push(await runCpu(cacheEnv(mode, distWarmDir), brokers, topic, dir, {}, DIST_BIN));
          opts.log(
            `startup round ${round + 1} cache ${mode}: --help ${help.get(mode)!.at(-1)!.cpu.toFixed(2)} CPU-s, run → ready ${runs.get(mode)!.at(-1)!.cpu.toFixed(2)} CPU-s`,
          );
        }
      const rows: BenchRow[] = [];
      const headline: Record<string, number> = {};
      const cpu: Record<string, Spread> = {};
      for (const [what, data] of [
        ['--help', help],
        ['run → ready', runs],
      ] as const)
        for (const mode of modes) {
          const c = spread(data.get(mode)!.map((x) => x.cpu));
          const s = spread(data.get(mode)!.map((x) => x.seconds));
          cpu[`${what} ${mode}`] = c;
          rows.push({
            case: `kubetriage ${what}, compile cache ${mode}`,
            values: {
              'CPU-seconds': round3(c.median),
              'CPU min–max': `${round3(c.min)}–${round3(c.max)}`,
              'wall seconds': round3(s.median),
              rounds: c.rounds,
            },
          });
          headline[`${what === '--help' ? 'help' : 'run'}.${mode}.CpuSeconds`] = round3(c.median);
        }
      const extraRow = (label: string, key: string, data: { cpu: number; seconds: number }[]) => {
        const c = spread(data.map((x) => x.cpu));
        cpu[key] = c;
        rows.push({
          case: label,
          values: {
            'CPU-seconds': round3(c.median),
            'CPU min–max': `${round3(c.min)}–${round3(c.max)}`,
            'wall seconds': round3(spread(data.map((x) => x.seconds)).median),
            rounds: c.rounds,
          },
        });
        headline[`run.${key}.CpuSeconds`] = round3(c.median);
      };
      extraRow('kubetriage run → ready, exec.enabled false, compile cache warm', 'warmNoExec', noExec);
      extraRow(
        'kubetriage run → ready, exec dry-run with in-cluster settings (url, token and CA files), compile cache warm',
        'warmExecInCluster',
        execInCluster,
      );
      extraRow('dist/ (scripts/build-js.ts) run → ready, compile cache off', 'distOff', dist.get('off')!);
      extraRow('dist/ (scripts/build-js.ts) run → ready, compile cache warm', 'distWarm', dist.get('warm')!);
      const ready = cpu['run → ready warm']!;
      return {
        name: 'startup',
        title: 'Start-up: CPU-seconds from spawn to ready',
        method:
          '`kubetriage --help` (spawn → exit, user+system CPU from bash `times`) and `kubetriage run` on an empty 4-partition topic ' +
          '(spawn → /readyz 200, i.e. config, Kafka producer and consumer connected and partitions assigned; utime+stime from /proc, all threads), ' +
          `${rounds} rounds with the modes interleaved. Compile cache (bin/kubetriage.js, node:module enableCompileCache): off ` +
          '(KUBETRIAGE_COMPILE_CACHE=off), cold (a new empty directory each start: the start writes the cache) and warm (a directory ' +
          'an earlier start filled: every start after the first on one install). Also: exec dry-run with in-cluster settings ' +
          '(exec active; the API server is not asked before the first approval), and the build step (scripts/build-js.ts emits ' +
          'dist/ once with node:module stripTypeScriptTypes; node dist/bin/kubetriage.js) with the cache off and warm.',
        reproduce: 'node bench/startup.ts',
        columns: ['CPU-seconds', 'CPU min–max', 'wall seconds', 'rounds'],
        rows,
        headline,
        targets: [
          {
            target: 'start-up to ready under 0.5 CPU-seconds (`kubetriage run`, compile cache warm)',
            met: ready.median < 0.5,
            detail: `${round3(ready.median)} CPU-s warm; ${round3(cpu['run → ready off']!.median)} CPU-s with the cache off; exec in-cluster settings ${round3(cpu.warmExecInCluster!.median)}; dist/ ${round3(cpu.distWarm!.median)} warm, ${round3(cpu.distOff!.median)} cache off`,
            goal: '< 0.5 CPU-s',
            measured: ready,
          },
        ],
        charts: [
          {
            title: 'Start-up CPU-seconds by compile cache',
            unit: 'CPU-seconds',
            groups: (['--help', 'run → ready'] as const).map((what) => ({
              label: what,
              bars: Object.fromEntries(modes.map((m) => [`cache ${m}`, cpu[`${what} ${m}`]!.median])),
            })),
          },
        ],
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

await runAlone(import.meta.url, run);
