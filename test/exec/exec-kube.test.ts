// The approval and execution stage against a REAL kube-apiserver (RBAC, token auth) and a FAKE Slack
// (test/exec/slack-fake.ts: a loopback server speaking Slack's wire formats; it is not Slack).
// The scale-only identity is the `agent-runner` ServiceAccount user, bound by the repo's config/rbac.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { execConfig } from '../../src/core/config-exec.ts';
import {
  ApiIdentity,
  ApprovalService,
  type AuditEntry,
  AuditLedger,
  checkPermissions,
  type ExecKube,
  ExecKubeClient,
  registerExecRoutes,
  scaleDeployment,
  verifyLedgerFile,
  verifyLedgerText,
} from '../../src/exec/index.ts';
import { ACTION_APPROVE, ACTION_REJECT, ACTION_ROLLBACK } from '../../src/exec/slack-message.ts';
import { KubeHttpError } from '../harness/kube/client.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { reportWith } from './helpers.ts';
import {
  applyRbac,
  createDeployment,
  replicasOf,
  scalerToken,
  tolerateTextReadyz,
  uniqueNs,
} from './kube-world.ts';
import { interaction, type SlackFake, startSlackFake } from './slack-fake.ts';

// Never skips: throws (failing this file with the build command) when the part is missing.
requireKubeBinaries();

const SECRET = 'test-signing-secret-8f3a';
const APPROVER = { id: 'U0APPROVER', username: 'alice' };

