// Pieces of the exec stage that need no API server: Slack signatures, webhook retries against the Slack
// FAKE, policy bounds, the message's Slack limits, the ledger's chain.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { execConfig } from '../../src/core/config-exec.ts';
import { AuditLedger, verifyLedgerFile } from '../../src/exec/audit.ts';
import { policyViolation } from '../../src/exec/policy.ts';
import { proposalMessage, SECTION_MAX } from '../../src/exec/slack-message.ts';
import { slackSignature, verifySlackSignature } from '../../src/exec/slack-signature.ts';
import { postJson } from '../../src/exec/slack-webhook.ts';
import { reportWith } from './helpers.ts';
import { startSlackFake } from './slack-fake.ts';

test('slack signature: Slack documentation example verifies; tampered body, stale and future refused', () => {
  // The example from https://api.slack.com/authentication/verifying-requests-from-slack
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const ts = '1531420618';
  const body = Buffer.from(
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  );
  const sig = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
  assert.equal(slackSignature(secret, ts, body), sig);
  const at = (nowS: number, b = body, s = sig) =>
    verifySlackSignature({
      secret,
      timestamp: ts,
      signature: s,
      rawBody: b,
      nowMs: nowS * 1000,
      toleranceMs: 300_000,
    });
  assert.deepEqual(at(1531420618 + 299), { ok: true });
  assert.deepEqual(at(1531420618 + 301), { ok: false, reason: 'stale' });
  assert.deepEqual(at(1531420618 - 301), { ok: false, reason: 'future' });
  assert.deepEqual(at(1531420618, Buffer.concat([body, Buffer.from(' ')])), {
    ok: false,
    reason: 'mismatch',
  });
  assert.deepEqual(at(1531420618, body, 'v0=00'), { ok: false, reason: 'mismatch' });
});

test('webhook: 429 is retried after Retry-After (bounded); a too-long Retry-After fails', async () => {
  const slack = await startSlackFake();
  try {
    const waits: number[] = [];
    const delay = async (ms: number) => {
      waits.push(ms);
    };
    slack.rateLimitNext(2, 3);
    const r = await postJson(
      slack.webhookUrl,
      { text: 'hi' },
      { timeoutMs: 2000, maxAttempts: 4, maxRetryAfterMs: 30_000, delay },
    );
    assert.deepEqual(r, { ok: true, attempts: 3 });
    assert.deepEqual(waits, [3000, 3000]);
    assert.equal(slack.messages.length, 1);
    slack.rateLimitNext(1, 120);
    const r2 = await postJson(
      slack.webhookUrl,
      { text: 'hi' },
      { timeoutMs: 2000, maxAttempts: 4, maxRetryAfterMs: 30_000, delay },
    );
    assert.equal(r2.ok, false);
    slack.rateLimitNext(10, 1);
    const r3 = await postJson(
      slack.webhookUrl,
      { text: 'hi' },
      { timeoutMs: 2000, maxAttempts: 3, maxRetryAfterMs: 30_000, delay },
    );
    assert.deepEqual({ ok: r3.ok, attempts: r3.attempts }, { ok: false, attempts: 3 });
  } finally {
    await slack.close();
  }
});

test('policy: namespaces, min/max, max step, cool-down', () => {
  const p = execConfig({
    policy: { namespaces: ['prod-*'], minReplicas: 1, maxReplicas: 20, maxStep: 5, cooldown: '10m' },
  }).policy;
  const ok = { now: 1_000_000, lastActionAt: undefined };
  assert.equal(policyViolation(p, { namespace: 'prod-eu', from: 4, to: 2 }, ok), null);
  assert.match(policyViolation(p, { namespace: 'staging', from: 4, to: 2 }, ok)!, /namespace/);
  assert.match(policyViolation(p, { namespace: 'prod-eu', from: 1, to: 0 }, ok)!, /minReplicas/);
  assert.match(policyViolation(p, { namespace: 'prod-eu', from: 18, to: 21 }, ok)!, /maxReplicas/);
  assert.match(policyViolation(p, { namespace: 'prod-eu', from: 10, to: 2 }, ok)!, /maxStep/);
  assert.match(
    policyViolation(p, { namespace: 'prod-eu', from: 4, to: 2 }, { now: 1_000_000, lastActionAt: 999_000 })!,
    /cooling down/,
  );
});

