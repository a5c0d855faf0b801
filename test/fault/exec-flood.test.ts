// A flood of 10,000 forged Slack interactions (bad signatures, claimed user ids of 1 KiB, some bodies
// of 700 KiB) against the exec HTTP surface in its own process: it stays up, /healthz keeps answering (its p99 during the flood is measured and
// reported; the 100 ms target is bench's to enforce), the ledger grows by one summary entry, not one
// line a request, and a genuine signed approval still goes through.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { AuditEntry } from '../../src/exec/audit.ts';
import { ACTION_APPROVE } from '../../src/exec/slack-message.ts';
import { interaction, type SlackFake, startSlackFake } from '../exec/slack-fake.ts';
import { APPROVER, SECRET, watchRejections } from './exec-world.ts';

const FLOOD = 10_000;
const HUGE = 100;
const CONCURRENCY = 32;
const SUMMARY_MS = 2_000;

describe('exec: a flood of forged interactions', () => {
  let slack: SlackFake;
  const rejections = watchRejections();
  before(async () => {
    slack = await startSlackFake();
  });
  after(async () => {
    rejections.stop();
    await slack.close();
  });

  test('regression: 10,000 forged requests: process alive, ledger growth bounded (a summary entry per interval), /healthz answering, a signed approval still works', async () => {
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, ['test/fault/exec-flood-server.ts'], {
      env: {
        ...process.env,
        SLACK_WEBHOOK_URL: slack.webhookUrl,
        SLACK_RESPONSE_URL: slack.responseUrl,
        FORGED_SUMMARY_MS: String(SUMMARY_MS),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let exited: number | null | undefined;
    child.on('exit', (code) => {
      exited = code;
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
      const {
        address,
        file,
        proposal: id,
      } = JSON.parse(line) as { address: string; file: string; proposal: string };
      const entries = () =>
        readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as AuditEntry);
      const sizeBefore = statSync(file).size;
      const forged = (i: number) =>
        interaction({
          secret: SECRET,
          userId: `U${'X'.repeat(1024)}${i}`,
          username: 'mallory',
          actionId: ACTION_APPROVE,
          value: id,
          responseUrl: slack.responseUrl,
          signWith: 'not-the-secret',
        });
      const huge = { body: `payload=${'A'.repeat(700 * 1024)}`, headers: forged(0).headers };
      const statuses = new Map<number | string, number>();
      const healthz: number[] = [];
      let flooding = true;
      const probe = (async () => {
        while (flooding) {
          const t = performance.now();
          const r = await fetch(`${address}/healthz`);
          await r.text();
          healthz.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const t0 = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < FLOOD) {
          const i = next++;
          const req = i % (FLOOD / HUGE) === 0 ? huge : forged(i);
          let key: number | string;
          try {
            const res = await fetch(`${address}/slack/interactions`, {
              method: 'POST',
              headers: req.headers,
              body: req.body,
            });
            await res.text();
            key = res.status;
          } catch (err) {
            // The server may close the socket on a 700 KiB body it refused by Content-Length.
            key = (err as Error).name;
          }
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const floodMs = performance.now() - t0;
      flooding = false;
      await probe;
      assert.equal(exited, undefined, 'process alive');

      // A genuine, signed click after the flood (the rate limit spends nothing on signed requests).
      const click = interaction({
        secret: SECRET,
        userId: APPROVER.id,
        username: APPROVER.username,
        actionId: ACTION_APPROVE,
        value: id,
        responseUrl: slack.responseUrl,
      });
      const before = slack.responses.length;
      const ok = await fetch(`${address}/slack/interactions`, {
        method: 'POST',
        headers: click.headers,
        body: click.body,
      });
      assert.equal(ok.status, 200);
      const metrics = await (await fetch(`${address}/metrics`)).text();
      const forgedMetric = [
        ...metrics.matchAll(/^kubetriage_exec_forged_requests_total\{[^}]*\} (\d+)/gm),
      ].reduce((a, m) => a + Number(m[1]), 0);
      child.kill('SIGTERM');
      await once(child, 'exit');
      const livedMs = performance.now() - spawnedAt;
      assert.equal(exited, 0, 'clean exit on SIGTERM');
      assert.ok(slack.responses.length > before, 'the approval was answered');
      const es = entries();
      assert.ok(es.some((e) => e.event === 'approved' && e.proposal === id));
      const summaries = es.filter((e) => e.event === 'forged_requests');
      const counted = summaries.reduce((a, e) => a + (e.detail.count as number), 0);
      const refused = (statuses.get(401) ?? 0) + (statuses.get(429) ?? 0);
      assert.equal(counted, refused, JSON.stringify(Object.fromEntries(statuses)));
      assert.equal(forgedMetric, refused);
      assert.ok(
        summaries.length <= Math.ceil(livedMs / SUMMARY_MS) + 1,
        `${summaries.length} summaries in ${livedMs.toFixed(0)} ms: one per interval at most`,
      );
      assert.ok((statuses.get(429) ?? 0) > 0, 'the rate limit answered 429 once the budget was spent');
      assert.equal([...statuses.keys()].filter((k) => typeof k === 'number' && k >= 500).length, 0);
      assert.doesNotMatch(JSON.stringify(summaries), /XXXX/, 'no claimed ids stored');
      const growth = statSync(file).size - sizeBefore;
      // Bounded by time (a summary of ~1 KiB per interval), not by the number or size of requests.
      assert.ok(growth < (summaries.length + 4) * 2048, `ledger grew ${growth} bytes`);
      assert.deepEqual(rejections.seen, []);

      healthz.sort((a, b) => a - b);
      const p = (q: number) =>
        healthz[Math.min(healthz.length - 1, Math.floor(q * healthz.length))] ?? Number.NaN;
      // Reported, asserted loosely (a loaded 2-core CI machine); the 100 ms target belongs to bench.
      assert.ok(healthz.length > 0 && p(0.99) < 5_000, `healthz p99 ${p(0.99)} ms`);
      process.stdout.write(
        `# figure: forged flood: ${FLOOD} requests in ${floodMs.toFixed(0)} ms (${JSON.stringify(Object.fromEntries(statuses))}); /healthz n=${healthz.length} p50 ${p(0.5).toFixed(1)} ms p99 ${p(0.99).toFixed(1)} ms max ${healthz.at(-1)!.toFixed(1)} ms; ledger +${growth} bytes (${summaries.length} forged_requests entries); process alive\n`,
      );
    } finally {
      if (exited === undefined) child.kill('SIGKILL');
    }
  });
});
