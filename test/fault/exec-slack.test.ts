// Slack failing under the approval service (the FAKE of test/exec/slack-fake.ts, speaking Slack's
// formats): 5xx, 429 with Retry-After, and a webhook that never answers. Retries stay within their
// bounds, each outcome is audited (posted with attempts, or post_failed with the reason), the process
// stays up, and the next proposal posts once Slack is back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SlackFake, startSlackFake } from '../exec/slack-fake.ts';
import { execWorld, watchRejections } from './exec-world.ts';

describe('exec: Slack faults', () => {
  let slack: SlackFake;
  const rejections = watchRejections();
  before(async () => {
    slack = await startSlackFake();
  });
  after(async () => {
    rejections.stop();
    await slack.close();
  });

  const lastPost = (w: Awaited<ReturnType<typeof execWorld>>, id: string) =>
    w
      .entries()
      .filter((e) => e.proposal === id && (e.event === 'posted' || e.event === 'post_failed'))
      .at(-1)!;

  test('5xx: retried, then posted; 5xx on every attempt: post_failed with the status', async () => {
    const w = await execWorld({ slack, slackConfig: { maxAttempts: 3 } });
    try {
      slack.failNext(2, 503);
      const a = await w.propose();
      assert.deepEqual([lastPost(w, a).event, lastPost(w, a).detail.attempts], ['posted', 3]);
      slack.failNext(3, 500);
      const b = await w.propose();
      const failed = lastPost(w, b);
      assert.equal(failed.event, 'post_failed');
      assert.equal(failed.detail.attempts, 3);
      assert.match(String(failed.detail.error), /HTTP 500: internal_error/);
      const c = await w.propose();
      assert.equal(lastPost(w, c).event, 'posted', 'the next proposal posts once Slack is back');
      assert.deepEqual(rejections.seen, []);
    } finally {
      await w.close();
    }
  });

  test('429 with Retry-After: waited as asked, then posted; a Retry-After beyond the limit: post_failed at once', async () => {
    const w = await execWorld({ slack, slackConfig: { maxAttempts: 3, maxRetryAfter: '5s' } });
    try {
      slack.rateLimitNext(1, 2);
      const a = await w.propose();
      assert.deepEqual([lastPost(w, a).event, lastPost(w, a).detail.attempts], ['posted', 2]);
      slack.rateLimitNext(1, 60);
      const b = await w.propose();
      const failed = lastPost(w, b);
      assert.equal(failed.event, 'post_failed');
      assert.equal(failed.detail.attempts, 1);
      assert.match(
        String(failed.detail.error),
        /HTTP 429: rate_limited \(Retry-After 60s is beyond the limit\)/,
      );
      assert.deepEqual(rejections.seen, []);
    } finally {
      await w.close();
    }
  });

  test('a webhook that never answers: each attempt times out, post_failed within attempts × timeout, process alive', async () => {
    const w = await execWorld({ slack, slackConfig: { maxAttempts: 2, timeout: '300ms' } });
    try {
      slack.hangNext(2);
      const n = slack.attempts();
      const t0 = performance.now();
      const a = await w.propose();
      const ms = performance.now() - t0;
      const failed = lastPost(w, a);
      assert.equal(failed.event, 'post_failed');
      assert.match(String(failed.detail.error), /timeout|aborted/i);
      assert.equal(slack.attempts() - n, 2);
      assert.ok(ms >= 550 && ms < 5_000, `bounded by its timeouts: ${ms.toFixed(0)} ms`);
      assert.equal((await fetch(`${w.address}/healthz`)).status, 200);
      const b = await w.propose();
      assert.equal(lastPost(w, b).event, 'posted');
      assert.deepEqual(rejections.seen, []);
      process.stdout.write(
        `# figure: Slack timing out: post_failed after ${ms.toFixed(0)} ms (2 × 300 ms), lost 0 (audited), next post ok\n`,
      );
    } finally {
      await w.close();
    }
  });
});
