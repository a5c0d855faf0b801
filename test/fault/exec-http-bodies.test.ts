// Defect 1 (an error inside an approval exited the process) and malformed interaction bodies of every
// shape: each answered 4xx (never 5xx), nothing decided, no unhandled rejection, the server still up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ExecKube } from '../../src/exec/index.ts';
import { type SlackFake, signed, startSlackFake } from '../exec/slack-fake.ts';
import { APPROVER, execWorld, SECRET, watchRejections } from './exec-world.ts';

describe('exec: errors inside approvals and malformed interaction bodies', () => {
  let slack: SlackFake;
  const rejections = watchRejections();
  before(async () => {
    slack = await startSlackFake();
  });
  after(async () => {
    rejections.stop();
    await slack.close();
  });

  test('regression: an API server answering 200 {} to the scale read fails the approval (audited), no rejection escapes, later clicks are answered', async () => {
    // The scale read's answer has no spec/metadata: what an API server (or a proxy in front of it) sent.
    const emptyAnswers = {
      readScale: async () => ({}),
      replaceScale: async () => ({}),
    } as unknown as ExecKube;
    const w = await execWorld({ slack, kube: emptyAnswers });
    try {
      const id = await w.propose();
      const before = slack.responses.length;
      assert.equal(await w.click(id, { actionTs: '1.1' }), 200);
      assert.equal(w.service.state(id), 'failed', 'not stuck in approved');
      const failed = w.entries().find((e) => e.event === 'failed');
      assert.ok(failed, 'the failure is audited');
      assert.equal(failed.detail.reason, 'internal error');
      assert.match(String(failed.detail.error), /replicas|undefined/);
      assert.match(JSON.stringify(slack.responses.slice(before)), /approve of .* failed: /);
      // A later click is answered (ignored: already failed), not a 409 on a proposal stuck in approved.
      assert.equal(await w.click(id, { actionTs: '1.2' }), 200);
      assert.equal(w.entries().at(-1)!.event, 'ignored');
      assert.equal(w.entries().at(-1)!.detail.reason, 'already failed');
      assert.deepEqual(rejections.seen, [], 'no unhandled rejection');
    } finally {
      await w.close();
    }
  });

  test('regression: a signed click whose button value is {"toString":null}, a number or too long: 400, nothing decided', async () => {
    const w = await execWorld({ slack });
    try {
      const id = await w.propose();
      const n = w.entries().length;
      assert.equal(await w.click({ toString: null }), 400);
      assert.equal(await w.click(12345), 400);
      assert.equal(await w.click('x'.repeat(2001)), 400);
      assert.equal(await w.click(null), 400);
      assert.equal(w.entries().length, n, 'nothing audited, nothing decided');
      assert.equal(w.service.state(id), 'pending');
      assert.deepEqual(rejections.seen, []);
      assert.equal(await w.click(id), 200, 'the service still decides');
      assert.equal(w.entries().find((e) => e.event === 'approved')?.proposal, id);
    } finally {
      await w.close();
    }
  });

  test('malformed bodies of every shape, signed and unsigned: 4xx, never 5xx; process alive', async () => {
    const w = await execWorld({ slack });
    try {
      const form = (payload: string) => `payload=${encodeURIComponent(payload)}`;
      const block = (over: Record<string, unknown>) =>
        JSON.stringify({
          type: 'block_actions',
          user: { id: APPROVER.id, username: APPROVER.username },
          actions: [{ action_id: 'kubetriage_approve', value: 'p', action_ts: '1.1' }],
          response_url: slack.responseUrl,
          ...over,
        });
      const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
      const FORM = 'application/x-www-form-urlencoded';
      const cases: { name: string; body: string | Buffer; type?: string }[] = [
        { name: 'empty', body: '' },
        { name: 'not form-encoded (binary)', body: Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x25, 0x25]) },
        { name: 'form without payload', body: 'token=x&team_id=T1' },
        { name: 'payload not JSON', body: form('{"type":') },
        { name: 'payload JSON null', body: form('null') },
        { name: 'payload JSON array', body: form('[1,2]') },
        { name: 'user.id a number', body: form(block({ user: { id: 42 } })) },
        { name: 'user missing', body: form(block({ user: undefined })) },
        { name: 'actions not an array', body: form(block({ actions: { value: 'p' } })) },
        { name: 'actions empty', body: form(block({ actions: [] })) },
        { name: 'actions[0].value a number', body: form(block({ actions: [{ action_id: 'a', value: 7 }] })) },
        { name: 'action_id an object', body: form(block({ actions: [{ action_id: {}, value: 'p' }] })) },
        { name: 'response_url not a URL', body: form(block({ response_url: 'javascript:alert(1)' })) },
        { name: 'user.id 10 KB', body: form(block({ user: { id: 'U'.repeat(10_000) } })) },
        // `[` needs no encoding in a form, so 20,000 levels fit in the body limit.
        {
          name: 'deep nesting (20,000 levels)',
          body: `payload={"type":"block_actions","user":${deep(20_000)}}`,
        },
        { name: 'huge (1 MiB)', body: `payload=${'a'.repeat(1024 * 1024)}` },
        { name: 'JSON content-type', body: block({}), type: 'application/json' },
        { name: 'text/plain', body: form(block({})), type: 'text/plain' },
        { name: 'unknown content-type', body: form(block({})), type: 'application/xml' },
        { name: 'multipart', body: '--x\r\n\r\n--x--', type: 'multipart/form-data; boundary=x' },
      ];
      const statuses: Record<string, [number, number]> = {};
      for (const c of cases) {
        const type = c.type ?? FORM;
        const s = signed(SECRET, c.body, undefined, type);
        const good = await w.post(s.body, s.headers);
        const forged = await w.post(c.body, { ...s.headers, 'x-slack-signature': 'v0=00' });
        statuses[c.name] = [good.status, forged.status];
      }
      const bad = Object.entries(statuses).filter(([, [a, b]]) => a < 400 || a >= 500 || b < 400 || b >= 500);
      assert.deepEqual(bad, [], JSON.stringify(statuses));
      assert.equal(statuses['huge (1 MiB)']![0], 413);
      assert.equal(statuses['actions[0].value a number']![0], 400);
      assert.equal((await fetch(`${w.address}/healthz`)).status, 200);
      assert.deepEqual(rejections.seen, []);
      w.service.flushForged();
      await w.service.idle();
      assert.deepEqual(
        w.entries().map((e) => e.event),
        ['forged_requests'],
        'nothing decided; the forged ones summed in one entry',
      );
    } finally {
      await w.close();
    }
  });
});