describe('exec stage on a real kube-apiserver', () => {
  let kube: KubeApiServer;
  let slack: SlackFake;
  const scaler = scalerToken();
  let dir: string;

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer({ tokens: [scaler] });
    await applyRbac(kube.client);
    slack = await startSlackFake();
    dir = mkdtempSync(join(tmpdir(), 'kubetriage-exec-'));
  });
  after(async () => {
    await slack?.close();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conn = (token: string) => new ExecKubeClient(kube.kubeConfig(token));

  /** One service + HTTP server, with its own ledger and a clock the test may move. */
  async function world(o: { mode?: 'dry-run' | 'execute'; ledger?: string } = {}) {
    const clock = { now: Date.now() };
    const file = o.ledger ?? join(dir, `audit-${Math.random().toString(36).slice(2)}.jsonl`);
    const ledger = new AuditLedger({ file, now: () => clock.now });
    const config = execConfig({
      mode: o.mode ?? 'execute',
      approvers: [APPROVER.id, 'U0BOB'],
      policy: { cooldown: '0s' },
    });
    const service = new ApprovalService({
      config,
      ledger,
      kube: conn(scaler.token),
      webhookUrl: slack.webhookUrl,
      now: () => clock.now,
      delay: async () => {},
      forgedSummaryIntervalMs: 0,
    });
    await service.start();
    const app: FastifyInstance = Fastify();
    await registerExecRoutes(app, {
      service,
      signingSecret: SECRET,
      // Callers' tokens are reviewed by the API server (test/exec/exec-identity.test.ts); here the
      // opted-in static token stands for one local identity.
      identity: new ApiIdentity({
        kube: conn(scaler.token),
        audiences: [],
        group: config.api.group,
        resource: config.api.resource,
        cacheSize: 16,
        cacheTtlMs: config.api.cacheTtl,
        negativeCacheTtlMs: config.api.negativeCacheTtl,
        staticToken: { token: 'api-token-1', name: 'ci' },
      }),
      toleranceMs: config.slack.signatureTolerance,
      now: () => clock.now,
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const click = async (
      proposal: string,
      x: Partial<Parameters<typeof interaction>[0]> & { user?: { id: string; username: string } } = {},
    ) => {
      const u = x.user ?? APPROVER;
      const req = interaction({
        secret: SECRET,
        userId: u.id,
        username: u.username,
        actionId: x.actionId ?? ACTION_APPROVE,
        value: proposal,
        responseUrl: slack.responseUrl,
        ts: x.ts ?? Math.floor(clock.now / 1000),
        ...(x.actionTs ? { actionTs: x.actionTs } : {}),
        ...(x.signWith ? { signWith: x.signWith } : {}),
      });
      const res = await fetch(`${address}/slack/interactions`, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
      });
      await res.text();
      await service.idle();
      return { status: res.status, req };
    };
    const entries = () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry);
    const close = async () => {
      await app.close();
      await service.close();
    };
    return { service, app, address, click, entries, file, clock, close };
  }

  test('an approved proposal scales through deployments/scale with the scale-only token; its image patch is 403', async () => {
    const ns = uniqueNs('exec');
    await createDeployment(kube.client, ns, 'checkout-canary', 10);
    const w = await world();
    const before = slack.messages.length;
    const report = reportWith({
      incident: `inc-${ns}`,
      namespace: ns,
      name: 'checkout-canary',
      from: 10,
      to: 2,
    });
    await w.service.onReport(report);
    await w.service.onReport(report); // the same revision again: no second message
    assert.equal(slack.messages.length, before + 1, 'one Slack message per proposal');
    const msg = JSON.stringify(slack.messages.at(-1));
    assert.match(msg, /--current-replicas=10 --replicas=2/);
    assert.match(msg, new RegExp(report.proposal.id));
    assert.match(msg, /ev-1/);

    const r = await w.click(report.proposal.id);
    assert.equal(r.status, 200);
    assert.equal(await replicasOf(kube.client, ns, 'checkout-canary'), 2);
    assert.equal(w.service.state(report.proposal.id), 'executed');
    assert.match(JSON.stringify(slack.responses.at(-1)), /scaled .* 10 → 2/);

    // Same identity, anything but scale: forbidden by RBAC (asserted, not assumed).
    await assert.rejects(
      kube.clientFor(scaler.token).merge(`/apis/apps/v1/namespaces/${ns}/deployments/checkout-canary`, {
        spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/evil:6.6.6' }] } } },
      }),
      (err: unknown) => err instanceof KubeHttpError && err.status === 403,
    );
    await assert.rejects(
      kube.clientFor(scaler.token).get(`/api/v1/namespaces/${ns}/secrets`),
      (err: unknown) => err instanceof KubeHttpError && err.status === 403,
    );

    // Rollback: approval-gated (a non-approver is refused), then restores fromReplicas.
    await w.click(report.proposal.id, {
      actionId: ACTION_ROLLBACK,
      user: { id: 'U0MALLORY', username: 'mallory' },
    });
    assert.equal(await replicasOf(kube.client, ns, 'checkout-canary'), 2);
    await w.click(report.proposal.id, { actionId: ACTION_ROLLBACK, actionTs: '1.1' });
    assert.equal(await replicasOf(kube.client, ns, 'checkout-canary'), 10);
    assert.equal(w.service.state(report.proposal.id), 'rolled_back');

    const events = w.entries().map((e) => e.event);
    assert.deepEqual(events, [
      'proposed',
      'posted',
      'approved',
      'executed',
      'verified',
      'refused',
      'rollback_requested',
      'rolled_back',
    ]);
    const executed = w.entries().find((e) => e.event === 'executed')!;
    assert.equal(executed.detail.dryRun, false);
    assert.equal((executed.detail.response as { specReplicas: number }).specReplicas, 2);
    assert.equal(executed.detail.approvedBy, `slack:${APPROVER.id}(${APPROVER.username})`);
    assert.deepEqual((await verifyLedgerFile(w.file)).ok, true);
    await w.close();
  });

  test('dry-run (the default mode) goes through the API server with dryRun=All and changes nothing', async () => {
    const ns = uniqueNs('dry');
    await createDeployment(kube.client, ns, 'api', 4);
    const w = await world({ mode: 'dry-run' });
    const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'api', from: 4, to: 6 });
    await w.service.onReport(report);
    await w.click(report.proposal.id);
    assert.equal(w.service.state(report.proposal.id), 'executed');
    assert.equal(await replicasOf(kube.client, ns, 'api'), 4);
    const ex = w.entries().find((e) => e.event === 'executed')!;
    assert.equal(ex.detail.dryRun, true);
    assert.equal(execConfig().mode, 'dry-run');
    await w.close();
  });

  test('forged, stale, future, replayed, non-approver, double and expired requests: refused or idempotent, audited, never executed twice', async () => {
    const ns = uniqueNs('sec');
    await createDeployment(kube.client, ns, 'web', 5);
    const w = await world();
    const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'web', from: 5, to: 3 });
    await w.service.onReport(report);
    const id = report.proposal.id;
    const nowS = Math.floor(w.clock.now / 1000);

    assert.equal((await w.click(id, { signWith: 'not-the-secret' })).status, 401, 'forged signature');
    assert.equal((await w.click(id, { ts: nowS - 301 })).status, 401, 'stale timestamp');
    assert.equal((await w.click(id, { ts: nowS + 301 })).status, 401, 'future timestamp');
    assert.equal(w.service.state(id), 'pending');
    assert.equal(await replicasOf(kube.client, ns, 'web'), 5);

    assert.equal((await w.click(id, { user: { id: 'U0MALLORY', username: 'mallory' } })).status, 200);
    assert.equal(w.service.state(id), 'pending', 'a non-approver changes nothing');

    // Approve, then the very same signed request again (a replay within 5 min), then a double click.
    const first = await w.click(id, { actionTs: '1764300000.1' });
    assert.equal(first.status, 200);
    const replay = await fetch(`${w.address}/slack/interactions`, {
      method: 'POST',
      headers: first.req.headers,
      body: first.req.body,
    });
    assert.equal(replay.status, 200);
    await w.service.idle();
    await w.click(id, { actionTs: '1764300000.2' });
    // And two approvals racing each other.
    await Promise.all([
      w.click(id, { actionTs: '9.1' }),
      w.click(id, { user: { id: 'U0BOB', username: 'bob' } }),
    ]);
    assert.equal(await replicasOf(kube.client, ns, 'web'), 3);

    w.service.flushForged();
    await w.service.idle();
    const es = w.entries();
    assert.equal(es.filter((e) => e.event === 'executed').length, 1, 'executed exactly once');
    const refused = es.filter((e) => e.event === 'refused').map((e) => String(e.detail.reason));
    assert.deepEqual(refused, ['not an approver (exec.approvers)']);
    // Forged requests: one summary entry, nothing the sender claimed.
    const forged = es.filter((e) => e.event === 'forged_requests');
    assert.equal(forged.length, 1);
    assert.equal(forged[0]!.detail.count, 3);
    assert.deepEqual(forged[0]!.detail.reasons, { mismatch: 1, stale: 1, future: 1 });
    assert.doesNotMatch(JSON.stringify(forged[0]), /U0APPROVER|alice/);
    const ignored = es.filter((e) => e.event === 'ignored');
    assert.equal(ignored.length, 4);
    assert.ok(ignored.every((e) => e.detail.reason === 'already executed'));
    assert.equal(ignored[0]!.detail.replay, true, 'the replay is marked as one');

    // Expired: approved after expiresAt.
    await createDeployment(kube.client, `${ns}-x`, 'web', 5);
    const late = reportWith({
      incident: `inc-${ns}-x`,
      namespace: `${ns}-x`,
      name: 'web',
      from: 5,
      to: 4,
      expiresAt: new Date(w.clock.now + 60_000).toISOString(),
    });
    await w.service.onReport(late);
    w.clock.now += 120_000;
    await w.click(late.proposal.id);
    assert.equal(w.service.state(late.proposal.id), 'expired');
    await w.click(late.proposal.id, { actionTs: '2.2' });
    assert.equal(await replicasOf(kube.client, `${ns}-x`, 'web'), 5);
    const tail = w.entries().slice(-2);
    assert.equal(tail[0]!.event, 'expired');
    assert.equal(tail[1]!.event, 'ignored');

    // A rejection is final too.
    await createDeployment(kube.client, `${ns}-r`, 'web', 5);
    const rej = reportWith({ incident: `inc-${ns}-r`, namespace: `${ns}-r`, name: 'web', from: 5, to: 4 });
    await w.service.onReport(rej);
    await w.click(rej.proposal.id, { actionId: ACTION_REJECT });
    await w.click(rej.proposal.id, { actionTs: '3.3' });
    assert.equal(w.service.state(rej.proposal.id), 'rejected');
    assert.equal(await replicasOf(kube.client, `${ns}-r`, 'web'), 5);
    assert.ok((await verifyLedgerFile(w.file)).ok);
    await w.close();
  });

  test('a proposal approved after someone else changed the replicas is refused as stale', async () => {
    const ns = uniqueNs('stale');
    await createDeployment(kube.client, ns, 'cart', 6);
    const w = await world();
    const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'cart', from: 6, to: 3 });
    await w.service.onReport(report);
    // Someone scales by hand meanwhile.
    await kube.client.merge(`/apis/apps/v1/namespaces/${ns}/deployments/cart`, { spec: { replicas: 8 } });
    await w.click(report.proposal.id);
    assert.equal(await replicasOf(kube.client, ns, 'cart'), 8);
    assert.equal(w.service.state(report.proposal.id), 'failed');
    const refused = w.entries().find((e) => e.event === 'refused')!;
    assert.equal(refused.detail.reason, 'stale');
    assert.equal(refused.detail.observed, 8);
    assert.match(JSON.stringify(slack.responses.at(-1)), /has 8 replicas, the proposal expected 6/);
    await w.close();
  });

  test("a write between the scaler's read and its write (409): re-read and re-checked, never written blind", async () => {
    const ns = uniqueNs('conflict');
    await createDeployment(kube.client, ns, 'orders', 6);
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/orders`;
    /** The scale-only connection, with someone else's write landing right after each of the first n reads. */
    const racing = (n: number, write: () => Promise<unknown>) => {
      const inner = conn(scaler.token);
      let reads = 0;
      const k: ExecKube = {
        readScale: async (ns, name) => {
          const res = await inner.readScale(ns, name);
          if (reads++ < n) await write();
          return res;
        },
        replaceScale: (scale, o) => inner.replaceScale(scale, o),
        selfRulesReview: (ns) => inner.selfRulesReview(ns),
        selfAccessReview: (a) => inner.selfAccessReview(a),
        tokenReview: (t, a) => inner.tokenReview(t, a),
        subjectAccessReview: (spec) => inner.subjectAccessReview(spec),
      };
      return k;
    };
    // 1. Someone relabels the Deployment (new resourceVersion, same replicas): 409, re-read, still 6, write.
    let n = 0;
    const relabel = () => kube.client.merge(path, { metadata: { labels: { touched: String(++n) } } });
    const ok = await scaleDeployment(racing(1, relabel), {
      namespace: ns,
      name: 'orders',
      expected: 6,
      to: 3,
      dryRun: false,
    });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.conflicts, 1);
    assert.equal(await replicasOf(kube.client, ns, 'orders'), 3);
    // 2. Someone scales by hand in between: 409, re-read sees 5 where 3 was expected, refused as stale.
    const byHand = () => kube.client.merge(path, { spec: { replicas: 5 } });
    const stale = await scaleDeployment(racing(1, byHand), {
      namespace: ns,
      name: 'orders',
      expected: 3,
      to: 2,
      dryRun: false,
    });
    assert.equal(stale.ok, false);
    assert.equal(stale.ok === false && stale.reason, 'stale');
    assert.equal(stale.conflicts, 1);
    assert.equal(await replicasOf(kube.client, ns, 'orders'), 5, 'the hand-made change stands');
    // 3. Conflicts beyond maxConflicts: gives up with reason conflict, nothing written.
    const busy = await scaleDeployment(
      racing(10, relabel),
      { namespace: ns, name: 'orders', expected: 5, to: 4, dryRun: false },
      2,
    );
    assert.equal(busy.ok === false && busy.reason, 'conflict');
    assert.equal(busy.conflicts, 2);
    assert.equal(await replicasOf(kube.client, ns, 'orders'), 5);
  });

  test('API approvals (no Slack) use the same state machine; a restart restores state from the ledger', async () => {
    const ns = uniqueNs('api');
    await createDeployment(kube.client, ns, 'search', 3);
    const w = await world();
    const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'search', from: 3, to: 5 });
    await w.service.onReport(report);
    const call = (token: string, actor: string) =>
      fetch(`${w.address}/api/proposals/${report.proposal.id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actor }),
      });
    assert.equal((await call('wrong', 'bob')).status, 401);
    assert.equal((await call('api-token-1', 'bob')).status, 200);
    assert.equal(await replicasOf(kube.client, ns, 'search'), 5);
    await w.close();
    // Restart on the same ledger: the proposal is known and executed; a new approval does nothing.
    const w2 = await world({ ledger: w.file });
    assert.equal(w2.service.state(report.proposal.id), 'executed');
    await w2.click(report.proposal.id);
    assert.equal(w2.entries().at(-1)!.event, 'ignored');
    assert.ok((await verifyLedgerFile(w.file)).ok);
    await w2.close();
  });

  test('audit verify passes on a real ledger and names the first bad line for an edit, a removal, a reorder', async () => {
    const ns = uniqueNs('aud');
    await createDeployment(kube.client, ns, 'pay', 4);
    const w = await world();
    const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'pay', from: 4, to: 2 });
    await w.service.onReport(report);
    await w.click(report.proposal.id);
    await w.click(report.proposal.id, { actionTs: '7.7' });
    await w.close();
    const text = readFileSync(w.file, 'utf8');
    const ok = verifyLedgerText(text);
    assert.ok(ok.ok && ok.entries >= 6, JSON.stringify(ok));
    const lines = text.trimEnd().split('\n');
    const edited = [...lines];
    edited[3] = edited[3]!.replace('"to":2', '"to":20');
    assert.notEqual(edited[3], lines[3]);
    assert.deepEqual(pick(verifyLedgerText(`${edited.join('\n')}\n`)), { ok: false, line: 4 });
    const removed = lines.filter((_, i) => i !== 2);
    assert.deepEqual(pick(verifyLedgerText(`${removed.join('\n')}\n`)), { ok: false, line: 3 });
    const reordered = [...lines];
    [reordered[1], reordered[2]] = [reordered[2]!, reordered[1]!];
    assert.deepEqual(pick(verifyLedgerText(`${reordered.join('\n')}\n`)), { ok: false, line: 2 });
    // A forger who recomputes the edited line's own hash still breaks the next line's prevHash.
    const { createHash } = await import('node:crypto');
    const forged = JSON.parse(edited[3]!) as AuditEntry;
    const { hash: _h, ...rest } = forged;
    const { canonicalJson } = await import('../../src/exec/audit.ts');
    forged.hash = createHash('sha256').update(canonicalJson(rest)).digest('hex');
    const rehashed = [...lines];
    rehashed[3] = JSON.stringify(forged);
    assert.deepEqual(pick(verifyLedgerText(`${rehashed.join('\n')}\n`)), { ok: false, line: 5 });
    // The CLI on copies of the real ledger.
    const copy = join(dir, 'copy.jsonl');
    copyFileSync(w.file, copy);
    const { spawnSync } = await import('node:child_process');
    const cli = (f: string) =>
      spawnSync(process.execPath, ['bin/kubetriage.js', 'audit', 'verify', '--file', f], {
        encoding: 'utf8',
      });
    const good = cli(copy);
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /^ok: /);
    writeFileSync(copy, `${removed.join('\n')}\n`);
    const bad = cli(copy);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /line 3: /);
  });

  test('start-up permission check: refuses a cluster-admin token, accepts the scale-only one', async () => {
    const admin = await checkPermissions(conn(kube.adminToken), ['*']);
    assert.equal(admin.ok, false);
    assert.ok(
      admin.tooBroad.some((l) => l.includes('*')),
      admin.tooBroad.join('\n'),
    );
    assert.ok(admin.tooBroad.some((l) => /can get core\/secrets/.test(l)));
    assert.ok(admin.tooBroad.some((l) => /can patch apps\/deployments/.test(l)));
    const scale = await checkPermissions(conn(scaler.token), ['*']);
    assert.deepEqual({ tooBroad: scale.tooBroad, missing: scale.missing }, { tooBroad: [], missing: [] });
    assert.equal(scale.ok, true);
  });

  test('run wiring in execute mode: refuses to start with cluster-admin, starts with the scale-only token', async () => {
    const { wireExec } = await import('../../src/cli/exec-wiring.ts');
    const { validateConfig } = await import('../../src/core/config.ts');
    const pino = (await import('pino')).pino;
    const log = pino({ level: 'silent' });
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, kube.ca);
    const start = async (token: string) => {
      const tokenFile = join(dir, `token-${token.slice(0, 6)}`);
      writeFileSync(tokenFile, token);
      const config = validateConfig({
        exec: {
          mode: 'execute',
          kube: { url: kube.url, tokenFile, caFile },
          audit: { file: join(dir, `wired-${token.slice(0, 6)}.jsonl`) },
        },
      });
      const app = Fastify();
      try {
        const w = await wireExec({
          config,
          log,
          registry: new (await import('prom-client')).Registry(),
          http: app,
          env: { KUBETRIAGE_API_TOKEN: 't' },
        });
        await w.close(5_000);
      } finally {
        await app.close();
      }
    };
    await assert.rejects(
      start(kube.adminToken),
      /refusing to run with credentials that can do more than scale/,
    );
    await start(scaler.token);
  });
});

function pick(r: ReturnType<typeof verifyLedgerText>) {
  return r.ok ? { ok: true } : { ok: false, line: r.line };
}
