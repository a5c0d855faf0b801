// `kubetriage run` and `kubetriage record` as an operator starts them: real processes, a real broker,
// real HTTP.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { parseCaptureLine } from '../../src/stream/capture.ts';
import { freePort } from '../harness/ports.ts';
import { brokers, produce, testTopics, waitFor } from '../helpers/kafka.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

function batch(pod: string, count: number): Buffer {
  return encodeOtlp(
    'ExportLogsServiceRequest',
    k8sEventsRequest([
      {
        namespace: 'shop',
        reason: 'BackOff',
        message: 'Back-off restarting failed container',
        type: 'Warning',
        object: { kind: 'Pod', name: pod },
        uid: `e-${pod}`,
        count,
        atMs: Date.now(),
      },
    ]),
  );
}

describe('kubetriage run', () => {
  it('serves /healthz, /readyz and /metrics, and exits 0 on SIGTERM after flushing', {
    timeout: 60_000,
  }, async () => {
    const t = await testTopics(1);
    await produce(t.logs, [{ value: batch('api-7d9f8c6b5-x2kqz', 1) }, { value: Buffer.from('{"oops":1}') }]);
    const dir = mkdtempSync(join(tmpdir(), 'kt-run-'));
    const cfg = join(dir, 'kubetriage.yaml');
    writeFileSync(
      cfg,
      stringify({
        grouping: { groupWait: '1h' },
        kafka: {
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
    const port = await freePort();
    const stderr: string[] = [];
    // Brokers come from KAFKA_BROKERS, as the reference Deployment passes them.
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'run', '--config', cfg, '--port', String(port)],
      {
        env: { ...process.env, KAFKA_BROKERS: brokers() },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await get(`${base}/readyz`)).status === 200, 30_000, '/readyz');
      assert.equal((await get(`${base}/healthz`)).status, 200);
      await waitFor(
        async () => /kubetriage_records_total\{signal="logs"\} 2/.test((await get(`${base}/metrics`)).body),
        20_000,
        'records counted',
      );
      const metrics = (await get(`${base}/metrics`)).body;
      assert.match(metrics, /kubetriage_decode_errors_total\{topic="[^"]+",code="DECODE_OTLP_JSON"\} 1/);
      assert.match(metrics, /kubetriage_incidents_open 1/);
      assert.match(metrics, /kubetriage_process_resident_memory_bytes/);
      // Every log line is a JSON object.
      for (const line of stderr.join('').trim().split('\n'))
        assert.doesNotThrow(() => JSON.parse(line), line);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0);
    // group_wait was an hour, so the context exists only because SIGTERM flushed it.
    assert.match(stderr.join(''), /shutting down: flushing and committing/);
  });

  it('refuses an invalid config with a message naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-run-bad-'));
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'kafka:\n  batchSize: -3\n');
    await assert.rejects(
      run(process.execPath, [BIN, 'run', '--config', cfg]),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /kafka\.batchSize/);
        return true;
      },
    );
  });
});

describe('kubetriage record', () => {
  it('captures topics into a capture file that replay reads', { timeout: 60_000 }, async () => {
    const t = await testTopics(2);
    await produce(t.logs, [
      { value: batch('api-7d9f8c6b5-x2kqz', 1), partition: 0, headers: [{ tenant: 'a' }] },
      { value: batch('api-7d9f8c6b5-x2kqz', 2), partition: 1 },
      { value: batch('web-5f4d8b7c9-bcdfx', 1), partition: 1, key: 'k1' },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'kt-record-'));
    const capture = join(dir, 'capture.ndjson');
    const r = await run(process.execPath, [
      BIN,
      'record',
      '--topics',
      t.logs,
      '--output',
      capture,
      '--brokers',
      brokers(),
    ]);
    assert.match(r.stderr, /wrote 3 records/);
    const lines = readFileSync(capture, 'utf8').trim().split('\n');
    const recs = lines.map((l, i) => parseCaptureLine(l, capture, i + 1));
    assert.equal(recs.length, 3);
    assert.deepEqual(recs.map((x) => `${x.partition}/${x.offset}`).sort(), ['0/0', '1/0', '1/1']);
    assert.equal(recs.find((x) => x.key)?.key?.toString(), 'k1');
    assert.equal(recs.find((x) => x.partition === 0)?.headers.tenant?.toString(), 'a');

    const cfg = join(dir, 'replay.yaml');
    writeFileSync(cfg, stringify({ kafka: { topics: { logs: [t.logs] } } }));
    const out = await run(process.execPath, [BIN, 'replay', '--input', capture, '--config', cfg]);
    const names = new Set(
      out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).scope.workload.name),
    );
    assert.deepEqual([...names].sort(), ['api', 'web']);
  });
});
