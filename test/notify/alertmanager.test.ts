// Triage reports routed through a REAL Alertmanager (scripts/alertmanager/build.sh): labels as sent, a
// route by team delivering to a webhook receiver run here, a silence suppressing, a resolution resolving,
// re-sent revisions staying one alert with one notification.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { TriageReport } from '../../src/agents/report.ts';
import { alertmanagerConfig } from '../../src/core/config-notify.ts';
import { AlertmanagerNotifier } from '../../src/notify/index.ts';
import { reportWith } from '../exec/helpers.ts';
import { type Alertmanager, startAlertmanager } from '../harness/alertmanager.ts';
import { sumMetric } from './metric-sum.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

const log = pino({ level: 'silent' });
let am: Alertmanager;
let hook: WebhookReceiver;

// group_wait 1s so a test sees its notification quickly; group_interval 2s so a change (resolution) goes
// out soon; repeat_interval long so any second notification of an unchanged group is a duplicate.
function amConfig(hookUrl: string): string {
  const receiver = (team: string) => `  - name: ${team}
    webhook_configs:
      - url: ${hookUrl}/${team}
        send_resolved: true`;
  return `route:
  receiver: fallback
  group_by: [incident]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - matchers: ['team="payments"']
      receiver: payments
    - matchers: ['team="checkout"']
      receiver: checkout
    - matchers: ['team="search"']
      receiver: search
receivers:
${['fallback', 'payments', 'checkout', 'search'].map(receiver).join('\n')}
`;
}

before(async () => {
  hook = await startWebhookReceiver();
  am = await startAlertmanager({ configYaml: amConfig(hook.url) });
});

after(async () => {
  await am?.stop();
  await hook?.close();
});

