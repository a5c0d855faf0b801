import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { formatCaptureLine } from '../../src/stream/capture.ts';
import { assertValidReport } from '../agents/report-schema.ts';
import { POD_ATTRS, span, tracesRecord } from '../helpers/otlp.ts';
import { assertValidContext } from '../helpers/schema.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

function capture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kt-replay-'));
  const lines: string[] = [];
  let offset = 0;
  for (let minute = 0; minute < 12; minute++) {
    const at = T0 + minute * 60_000;
    const events: K8sEvent[] = [];
    for (let i = 0; i < 20; i++) {
      events.push({
        namespace: 'shop',
        reason: minute < 6 ? 'BackOff' : 'Unhealthy',
        message: 'Back-off restarting failed container app',
        type: 'Warning',
        object: {
          kind: 'Pod',
          name: `api-7d9f8c6b5-p${'bcdf'[i % 4]}xkz`,
          fieldPath: 'spec.containers{app}',
        },
        uid: `e-${i % 4}-${minute < 6}`,
        count: minute * 5 + (i % 5) + 1,
        atMs: at + i * 1000,
      });
    }
    const value = encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events));
    lines.push(
      formatCaptureLine({
        topic: 'otlp_logs',
        partition: minute % 2,
        offset: offset++,
        timestamp: at + 30_000,
        key: null,
        headers: {},
        value,
      }),
    );
    const spans = tracesRecord([
      {
        attrs: POD_ATTRS('shop', 'web', 'web-5f4d8b7c9-zzzzz'),
        spans: [span({ name: 'GET /', kind: 2, startMs: at, durationMs: 10, httpStatus: 502 })],
      },
    ]);
    lines.push(
      formatCaptureLine({
        topic: 'otlp_spans',
        partition: 0,
        offset: offset++,
        timestamp: at + 31_000,
        key: null,
        headers: {},
        value: spans,
      }),
    );
  }
  lines.push(
    formatCaptureLine({
      topic: 'otlp_logs',
      partition: 0,
      offset: offset++,
      timestamp: T0 + 999_000,
      key: null,
      headers: {},
      value: Buffer.from([0x0a, 0xff, 0x01]),
    }),
  );
  const f = join(dir, 'capture.ndjson');
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

describe('kubetriage replay', () => {
  it('is deterministic: the same capture twice gives byte-identical output', async () => {
    const input = capture();
    const a = await run(process.execPath, [BIN, 'replay', '--input', input]);
    const b = await run(process.execPath, [BIN, 'replay', '--input', input]);
    assert.ok(a.stdout.length > 1000);
    assert.equal(a.stdout, b.stdout);
    const all = a.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const docs = all.filter((d) => d.schema === 'kubetriage.io/incident-context/v1');
    for (const d of docs) assertValidContext(d);
    // After the contexts: one triage report per incident, for its latest revision, in first-seen order.
    const reports = all.slice(docs.length);
    const firstSeen = [...new Set(docs.map((d) => d.id))];
    assert.deepEqual(
      reports.map((r) => r.incident),
      firstSeen,
    );
    for (const r of reports) {
      const latest = docs.filter((d) => d.id === r.incident).at(-1);
      assertValidReport(r, latest);
      assert.equal(r.engine, 'rules');
    }
    const ids = new Set(docs.map((d) => d.id));
    assert.equal(ids.size, 2, 'api and web incidents');
    // The corrupt record was dead-lettered, not fatal, and said so on stderr.
    assert.match(a.stderr, /DECODE_TRUNCATED/);
    // End of input flushes every incident's latest state.
    const api = docs.filter((d) => d.scope.workload.name === 'api').at(-1);
    assert.ok(api.evidence.length >= 8);
    // Revisions of one incident count up from 1 without gaps.
    const revs = docs.filter((d) => d.id === api.id).map((d) => d.revision);
    assert.deepEqual(
      revs,
      revs.map((_: number, i: number) => i + 1),
    );
  });

  it('writes to --output and exits non-zero with a one-line reason on a bad capture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-replay-bad-'));
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(
      bad,
      '{"topic":"otlp_logs","partition":0,"offset":0,"timestamp":1,"key":null,"headers":{},"value":"AAA"}\n',
    );
    await assert.rejects(
      run(process.execPath, [BIN, 'replay', '--input', bad]),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.equal(err.stderr.trim().split('\n').length, 1);
        assert.match(err.stderr, /bad\.ndjson:1: "value" must be a base64 string/);
        return true;
      },
    );
    await assert.rejects(
      run(process.execPath, [BIN, 'replay', '--input', join(dir, 'missing.ndjson')]),
      /Cannot read capture/,
    );

    const out = join(dir, 'out.ndjson');
    await run(process.execPath, [BIN, 'replay', '--input', capture(), '--output', out]);
    assert.ok(readFileSync(out, 'utf8').split('\n').length > 2);
  });
});
