// Robust start-up: the contexts topic read back on start (grouping.restore) may hold anything — junk,
// another tool's JSON, a newer kubetriage's documents, a context with a broken field. Each is skipped
// with a metric and a log line; `run` starts and becomes ready instead of crash-looping.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { contextShapeProblem } from '../../src/stream/incidents/context-shape.ts';
import { brokers, produce, testTopics, waitFor } from '../helpers/kafka.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

/** A real context, as the pipeline writes it. */
function realContext(workload: string) {
  const t = testPipeline();
  const at = t.clock.now();
  t.feed(
    'otlp_logs',
    encodeOtlp(
      'ExportLogsServiceRequest',
      k8sEventsRequest([
        {
          namespace: 'shop',
          reason: 'BackOff',
          message: 'Back-off restarting failed container',
          type: 'Warning',
          object: { kind: 'Pod', name: `${workload}-7d9f8c6b5-x2kqz` },
          uid: `e-${workload}`,
          count: 1,
          atMs: at,
        },
      ]),
    ),
  );
  t.clock.advance(at + 60_000);
  t.pipeline.tick();
  const doc = t.docs.at(-1);
  assert.ok(doc);
  return doc;
}

function metric(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('start-up with unusable records in the contexts topic', () => {
  it('the shape check accepts what the pipeline writes', () => {
    assert.equal(contextShapeProblem(realContext('api')), undefined);
  });

  it('regression: junk, foreign, wrong-version and malformed contexts are skipped and counted; run becomes ready', {
    timeout: 120_000,
  }, async () => {
    const t = await testTopics(1);
    const good = realContext('api');
    const other = realContext('web');
    const ts = Date.now();
    await produce(
      t.contexts,
      [
        { value: Buffer.from('\u0000\u0001 not json {') },
        { value: Buffer.from(JSON.stringify({ hello: 'world', id: 'inc-1' })) },
        { value: Buffer.from(JSON.stringify({ ...other, schema: 'kubetriage.io/incident-context/v2' })) },
        // The right schema, no scope: restore used to throw on it and `run` exited at every start.
        { value: Buffer.from(JSON.stringify({ ...other, scope: undefined })) },
        { value: Buffer.from(JSON.stringify({ ...other, evidence: [{ key: 1 }] })) },
        { key: other.id, value: null },
        { key: good.id, value: Buffer.from(JSON.stringify(good)) },
      ].map((r) => ({ ...r, timestamp: ts })),
    );

    const dir = mkdtempSync(join(tmpdir(), 'kt-restore-'));
    const configFile = join(dir, 'kubetriage.yaml');
    writeFileSync(
      configFile,
      stringify({
        log: { level: 'info' },
        kafka: {
          brokers: brokers().split(','),
          groupId: t.group,
          topics: {
            logs: [t.logs],
            metrics: [t.metrics],
            traces: [t.traces],
            contexts: t.contexts,
            dlq: t.dlq,
          },
        },
      }),
    );
    const log: string[] = [];
    const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '--config', configFile, '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    let exitCode: number | null | undefined;
    child.once('exit', (code) => {
      exitCode = code;
    });
    try {
      let address = '';
      await waitFor(
        async () => {
          if (exitCode !== undefined)
            throw new Error(`run exited with ${exitCode}:\n${log.join('').slice(-3000)}`);
          address = /"address":"([^"]+)"/.exec(log.join(''))?.[1] ?? '';
          if (!address) return false;
          return (await fetch(`${address}/readyz`)).status === 200;
        },
        60_000,
        'run to become ready',
      );
      const text = await (await fetch(`${address}/metrics`)).text();
      const skipped = (reason: string) =>
        metric(text, 'kubetriage_restore_skipped_total', { topic: t.contexts, reason });
      assert.equal(skipped('not_json'), 1);
      assert.equal(skipped('foreign'), 1);
      assert.equal(skipped('wrong_version'), 1);
      assert.equal(skipped('malformed'), 2);
      assert.equal(skipped('empty'), 1);
      const all = log.join('');
      assert.equal(all.match(/skipped a record of the contexts topic/g)?.length, 6, 'one log line each');
      assert.match(all, /"restored":1\b/, 'the valid context is restored');
    } finally {
      child.kill('SIGTERM');
      if (exitCode === undefined) await new Promise((r) => child.once('exit', r));
    }
  });
});
