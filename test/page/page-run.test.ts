// `kubetriage run` serves the incident page on its HTTP port: a real broker, a real `run` process; the
// incident its pipeline opens and the report its agents write appear on /incidents and /incidents/<id>.
// Needs KAFKA_BROKERS (`npm test` starts a broker); fails without one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { freePort } from '../harness/ports.ts';
import { consumeUntil, createTopics, produce, testTopics, unique, waitFor } from '../helpers/kafka.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

test('run: the incident and its triage report appear on the page served on the HTTP port', {
  timeout: 120_000,
}, async () => {
  const t = await testTopics(1);
  const triage = unique('triage');
  await createTopics([triage], 1);
  const now = Date.now();
  const pod = 'checkout-canary-6b7c8d9f4-q2zzz';
  const ev: K8sEvent = {
    namespace: 'shop',
    reason: 'BackOff',
    // Telemetry text is untrusted: it must reach the page escaped.
    message: `Back-off restarting failed container app in pod ${pod}_shop <script>alert(1)</script>`,
    type: 'Warning',
    object: { kind: 'Pod', name: pod },
    uid: 'bo-page-1',
    count: 3,
    atMs: now,
  };
  await produce(t.logs, [{ value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest([ev])) }]);
  const dir = mkdtempSync(join(tmpdir(), 'kt-run-page-'));
  const cfg = join(dir, 'kubetriage.yaml');
  writeFileSync(
    cfg,
    stringify({
      grouping: { groupWait: '1s', restore: false },
      enrich: { rules: { teams: [{ namespace: 'shop', team: 'shop-team' }] } },
      page: { externalUrl: 'https://kubetriage.example.com' },
      kafka: {
        groupId: t.group,
        topics: {
          logs: [t.logs],
          metrics: [t.metrics],
          traces: [t.traces],
          contexts: t.contexts,
          dlq: t.dlq,
          triage,
        },
      },
    }),
  );
  const port = await freePort();
  const stderr: string[] = [];
  const child = spawn(process.execPath, [BIN, 'run', '--config', cfg, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const base = `http://127.0.0.1:${port}`;
  try {
    const recs = await consumeUntil(triage, (r) => r.length >= 1, 60_000);
    const report = JSON.parse(recs[0]!.value!.toString()) as { incident: string; severity: string };
    let page = '';
    await waitFor(
      async () => {
        const res = await fetch(`${base}/incidents/${report.incident}`);
        page = await res.text();
        return res.status === 200 && page.includes(`sev-${report.severity}`);
      },
      20_000,
      `the incident page (stderr: ${stderr.join('').slice(-1500)})`,
    );
    assert.match(page, /Deployment shop\/checkout-canary/);
    assert.match(page, /shop-team/);
    assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the log text is escaped');
    assert.ok(!page.includes('<script>alert(1)'), 'never raw');
    const list = await (await fetch(`${base}/incidents?team=shop-team`)).text();
    assert.ok(list.includes(`href="/incidents/${report.incident}"`), list);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /kubetriage_page_views_total\{view="incident"\} [1-9]/);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr.join('').slice(-2000));
});
