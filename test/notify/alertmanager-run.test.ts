// `kubetriage run` with notify.alertmanager on: a real broker, a real `run` process, a real Alertmanager.
// The report the agents produce for a crash-looping canary reaches Alertmanager as an alert (the hook in
// run-command.ts), and the team's route delivers it to a webhook. Needs KAFKA_BROKERS (`npm test`
// starts a broker); fails without one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { type Alertmanager, startAlertmanager } from '../harness/alertmanager.ts';
import { freePort } from '../harness/ports.ts';
import { consumeUntil, createTopics, produce, testTopics, unique, waitFor } from '../helpers/kafka.ts';
import { gauge, metricsRecord } from '../helpers/otlp.ts';
import { sumMetric } from './metric-sum.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
let am: Alertmanager;
let hook: WebhookReceiver;

before(async () => {
  hook = await startWebhookReceiver();
  am = await startAlertmanager({
    configYaml: `route:
  receiver: fallback
  group_by: [incident]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - matchers: ['team="shop-team"']
      receiver: shop
receivers:
  - name: fallback
    webhook_configs: [{ url: '${hook.url}/fallback' }]
  - name: shop
    webhook_configs: [{ url: '${hook.url}/shop', send_resolved: true }]
`,
  });
});

after(async () => {
  await am?.stop();
  await hook?.close();
});

test('run: the triage report of a crash-looping canary fires in Alertmanager and reaches the team route', {
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
    message: `Back-off restarting failed container app in pod ${pod}_shop`,
    type: 'Warning',
    object: { kind: 'Pod', name: pod },
    uid: 'bo-am-1',
    count: 3,
    atMs: now,
  };
  await produce(t.metrics, [
    {
      value: metricsRecord([
        {
          attrs: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout-canary' },
          metrics: [gauge('k8s.deployment.desired', 8, now), gauge('k8s.deployment.available', 5, now)],
        },
      ]),
    },
  ]);
  await produce(t.logs, [{ value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest([ev])) }]);

  const dir = mkdtempSync(join(tmpdir(), 'kt-run-am-'));
  const cfg = join(dir, 'kubetriage.yaml');
  writeFileSync(
    cfg,
    stringify({
      cluster: 'test-cluster',
      grouping: { groupWait: '1s', restore: false },
      // The namespace's owner from a team rule (what Alertmanager routes on).
      enrich: { rules: { teams: [{ namespace: 'shop', team: 'shop-team' }] } },
      notify: { alertmanager: { enabled: true, urls: [am.url], resendInterval: '30s' } },
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
    env: { ...process.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  try {
    const recs = await consumeUntil(triage, (r) => r.length >= 1, 60_000);
    const report = JSON.parse(recs[0]!.value!.toString()) as {
      incident: string;
      team: string;
      severity: string;
    };
    const filter = `filter=${encodeURIComponent(`incident="${report.incident}"`)}`;
    let alerts = await am.alerts(filter);
    await waitFor(
      async () => {
        alerts = await am.alerts(filter);
        return alerts.length === 1;
      },
      20_000,
      `the alert in Alertmanager (stderr: ${stderr.join('').slice(-1500)})`,
    );
    const labels = alerts[0]!.labels;
    assert.equal(labels.alertname, 'KubetriageIncident');
    assert.equal(labels.team, report.team);
    assert.equal(labels.severity, report.severity);
    assert.equal(labels.namespace, 'shop');
    assert.equal(labels.workload, 'checkout-canary');
    assert.equal(labels.cluster, 'test-cluster');
    assert.equal(labels.team, 'shop-team');
    await waitFor(async () => hook.got('/shop').length >= 1, 20_000, 'the team route delivered it');
    assert.equal(hook.got('/fallback').length, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.ok(sumMetric(metrics, 'kubetriage_alertmanager_posts_total', { result: 'sent' }) >= 1);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr.join('').slice(-2000));
});