async function until<T>(
  what: string,
  get: () => Promise<T> | T,
  ok: (v: T) => boolean,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function notifier(registry = new Registry()) {
  const n = new AlertmanagerNotifier({
    // Re-sends driven by the test (resendOpen) rather than the timer.
    config: alertmanagerConfig({
      enabled: true,
      urls: [am.url],
      resendInterval: '1h',
      externalUrl: 'https://kubetriage.example/incidents/{incident}',
      labels: { source: 'kubetriage' },
      retry: { attempts: 3, initialBackoff: '100ms', maxBackoff: '500ms' },
    }),
    log,
    registry,
  });
  return { n, registry };
}

function report(team: string, incident: string, extra: Partial<TriageReport> = {}): TriageReport {
  const r = reportWith({ incident, namespace: `ns-${team}`, name: 'web', from: 4, to: 2 });
  return { ...r, team, ...extra };
}

const byIncident = (id: string) => `filter=${encodeURIComponent(`incident="${id}"`)}`;

test('a report arrives as one alert with the routing labels and annotations, delivered by the team route', async () => {
  const { n, registry } = notifier();
  const r = report('payments', 'inc-route-1');
  n.onReport(r);
  const [alert] = await until(
    'the alert',
    () => am.alerts(byIncident('inc-route-1')),
    (a) => a.length === 1,
  );
  assert.ok(alert);
  assert.deepEqual(alert.labels, {
    alertname: 'KubetriageIncident',
    source: 'kubetriage',
    incident: 'inc-route-1',
    cluster: 'test',
    namespace: 'ns-payments',
    workload: 'web',
    team: 'payments',
    severity: 'SEV2',
    cause: 'crash_loop',
  });
  assert.match(alert.annotations.summary ?? '', /SEV2 ns-payments\/web: canary pods crash-looping/);
  assert.match(
    alert.annotations.description ?? '',
    /1\. crash_loop \(80%\): BackOff restarting\n2\. bad_rollout/,
  );
  assert.equal(alert.annotations.proposal_id, r.proposal?.id);
  assert.equal(alert.annotations.link, 'https://kubetriage.example/incidents/inc-route-1');
  assert.equal(alert.generatorURL, 'https://kubetriage.example/incidents/inc-route-1');
  // Go drops trailing zeros of the fraction (…41.18Z): compare instants.
  assert.equal(Date.parse(alert.startsAt), Date.parse(r.at));
  assert.equal(alert.status.state, 'active');
  assert.deepEqual(
    alert.receivers.map((x) => x.name),
    ['payments'],
  );
  // The route by team delivers it to the payments receiver, not the fallback.
  const [note] = await until(
    'the payments webhook',
    () => hook.got('/payments'),
    (g) => g.some((x) => x.groupLabels.incident === 'inc-route-1'),
  );
  assert.equal(note?.status, 'firing');
  assert.equal(note?.alerts[0]?.labels.team, 'payments');
  assert.equal(hook.got('/fallback').filter((x) => x.groupLabels.incident === 'inc-route-1').length, 0);
  assert.equal(
    sumMetric(await registry.metrics(), 'kubetriage_alertmanager_posts_total', { result: 'sent' }),
    1,
  );
  await n.close(5000);
});

test('re-sent revisions update the one alert; the webhook is notified once; resolution resolves it', async () => {
  const { n } = notifier();
  const id = 'inc-revisions-1';
  n.onReport(report('payments', id, { revision: 1 }));
  const notes = () => hook.got('/payments').filter((x) => x.groupLabels.incident === id);
  await until('the first notification', notes, (g) => g.length === 1);
  // Later revisions change their mind about the top cause (kept as a label, shown in annotations).
  const rev2 = report('payments', id, { revision: 2 });
  rev2.hypotheses = [...rev2.hypotheses].reverse();
  n.onReport(rev2);
  n.onReport(report('payments', id, { revision: 3, hypotheses: rev2.hypotheses }));
  n.resendOpen();
  await until(
    'revision 3 in Alertmanager',
    () => am.alerts(byIncident(id)),
    (a) => a[0]?.annotations.revision === '3',
  );
  n.resendOpen();
  // Several group_intervals (2s) later: still one alert, still one notification.
  await new Promise((r) => setTimeout(r, 5000));
  const alerts = await am.alerts(byIncident(id));
  assert.equal(alerts.length, 1, `one alert for all revisions: ${JSON.stringify(alerts)}`);
  assert.equal(alerts[0]?.labels.cause, 'crash_loop', 'the label set stays that of the first report');
  assert.equal(alerts[0]?.annotations.cause_now, 'bad_rollout');
  assert.equal(notes().length, 1, `no second notification for re-sent revisions: ${JSON.stringify(notes())}`);

  const resolvedAt = new Date(Date.now() - 1000).toISOString();
  n.onReport(report('payments', id, { revision: 4, status: 'resolved', at: resolvedAt }));
  const resolved = await until('the resolved notification', notes, (g) =>
    g.some((x) => x.status === 'resolved'),
  );
  const last = resolved.at(-1);
  assert.equal(last?.status, 'resolved');
  assert.equal(last?.alerts[0]?.status, 'resolved');
  assert.equal(Date.parse(last?.alerts[0]?.endsAt ?? ''), Date.parse(resolvedAt));
  // Resolved alerts are not listed as active any more.
  await until(
    'no active alert',
    () => am.alerts(`${byIncident(id)}&active=true&silenced=true&inhibited=true&unprocessed=true`),
    (a) => a.every((x) => Date.parse(x.endsAt) <= Date.now()),
  );
  await n.close(5000);
});

test('a silence on the team suppresses the alert: state suppressed, no webhook delivery', async () => {
  const silenceId = await am.silence([{ name: 'team', value: 'checkout' }]);
  const { n } = notifier();
  n.onReport(report('checkout', 'inc-silenced-1'));
  const [alert] = await until(
    'the suppressed alert',
    () => am.alerts(byIncident('inc-silenced-1')),
    (a) => a[0]?.status.state === 'suppressed',
  );
  assert.deepEqual(alert?.status.silencedBy, [silenceId]);
  // Well past group_wait (1s) and a group_interval: the checkout route would have delivered it by now.
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal(hook.got('/checkout').length, 0);
  await n.close(5000);
});

test('an escalation re-keys: the old severity resolves, the new one fires (one active alert)', async () => {
  const { n } = notifier();
  const id = 'inc-escalated-1';
  n.onReport(report('search', id, { revision: 1, severity: 'SEV3' }));
  await until(
    'SEV3 firing',
    () => am.alerts(byIncident(id)),
    (a) => a.length === 1,
  );
  n.onReport(report('search', id, { revision: 2, severity: 'SEV1' }));
  const active = <T extends { endsAt: string }>(a: T[]) => a.filter((x) => Date.parse(x.endsAt) > Date.now());
  const alerts = await until(
    'SEV1 alone active',
    () => am.alerts(byIncident(id)),
    (a) => active(a).length === 1 && active(a)[0]?.labels.severity === 'SEV1',
  );
  assert.equal(active(alerts)[0]?.annotations.severity_now, 'SEV1');
  // A de-escalation keeps the SEV1 label (no flapping page), the annotation shows it.
  n.onReport(report('search', id, { revision: 3, severity: 'SEV3' }));
  const after3 = await until(
    'revision 3',
    () => am.alerts(byIncident(id)),
    (a) => active(a)[0]?.annotations.revision === '3',
  );
  assert.equal(active(after3).length, 1);
  assert.equal(active(after3)[0]?.labels.severity, 'SEV1');
  assert.equal(active(after3)[0]?.annotations.severity_now, 'SEV3');
  await n.close(5000);
});
