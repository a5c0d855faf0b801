// Regression (issue 14, defect 6): `./run test` silently skipped a third of the security tests on a
// fresh machine — the kube-apiserver suites printed "SKIPPED" when the binaries were not built (only
// .ci/run built them), and the Collector suite skipped too. Now a missing binary FAILS the suite with
// the reason and the command that builds it; `npm test`/`./run test` build everything first with the
// script .ci/run uses; and the test command says how many tests ran per real part.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PARTS, partsOf } from '../../scripts/test-parts-reporter.ts';

const exec = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
/** The environment of a nested `node --test` (without the marker that makes it refuse to run files). */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

async function nodeTest(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(process.execPath, ['--test', '--test-reporter=spec', ...args], {
      cwd: ROOT,
      env: childEnv(env),
      timeout: 120_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('tests never skip for a missing real part', () => {
  for (const file of ['test/enrich/apiserver.test.ts', 'test/exec/exec-kube.test.ts']) {
    it(`${file} without kube-apiserver binaries fails, naming the build command`, async () => {
      const r = await nodeTest([file], { KUBETRIAGE_KUBE_APISERVER: '/nonexistent/kube-apiserver' });
      assert.notEqual(r.code, 0, r.out.slice(-2000));
      assert.match(
        r.out,
        /\/nonexistent\/kube-apiserver not found: build it once with `bash scripts\/kube\/build-apiserver\.sh`/,
      );
      assert.doesNotMatch(r.out, /ℹ skipped [1-9]/);
    });
  }

  it('the Collector suite without a Collector fails, naming the build command', async () => {
    const r = await nodeTest(['test/e2e/collector.test.ts'], { OTELCOL_BIN: '/nonexistent/otelcol' });
    assert.notEqual(r.code, 0, r.out.slice(-2000));
    assert.match(
      r.out,
      /OTELCOL_BIN=\/nonexistent\/otelcol does not exist; build it with `bash scripts\/otelcol\/build\.sh`/,
    );
    assert.doesNotMatch(r.out, /ℹ skipped [1-9]/);
  });

  it('the Alertmanager suite without an Alertmanager fails, naming the build command', async () => {
    const r = await nodeTest(['test/notify/alertmanager.test.ts'], { ALERTMANAGER_BIN: '/nonexistent/am' });
    assert.notEqual(r.code, 0, r.out.slice(-2000));
    assert.match(
      r.out,
      /ALERTMANAGER_BIN=\/nonexistent\/am does not exist; build it with `bash scripts\/alertmanager\/build\.sh`/,
    );
    assert.doesNotMatch(r.out, /ℹ skipped [1-9]/);
  });

  it('the incident page suite without Chromium fails, naming the install command', async () => {
    const r = await nodeTest(['test/page/page-render.test.ts'], {
      KUBETRIAGE_CHROMIUM: '/nonexistent/chromium',
    });
    assert.notEqual(r.code, 0, r.out.slice(-2000));
    assert.match(
      r.out,
      /\/nonexistent\/chromium not found: install Debian's chromium once with `sudo apt-get install -y chromium`/,
    );
    assert.doesNotMatch(r.out, /ℹ skipped [1-9]/);
  });
});

describe('one preparation script for .ci/run, ./run test and npm test', () => {
  it('.ci/run and the test command both run scripts/prepare-test-parts.sh', () => {
    assert.match(readFileSync(`${ROOT}.ci/run`, 'utf8'), /^scripts\/prepare-test-parts\.sh$/m);
    assert.match(readFileSync(`${ROOT}scripts/test.ts`, 'utf8'), /scripts\/prepare-test-parts\.sh/);
    // ./run test is npm test, which is scripts/test.ts.
    assert.match(readFileSync(`${ROOT}run`, 'utf8'), /test\) shift; exec npm test -- "\$@"/);
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: { test: string } };
    assert.equal(pkg.scripts.test, 'node scripts/test.ts');
  });

  it('prepares every part (cached here) and fails with the reason when one cannot be had', async () => {
    const ok = await exec('bash', ['scripts/prepare-test-parts.sh'], { cwd: ROOT, timeout: 60_000 });
    for (const part of [
      'Kafka broker jars',
      'kube-apiserver + etcd',
      'OpenTelemetry Collector',
      'Ollama',
      'Ollama model',
      'Alertmanager',
    ])
      assert.match(
        ok.stderr,
        new RegExp(`\\[prepare\\] ${part.replace(/[+()]/g, '\\$&')}[^:]*: ready`),
        ok.stderr,
      );
    await assert.rejects(
      exec('bash', ['scripts/prepare-test-parts.sh'], {
        cwd: ROOT,
        env: { ...process.env, KAFKA_VERSION: 'bad version!' },
        timeout: 60_000,
      }),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(
          err.stderr,
          /Kafka broker jars: FAILED \(exit 2\); the tests need it\. .*bash scripts\/kafka\/fetch-broker\.sh/,
        );
        return true;
      },
    );
  });
});

describe('the test command reports the tests that ran per real part', () => {
  it('maps files to parts through their local imports', () => {
    assert.deepEqual([...partsOf(`${ROOT}test/exec/exec-kube.test.ts`)].sort(), ['kube-apiserver']);
    assert.ok(partsOf(`${ROOT}test/e2e/collector.test.ts`).has('Collector'));
    assert.ok(partsOf(`${ROOT}test/e2e/collector.test.ts`).has('Kafka'));
    assert.ok(partsOf(`${ROOT}test/e2e/ollama.test.ts`).has('Ollama'));
    assert.deepEqual([...partsOf(`${ROOT}test/notify/alertmanager.test.ts`)], ['Alertmanager']);
    assert.deepEqual([...partsOf(`${ROOT}test/core/redact.test.ts`)], []);
  });

  it('prints one line per part before node’s summary, flagging a part with skips or no tests', async () => {
    const r = await exec(
      process.execPath,
      [
        '--test',
        `--test-reporter=${ROOT}scripts/test-parts-reporter.ts`,
        'test/harness/fixtures/parts-sample.ts',
      ],
      { cwd: ROOT, env: childEnv(), timeout: 60_000 },
    );
    const lines = r.stdout.trimEnd().split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    assert.ok(at(/^✖ real part Kafka: 1 tests ran \(0 failed, 1 skipped, 1 todo\)$/) >= 0, r.stdout);
    for (const p of PARTS.filter((x) => x.name !== 'Kafka'))
      assert.ok(at(new RegExp(`^✖ real part ${p.name}: 0 tests ran`)) >= 0, `${p.name}: ${r.stdout}`);
    // Before node's own summary, which still ends the output.
    assert.ok(at(/real part Ollama/) < at(/^ℹ tests 3$/), r.stdout);
    assert.match(lines.at(-1)!, /^ℹ duration_ms /);
  });
});
