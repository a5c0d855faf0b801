// `kubetriage replay --ollama URL` against the Ollama FAKE: the same capture, reports from the model.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TRIAGE_REPORT_SCHEMA } from '../../src/agents/report.ts';
import { FakeOllama } from './fake-ollama.ts';
import { assertValidReport } from './report-schema.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
const EXAMPLE = new URL('../../examples/checkout-rollout.ndjson', import.meta.url).pathname;

let fake: FakeOllama;
before(async () => {
  fake = new FakeOllama();
  await fake.start();
});
after(() => fake.close());

function reports(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((d) => d.schema === TRIAGE_REPORT_SCHEMA);
}

describe('kubetriage replay --ollama (Ollama fake)', () => {
  it('uses the model when asked to, and only then', async () => {
    fake.handler = (r) =>
      r.agent === 'triage'
        ? { content: { severity: 'SEV3', impact: 'checkout is degraded after a rollout' } }
        : { status: 500, text: 'only triage works today' };
    const { stdout } = await run(process.execPath, [
      BIN,
      'replay',
      '--input',
      EXAMPLE,
      '--ollama',
      fake.url,
      '--model',
      'fake:1b',
    ]);
    const [r] = reports(stdout);
    assertValidReport(r);
    assert.equal(r.engine, 'llm:fake:1b');
    assert.equal(r.severity, 'SEV3');
    assert.deepEqual(r.fallbacks, [{ agent: 'diagnosis', kind: 'http_error' }]);
    assert.equal(fake.calls(), 2, 'triage and diagnosis; the executor has no allowed action to choose from');

    const before = fake.calls();
    const plain = await run(process.execPath, [BIN, 'replay', '--input', EXAMPLE]);
    assert.equal(reports(plain.stdout)[0].engine, 'rules');
    assert.equal(fake.calls(), before, 'no --ollama, no call');
  });

  it('refuses a --ollama that is not a URL with one line', async () => {
    await assert.rejects(
      run(process.execPath, [BIN, 'replay', '--input', EXAMPLE, '--ollama', 'not a url']),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /--ollama not a url is not a URL/);
        return true;
      },
    );
  });
});
