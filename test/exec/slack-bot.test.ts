// Bot-token mode (a Slack app) against a FAKE Slack Web API (test/exec/slack-fake.ts: a loopback server
// speaking the Web API's wire format; it is not Slack) and a REAL kube-apiserver for the execution:
// the proposal goes to the team's channel by chat.postMessage, is updated in place (chat.update, same
// ts) through approved → executed, with the details in its thread; signed clicks as in webhook mode.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { execConfig } from '../../src/core/config-exec.ts';
import {
  ApiIdentity,
  ApprovalService,
  type AuditEntry,
  AuditLedger,
  ExecKubeClient,
  registerExecRoutes,
} from '../../src/exec/index.ts';
import { ACTION_APPROVE } from '../../src/exec/slack-message.ts';
import { BotNotifier } from '../../src/exec/slack-notifier.ts';
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

const SECRET = 'test-signing-secret-bot';
const APPROVER = { id: 'U0APPROVER', username: 'alice' };

describe('Slack app (bot token) with a real kube-apiserver', () => {
  let kube: KubeApiServer;
  let slack: SlackFake;
  const scaler = scalerToken();
  let dir: string;

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer({ tokens: [scaler] });
    await applyRbac(kube.client);
    slack = await startSlackFake();
    dir = mkdtempSync(join(tmpdir(), 'kubetriage-bot-'));
  });
  after(async () => {
    await slack?.close();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function world(o: { token?: string; channels?: Record<string, string> } = {}) {
    const file = join(dir, `audit-${Math.random().toString(36).slice(2)}.jsonl`);
    const config = execConfig({
      mode: 'execute',
      approvers: [APPROVER.id],
      policy: { cooldown: '0s' },
      slack: {
        transport: 'bot',
        channels: o.channels ?? { payments: 'C0PAYMENTS', search: '#search-oncall' },
        defaultChannel: '#incidents',
        apiUrl: slack.apiUrl,
        maxRetryAfter: '5s',
      },
    });
    const waits: number[] = [];
    const delay = async (ms: number) => void waits.push(ms);
    const notifier = new BotNotifier({
      token: o.token ?? slack.botToken,
      channels: config.slack.channels,
      defaultChannel: config.slack.defaultChannel,
      apiUrl: config.slack.apiUrl,
      timeoutMs: config.slack.timeout,
      maxAttempts: config.slack.maxAttempts,
      maxRetryAfterMs: config.slack.maxRetryAfter,
      delay,
    });
    const kc = new ExecKubeClient(kube.kubeConfig(scaler.token));
    const service = new ApprovalService({
      config,
      ledger: new AuditLedger({ file }),
      kube: kc,
      notifier,
      delay,
      forgedSummaryIntervalMs: 0,
    });
    await service.start();
    const app = Fastify();
    await registerExecRoutes(app, {
      service,
      signingSecret: SECRET,
      identity: new ApiIdentity({
        kube: kc,
        audiences: [],
        group: config.api.group,
        resource: config.api.resource,
        cacheSize: 4,
        cacheTtlMs: 1000,
        negativeCacheTtlMs: 1000,
        staticToken: undefined,
      }),
      toleranceMs: config.slack.signatureTolerance,
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const click = async (proposal: string, user = APPROVER) => {
      const req = interaction({
        secret: SECRET,
        userId: user.id,
        username: user.username,
        actionId: ACTION_APPROVE,
        value: proposal,
        responseUrl: slack.responseUrl,
      });
      const res = await fetch(`${address}/slack/interactions`, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
      });
      await res.text();
      await service.idle();
      return res.status;
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
    return { service, click, entries, close, waits };
  }

  test("a proposal posted by bot token to the team's channel is updated in place through approved → executed", async () => {
    const ns = uniqueNs('bot');
    await createDeployment(kube.client, ns, 'checkout', 4);
    const w = await world();
    try {
      const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'checkout', from: 4, to: 2 });
      const callsBefore = slack.apiCalls.length;
      await w.service.onReport(report);
      await w.service.idle();
      const post = slack.apiCalls[callsBefore];
      assert.equal(post?.method, 'chat.postMessage');
      assert.equal(post?.auth, `Bearer ${slack.botToken}`);
      assert.equal(post?.args.channel, 'C0PAYMENTS', 'team payments → its mapped channel');
      const posted = w.entries().find((e) => e.event === 'posted' && e.proposal === report.proposal.id);
      assert.ok(posted, 'posted is audited');
      assert.equal(posted.detail.via, 'bot');
      assert.equal(posted.detail.channel, 'C0PAYMENTS');
      const ts = posted.detail.ts as string;
      const msg = slack.apiMessages.get(`C0PAYMENTS|${ts}`);
      assert.ok(msg, 'the fake holds the posted message under the ts it answered');
      assert.ok(
        msg.blocks?.some((b) => b.type === 'actions'),
        'Approve/Reject buttons posted',
      );

      // A non-approver's click changes nothing: answered to the clicker alone, the message untouched.
      const responses = slack.responses.length;
      assert.equal(await w.click(report.proposal.id, { id: 'U0MALLORY', username: 'mallory' }), 200);
      assert.equal(slack.responses.length, responses + 1);
      assert.equal(slack.responses.at(-1)?.response_type, 'ephemeral');
      assert.match(String(slack.responses.at(-1)?.text), /mallory is not an approver/);
      assert.equal(slack.apiCalls.slice(callsBefore).filter((c) => c.method === 'chat.update').length, 0);

      assert.equal(await w.click(report.proposal.id), 200);
      assert.equal(await replicasOf(kube.client, ns, 'checkout'), 2, 'the approval executed on the cluster');
      assert.equal(slack.responses.length, responses + 1, 'the outcome is shown in place, not posted again');
      const updates = slack.apiCalls.slice(callsBefore).filter((c) => c.method === 'chat.update');
      assert.equal(updates.length, 2, 'two updates: approved, then executed');
      for (const u of updates) {
        assert.equal(u.args.ts, ts, 'the same message is updated in place');
        assert.equal(u.args.channel, 'C0PAYMENTS');
      }
      assert.match(String(updates[0]?.args.text), /approved by alice; executing/);
      assert.match(String(updates[1]?.args.text), /executed, approved by alice/);
      // The final state is what the channel shows; the buttons are gone from it.
      assert.match(msg.text, /executed, approved by alice/);
      assert.equal(msg.history.length, 2);
      assert.ok(!msg.blocks?.some((b) => b.type === 'actions'), 'no buttons left on a decided proposal');
      const thread = [...slack.apiMessages.values()].filter((m) => m.thread_ts === ts);
      assert.equal(thread.length, 1, 'the details go to the thread');
      assert.match(thread[0]?.text ?? '', new RegExp(`scaled ${ns}/checkout 4 → 2`));
      assert.ok(
        thread[0]?.blocks?.some((b) => b.type === 'actions'),
        'the thread reply carries the Roll back button',
      );
      assert.ok(!w.entries().some((e) => e.event === 'post_failed'));
    } finally {
      await w.close();
    }
  });

  test('a team without a mapping goes to the default channel', async () => {
    const w = await world();
    try {
      const report = {
        ...reportWith({ incident: 'inc-nomap', namespace: 'nomap', name: 'web', from: 3, to: 2 }),
        team: 'checkout-team',
      };
      const before = slack.apiCalls.length;
      await w.service.onReport(report);
      await w.service.idle();
      const post = slack.apiCalls[before];
      assert.equal(post?.args.channel, '#incidents');
      const posted = w.entries().find((e) => e.event === 'posted');
      assert.equal(posted?.detail.channel, 'C0DEFAULT', 'Slack answers the channel ID, kept for updates');
    } finally {
      await w.close();
    }
  });

  test('errors from Slack are audited and never crash: channel_not_found, invalid_auth, ratelimited beyond the bound', async () => {
    const w = await world({ channels: { payments: '#no-such-channel' } });
    const bad = await world({ token: 'xoxb-revoked' });
    try {
      const r1 = reportWith({ incident: 'inc-err-1', namespace: 'e1', name: 'web', from: 3, to: 2 });
      await w.service.onReport(r1);
      await w.service.idle();
      const f1 = w.entries().find((e) => e.event === 'post_failed' && e.proposal === r1.proposal.id);
      assert.match(String(f1?.detail.error), /chat\.postMessage: channel_not_found/);
      assert.equal(f1?.detail.attempts, 1, 'a platform error is not retried');

      const r2 = reportWith({ incident: 'inc-err-2', namespace: 'e2', name: 'web', from: 3, to: 2 });
      await bad.service.onReport(r2);
      await bad.service.idle();
      const f2 = bad.entries().find((e) => e.event === 'post_failed' && e.proposal === r2.proposal.id);
      assert.match(String(f2?.detail.error), /invalid_auth/);

      // 429 with a Retry-After within the bound: waited for, then posted.
      const r3 = reportWith({ incident: 'inc-err-3', namespace: 'e3', name: 'web', from: 3, to: 2 });
      slack.apiRateLimitNext(2, 2);
      await bad.close();
      const ok = await world();
      try {
        await ok.service.onReport(r3);
        await ok.service.idle();
        const p3 = ok.entries().find((e) => e.event === 'posted' && e.proposal === r3.proposal.id);
        assert.equal(p3?.detail.attempts, 3, 'two 429s, then posted');
        assert.deepEqual(ok.waits.slice(0, 2), [2000, 2000], 'Retry-After honoured');
        // Beyond exec.slack.maxRetryAfter (5s): not waited for, audited.
        const r4 = reportWith({ incident: 'inc-err-4', namespace: 'e4', name: 'web', from: 3, to: 2 });
        slack.apiRateLimitNext(1, 60);
        await ok.service.onReport(r4);
        await ok.service.idle();
        const f4 = ok.entries().find((e) => e.event === 'post_failed' && e.proposal === r4.proposal.id);
        assert.match(String(f4?.detail.error), /ratelimited \(Retry-After 60s\) is beyond the limit/);
        assert.equal(ok.waits.length, 2, 'no wait for a Retry-After beyond the bound');
        // An update that fails (Slack error) is audited; the decision itself stands.
        const ns = uniqueNs('boterr');
        await createDeployment(kube.client, ns, 'api', 3);
        const r5 = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'api', from: 3, to: 2 });
        await ok.service.onReport(r5);
        await ok.service.idle();
        slack.apiFailNext(1, 'message_not_found');
        assert.equal(await ok.click(r5.proposal.id), 200);
        assert.equal(ok.service.state(r5.proposal.id), 'executed');
        const f5 = ok.entries().find((e) => e.event === 'post_failed' && e.proposal === r5.proposal.id);
        assert.equal(f5?.detail.op, 'chat.update');
        assert.match(String(f5?.detail.error), /message_not_found/);
      } finally {
        await ok.close();
      }
    } finally {
      await w.close();
    }
  });
});
