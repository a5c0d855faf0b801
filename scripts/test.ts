// The project's test command: `node scripts/test.ts [node --test args and/or files]`.
//
// First builds or fetches every real part the suite runs against (scripts/prepare-test-parts.sh, the
// script .ci/run uses; cached, well under a second on a machine that has them): no test skips for a
// missing binary, and one that cannot be had fails here with the reason. The default reporter is
// node's spec plus, before node's summary lines, how many tests ran per real part
// (scripts/test-parts-reporter.ts).
//
// Uses the Kafka cluster named by KAFKA_BROKERS when set; otherwise starts a real
// single-node broker (test/harness/kafka-broker.ts) and sets KAFKA_BROKERS for the
// test processes. Then runs `node --test` over the given files (default: every
// test/**/*.test.ts), streams its output, always stops the broker, and exits with
// the test run's exit code.
//
// Env: KAFKA_BROKERS (use an existing cluster), KAFKA_VERSION (broker version to fetch),
// TEST_CONCURRENCY (node --test-concurrency, default 1), KUBETRIAGE_KAFKA_KEEP=1 (keep
// the broker's temp dir and log after the run).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, globSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { KafkaBroker } from '../test/harness/kafka-broker.ts';
import { startKafkaBroker } from '../test/harness/kafka-broker.ts';

const here = import.meta.dirname ?? dirname(new URL(import.meta.url).pathname);
const ROOT = resolve(here, '..');
const DEFAULT_PATTERN = 'test/**/*.test.ts';

const say = (s: string): void => {
  process.stderr.write(`[test] ${s}\n`);
};

function looksLikeFile(arg: string): boolean {
  return existsSync(arg) || /[*?/\\]/.test(arg) || /\.(?:[cm]?[jt]s)$/.test(arg);
}

function buildNodeArgs(argv: string[]): { args: string[]; files: string[] } {
  const flags: string[] = [];
  const files: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-') || !looksLikeFile(a)) flags.push(a);
    else files.push(a);
  }
  if (files.length === 0) {
    files.push(...globSync(DEFAULT_PATTERN, { cwd: ROOT }).sort());
  }
  const has = (name: string): boolean => flags.some((f) => f === name || f.startsWith(`${name}=`));
  const defaults: string[] = [];
  if (!has('--test-reporter'))
    defaults.push(`--test-reporter=${resolve(ROOT, 'scripts/test-parts-reporter.ts')}`);
  if (!has('--test-concurrency')) defaults.push(`--test-concurrency=${process.env.TEST_CONCURRENCY ?? '1'}`);
  return { args: ['--test', ...defaults, ...flags, ...files], files };
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? constants.signals[signal] : undefined;
  return n !== undefined ? 128 + n : 1;
}

async function main(): Promise<number> {
  const { args: nodeArgs, files } = buildNodeArgs(process.argv.slice(2));
  if (files.length === 0) {
    say(`no test files match ${DEFAULT_PATTERN}`);
    return 0;
  }

  let broker: KafkaBroker | undefined;
  let child: ChildProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;

  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted !== undefined) {
      say(`second ${sig}, exiting now`);
      process.exit(130);
    }
    interrupted = sig;
    say(`${sig}: stopping tests and broker`);
    if (child && child.exitCode === null) child.kill(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const t0 = performance.now();
  const prepared = spawnSync('bash', [resolve(ROOT, 'scripts/prepare-test-parts.sh')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (prepared.status !== 0) {
    say(
      `the real parts the tests need could not be prepared (scripts/prepare-test-parts.sh exit ${prepared.status ?? prepared.signal}); see above`,
    );
    return 1;
  }
  say(`real parts ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  try {
    let brokers = process.env.KAFKA_BROKERS;
    if (brokers) {
      say(`using existing kafka cluster KAFKA_BROKERS=${brokers}`);
    } else {
      const t0 = performance.now();
      say('starting a kafka broker (KAFKA_BROKERS not set)');
      try {
        broker = await startKafkaBroker({ log: (s) => say(s) });
      } catch (err) {
        say(`kafka broker failed to start: ${err instanceof Error ? err.message : String(err)}`);
        return 1;
      }
      brokers = broker.brokers;
      say(`kafka broker ready at ${brokers} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (interrupted !== undefined) return exitCodeOf(null, interrupted);

    const t1 = performance.now();
    const running = spawn(process.execPath, nodeArgs, {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, KAFKA_BROKERS: brokers },
    });
    child = running;
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => {
      running.once('error', (e) => {
        say(`could not run node --test: ${e.message}`);
        res([1, null]);
      });
      running.once('exit', (c, s) => res([c, s]));
    });
    const rc = exitCodeOf(code, signal);
    say(`tests finished with exit code ${rc} in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    return interrupted !== undefined && rc === 0 ? exitCodeOf(null, interrupted) : rc;
  } finally {
    if (broker) {
      const t2 = performance.now();
      await broker.stop();
      say(`kafka broker stopped in ${((performance.now() - t2) / 1000).toFixed(1)} s`);
    }
  }
}

process.exitCode = await main();