test('proposal message: within Slack limits, button value is the proposal id', () => {
  const r = reportWith({ incident: 'inc', namespace: 'prod', name: 'x', from: 10, to: 2 });
  r.impact.summary = 'y'.repeat(10_000);
  const m = proposalMessage(r, 'dry-run');
  assert.ok(m.blocks.length <= 50);
  for (const b of m.blocks) {
    const t = (b as { text?: { text?: string } }).text?.text;
    if (t) assert.ok(t.length <= SECTION_MAX);
  }
  const actions = m.blocks.find((b) => b.type === 'actions') as { elements: { value: string }[] };
  assert.deepEqual(
    actions.elements.map((e) => e.value),
    [r.proposal.id, r.proposal.id],
  );
});

test('ledger: reopening continues the chain; a broken ledger is not extended', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-ledger-'));
  try {
    const file = join(dir, 'a.jsonl');
    const a = await new AuditLedger({ file }).open();
    await a.append({
      actor: 'kubetriage',
      event: 'proposed',
      incident: 'i',
      proposal: 'p',
      detail: { n: 1 },
    });
    await a.close();
    const b = await new AuditLedger({ file }).open();
    await b.append({ actor: 'kubetriage', event: 'posted', incident: 'i', proposal: 'p', detail: {} });
    await b.close();
    assert.deepEqual(await verifyLedgerFile(file), { ok: true, entries: 2, head: b.head });
    writeFileSync(file, readFileSync(file, 'utf8').replace('"n":1', '"n":2'));
    await assert.rejects(new AuditLedger({ file }).open(), /broken at line 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ledger: concurrent appends are group-committed (one fsync per batch), in call order, chain intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-ledger-'));
  try {
    const file = join(dir, 'g.jsonl');
    const registry = new Registry();
    const l = await new AuditLedger({ file, registry }).open();
    const n = 2000;
    const all = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        l.append({ actor: 'kubetriage', event: 'ignored', incident: null, proposal: null, detail: { i } }),
      ),
    );
    await l.close();
    assert.deepEqual(
      all.map((e) => [e.seq, e.detail.i]),
      Array.from({ length: n }, (_, i) => [i + 1, i]),
    );
    const metric = async (name: string) =>
      (await registry.getMetricsAsJSON()).find((m) => m.name === name)!.values[0]!.value;
    assert.equal(await metric('kubetriage_audit_entries_written_total'), n);
    const batches = await metric('kubetriage_audit_batches_total');
    assert.ok(batches <= n / 100, `${batches} fsyncs for ${n} entries`);
    assert.deepEqual(await verifyLedgerFile(file), { ok: true, entries: n, head: l.head });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('regression: an entry appended by a caller that just awaited the previous one is written (none waits without a writer)', async () => {
  // The writer resolved entry N, then its own promise settled a microtask later: an append in between
  // saw a writer still "running" and was left in the queue forever (found by the redaction test).
  const file = join(mkdtempSync(join(tmpdir(), 'kt-ledger-')), 'audit.jsonl');
  const ledger = await new AuditLedger({ file }).open();
  let written = 0;
  // A plain `await` on each append (no race helper: its extra ticks would hide the bug); the watchdog
  // fails the test instead of letting it hang.
  const watchdog = setTimeout(() => assert.fail(`append ${written} was never written`), 10_000);
  try {
    for (let i = 0; i < 20; i++) {
      await ledger.append({ actor: 'test', event: 'proposed', incident: 'i', proposal: 'p', detail: { i } });
      written++;
    }
  } finally {
    clearTimeout(watchdog);
  }
  await ledger.close();
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 20);
  assert.equal((await verifyLedgerFile(file)).ok, true);
});
