// The incident page on every replica (page.source kafka, replicated approvals): REAL separate
// `kubetriage run` processes on a real Kafka broker and a real kube-apiserver, a real headless Chromium;
// Slack is the FAKE of test/exec/slack-fake.ts (the owner posts the proposal there). Replica A reads
// the workload's telemetry, opens the incident, triages it and owns the proposal; replica B holds
// nothing of it, yet its page shows the incident, the report and the proposal's history (read from the
// contexts, triage and proposals topics). Approve on B's page is forwarded to A, authorised there
// (SubjectAccessReview) and executed exactly once (the Deployment's generation grows by one); B's page
// shows the outcome by live update.
//
// Roles: with one partition per topic and the range assignor (members sorted by member id, which
// starts with client.id), the replica whose kafka.clientId sorts first gets every partition of the
// input and the commands topic. The test checks this before relying on it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { stringify } from 'yaml';
import type { TriageReport } from '../../src/agents/report.ts';
import type { AuditEntry } from '../../src/exec/audit.ts';
import { decodeProposalRecord } from '../../src/exec/proposal-record.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import {
  applyRbac,
  bindApprover,
  createDeployment,
  replicasOf,
  scalerToken,
  serviceAccountToken,
  tolerateTextReadyz,
  uniqueNs,
} from '../exec/kube-world.ts';
import { type SlackFake, startSlackFake } from '../exec/slack-fake.ts';
import { collectErrors, launchBrowser, requireChromium, waitUntil } from '../harness/browser.ts';
import { watchEnd } from '../harness/child.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { freePort } from '../harness/ports.ts';
import {
  brokers,
  consumeAll,
  consumeUntil,
  createTopics,
  produce,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';
import { gauge, metricsRecord } from '../helpers/otlp.ts';

// Never skip: each throws (failing this file with the command that installs the part) when missing.
requireKubeBinaries();
requireChromium();

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

interface Replica {
  base: string;
  pid: number;
  stderr: string[];
  ended: ReturnType<typeof watchEnd>;
  child: ChildProcess;
  metrics(): Promise<string>;
  owned(): Promise<number[]>;
  stop(): Promise<void>;
}

describe('the incident page on every replica (real kubetriage run processes, broker, kube-apiserver, Chromium)', () => {
  let kube: KubeApiServer;
  let slack: SlackFake;
  let browser: Browser;
  let dir: string;
  let kubeconfig: string;
  const scaler = scalerToken();
  const running: Replica[] = [];

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer({ tokens: [scaler] });
    await applyRbac(kube.client);
    slack = await startSlackFake();
    browser = await launchBrowser();
    dir = mkdtempSync(join(tmpdir(), 'kt-page-replicas-'));
    const kc = structuredClone(kube.kubeconfig) as { users: { user: { token: string } }[] };
    kc.users[0]!.user.token = scaler.token;
    kubeconfig = join(dir, 'scaler.kubeconfig');
    writeFileSync(kubeconfig, stringify(kc), { mode: 0o600 });
  });
  after(async () => {
    for (const r of running) await r.stop().catch(() => {});
    await browser?.close();
    await slack?.close();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an incident produced by replica A shows on replica B; approving it on B’s page is forwarded to A, authorised there, executed once, and B’s page shows it executed', {
    timeout: 300_000,
  }, async (t) => {
    const topics = await testTopics(1);
    const triage = unique('triage');
    const commands = unique('approval-commands');
    const proposals = unique('proposals');
    await createTopics([triage], 2);
    const config = (clientId: string) => {
      const file = join(dir, `${clientId}.yaml`);
      writeFileSync(
        file,
        stringify({
          grouping: { groupWait: '1s' },
          kafka: {
            clientId,
            groupId: topics.group,
            topics: {
              logs: [topics.logs],
              metrics: [topics.metrics],
              traces: [topics.traces],
              contexts: topics.contexts,
              dlq: topics.dlq,
              triage,
            },
          },
          exec: {
            mode: 'execute',
            policy: { cooldown: '0s' },
            kube: { kubeconfig },
            audit: { file: join(dir, `${clientId}-audit.jsonl`) },
            replicated: {
              commandsTopic: commands,
              proposalsTopic: proposals,
              partitions: 1,
              replicationFactor: 1,
              sessionTimeout: '6s',
            },
          },
        }),
      );
      return file;
    };

    async function startReplica(clientId: string): Promise<Replica> {
      const port = await freePort();
      const stderr: string[] = [];
      const child = spawn(
        process.execPath,
        [BIN, 'run', '--config', config(clientId), '--port', String(port)],
        {
          env: { ...process.env, KAFKA_BROKERS: brokers(), SLACK_WEBHOOK_URL: slack.webhookUrl },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      const ended = watchEnd(child);
      const base = `http://127.0.0.1:${port}`;
      const metrics = () => fetch(`${base}/metrics`).then((r) => r.text());
      const r: Replica = {
        base,
        pid: child.pid!,
        stderr,
        ended,
        child,
        metrics,
        async owned() {
          return [
            ...(await metrics()).matchAll(/kubetriage_exec_owned_partitions\{partition="(\d+)"\} 1\b/g),
          ].map((m) => Number(m[1]));
        },
        async stop() {
          if (ended.reason() === undefined) child.kill('SIGTERM');
          await Promise.race([ended.done, new Promise((res) => setTimeout(res, 20_000))]);
          if (ended.reason() === undefined) child.kill('SIGKILL');
          await ended.done;
        },
      };
      running.push(r);
      await waitFor(
        async () =>
          ended.reason() !== undefined ||
          (await fetch(`${base}/healthz`).then(
            (res) => res.status === 200,
            () => false,
          )),
        90_000,
        'the replica to answer /healthz',
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${stderr.join('').slice(-3000)}`);
      });
      if (ended.reason() !== undefined)
        throw new Error(`run ended (${ended.reason()}): ${stderr.join('').slice(-3000)}`);
      return r;
    }

    const a = await startReplica('kt-a');
    const b = await startReplica('kt-b');
    await waitFor(
      async () => (await a.owned()).join() === '0' && (await b.owned()).length === 0,
      90_000,
      'replica A owning the commands partition, B none',
    );
    // B follows the proposals topic for the page (page.source auto: kafka with replicated approvals).
    await waitFor(
      async () => /kubetriage_page_feed_partitions\{kind="proposals"\} 1\b/.test(await b.metrics()),
      30_000,
      `B's page feed on the proposals topic (B: ${b.stderr
        .join('')
        .split('\n')
        .filter((l) => l.includes('page'))
        .join('\n')
        .slice(-1500)})`,
    );

    // The workload's telemetry: a canary crash-looping, 8 replicas desired (what the cluster reports).
    const ns = uniqueNs('page');
    const name = 'checkout-canary';
    await createDeployment(kube.client, ns, name, 8);
    const generation = async () =>
      (
        await kube.client.get<{ metadata: { generation: number } }>(
          `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
        )
      ).metadata.generation;
    const gen0 = await generation();
    const now = Date.now();
    await produce(topics.metrics, [
      {
        value: metricsRecord([
          {
            attrs: { 'k8s.namespace.name': ns, 'k8s.deployment.name': name },
            metrics: [gauge('k8s.deployment.desired', 8, now), gauge('k8s.deployment.available', 5, now)],
          },
        ]),
      },
    ]);
    const pod = `${name}-6b7c8d9f4-q2zzz`;
    const ev: K8sEvent = {
      namespace: ns,
      reason: 'BackOff',
      message: `Back-off restarting failed container app in pod ${pod}_${ns}`,
      type: 'Warning',
      object: { kind: 'Pod', name: pod },
      uid: unique('bo'),
      count: 3,
      atMs: now,
    };
    await produce(topics.logs, [{ value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest([ev])) }]);
    const recs = await consumeUntil(
      triage,
      (rs) => rs.some((r) => (JSON.parse(r.value!.toString()) as TriageReport).proposal),
      90_000,
    );
    const report = recs.map((r) => JSON.parse(r.value!.toString()) as TriageReport).find((r) => r.proposal)!;
    const p = report.proposal!;
    assert.equal(p.fromReplicas, 8);
    const path = `/incidents/${report.incident}`;
    // A produced it (it reads the input); B triaged nothing.
    assert.match(await a.metrics(), /kubetriage_triage_published_total\{result="sent"\} [1-9]/);
    assert.doesNotMatch(await b.metrics(), /kubetriage_triage_published_total\{result="sent"\} [1-9]/);

    // 1. B's page shows it: the incident, the report and the proposal pending (its chain on the topic).
    const reportSeen = performance.now();
    let html = '';
    await waitFor(
      async () => {
        const res = await fetch(`${b.base}${path}`);
        html = await res.text();
        return res.status === 200 && html.includes('id="proposal-state">pending<');
      },
      60_000,
      `the incident on B's page (B stderr: ${b.stderr.join('').slice(-1500)})`,
    );
    t.diagnostic(
      `incident with its pending proposal on B's page ${(performance.now() - reportSeen).toFixed(0)} ms after the test's own consumer read the report (polled every 100 ms)`,
    );
    assert.ok(html.includes(`sev-${report.severity}`));
    assert.ok(html.includes(p.id));
    assert.match(html, /<td>proposed<\/td>/);
    const list = await (await fetch(`${b.base}/incidents`)).text();
    assert.ok(list.includes(`href="${path}"`), 'on B’s list too');
    assert.match(await b.metrics(), /kubetriage_page_feed_records_total\{kind="contexts"\} [1-9]/);

    // 2. Sign in on B (TokenReview there).
    const oncall = await serviceAccountToken(kube.client, ns, 'oncall');
    const intern = await serviceAccountToken(kube.client, ns, 'intern');
    await bindApprover(kube.client, ns, { namespace: ns, name: 'oncall' });
    const signIn = async (token: string) => {
      const ctx = await browser.newContext();
      t.after(() => ctx.close());
      const page = await ctx.newPage();
      await page.goto(`${b.base}/incidents/-/login?next=${encodeURIComponent(path)}`);
      await page.getByLabel('Kubernetes token').fill(token);
      await page.keyboard.press('Enter');
      await page.waitForURL(`${b.base}${path}`);
      return { ctx, page };
    };
    // All the topic holds: a partial 1.5 s read as the count before a step made the step look like it produced.
    const commandCount = async () => (await consumeAll(commands)).length;

    // 3. Someone without the approver binding: no buttons on B; a post anyway (with the session's own
    // form token) is forwarded, and the owner's SubjectAccessReview refuses it (audited, nothing scaled).
    const i = await signIn(intern.token);
    assert.equal(await i.page.getByRole('button', { name: /Approve/ }).count(), 0);
    const internCsrf = await i.page.locator('header input[name=csrf]').getAttribute('value');
    const action = `${b.base}${path}/proposals/${p.id}/approve`;
    const forced = await i.ctx.request.post(action, {
      form: { csrf: internCsrf! },
      headers: { origin: b.base },
      maxRedirects: 0,
    });
    assert.equal(forced.status(), 303);
    assert.match(forced.headers().location ?? '', /outcome=forwarded/);
    const chainOf = async (want: (events: string[]) => boolean) => {
      let chain: AuditEntry[] = [];
      await waitFor(
        async () => {
          // All the topic holds at each look (a 1.5 s read is partial when the reader joins slowly).
          for (const r of await consumeAll(proposals)) {
            const d = decodeProposalRecord(r.key, r.value);
            if (d.ok && d.record.proposal === p.id) chain = d.record.entries;
          }
          return want(chain.map((e) => e.event));
        },
        60_000,
        'the proposal chain',
      );
      return chain;
    };
    const refusedChain = await chainOf((ev) => ev.includes('refused'));
    assert.match(
      String(refusedChain.at(-1)!.detail.reason),
      /not allowed to approve proposals.kubetriage.io/,
    );
    assert.equal(refusedChain.at(-1)!.actor, `k8s:${intern.username}`);
    assert.equal(await replicasOf(kube.client, ns, name), 8);

    // 4. A form without the session's token is refused on B and never forwarded.
    const o = await signIn(oncall.token);
    const errors = collectErrors(o.page);
    const before = await commandCount();
    const forged = await o.ctx.request.post(action, {
      form: { csrf: 'forged' },
      headers: { origin: b.base },
      maxRedirects: 0,
    });
    assert.equal(forged.status(), 403);
    assert.equal(await commandCount(), before, 'nothing forwarded');

    // 5. The approver, on B's page: Approve (keyboard). B does not own the proposal: "forwarded", then
    // the outcome arrives on the proposals topic and the page shows it without a reload.
    await o.page.getByRole('button', { name: `Approve proposal ${p.id}` }).focus();
    const pressed = performance.now();
    await o.page.keyboard.press('Enter');
    await o.page.waitForURL(/outcome=forwarded/);
    const answered = performance.now() - pressed;
    assert.match(
      (await o.page.getByRole('alert').textContent()) ?? '',
      /Forwarded to the replica that owns this proposal/,
    );
    await waitUntil(o.page, `document.getElementById('proposal-state')?.textContent === 'executed'`, 60_000);
    t.diagnostic(
      `Approve on B: "forwarded" page in ${answered.toFixed(0)} ms; executed shown by live update ${(performance.now() - pressed).toFixed(0)} ms after the key press`,
    );
    const history = (await o.page.locator('table.audit').textContent()) ?? '';
    assert.ok(history.includes(`k8s:${oncall.username} via page`), history);
    assert.ok(history.includes('executed'), history);
    assert.equal(await o.page.getByRole('button', { name: `Roll back proposal ${p.id}` }).count(), 1);
    assert.deepEqual(errors, []);

    // Exactly once, decided by A, received by B.
    assert.equal(await replicasOf(kube.client, ns, name), p.toReplicas);
    const chain = await chainOf((ev) => ev.includes('verified'));
    assert.deepEqual(
      chain.map((e) => e.event),
      ['proposed', 'posted', 'refused', 'approved', 'executing', 'executed', 'verified'],
    );
    const approved = chain.find((e) => e.event === 'approved')!;
    assert.equal(approved.detail.via, 'page');
    assert.equal(approved.detail.receivedBy, `${hostname()}-${b.pid}`);
    assert.equal(chain.find((e) => e.event === 'executed')!.detail.replica, `${hostname()}-${a.pid}`);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await generation(), gen0 + 1, 'one spec change: exactly one scale write');
    assert.match(
      await b.metrics(),
      /kubetriage_page_decisions_total\{action="approve",result="forwarded"\} 2\b/,
    );
    assert.match(
      await a.metrics(),
      /kubetriage_exec_commands_decided_total\{type="approve",result="done"\} 1\b/,
    );
    for (const r of [a, b]) assert.equal(r.ended.reason(), undefined, r.stderr.join('').slice(-2000));
    // The feed's consumer goes away with the rest on SIGTERM: a clean stop.
    await b.stop();
    assert.equal(b.ended.reason(), 'exit 0', b.stderr.join('').slice(-2000));
  });
});
