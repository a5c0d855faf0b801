// Defects 1 and 3b as an operator meets them, against `kubetriage run` (a real process, a real broker):
// a signed click whose button value is {"toString":null} or a number used to exit the process (an
// unhandled rejection); a ledger with a torn tail used to stop `run` from starting. Now: 400s, the
// process stays up (and still answers a forged flood and /healthz), start-up recovers the torn tail,
// and SIGTERM exits 0 with the ledger verifiable.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { type AuditEntry, AuditLedger, verifyLedgerFile } from '../../src/exec/audit.ts';
import { ACTION_APPROVE } from '../../src/exec/slack-message.ts';
import { interaction, type SlackFake, signed, startSlackFake } from '../exec/slack-fake.ts';
import { freePort } from '../harness/ports.ts';
import { brokers, testTopics, waitFor } from '../helpers/kafka.ts';
import { APPROVER, SECRET } from './exec-world.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

describe('kubetriage run: the exec stage under bad clicks, forged floods and a torn ledger', () => {
  let slack: SlackFake;
  before(async () => {
    slack = await startSlackFake();
  });
  after(() => slack.close());

  test('regression: signed clicks with a {"toString":null} or numeric value are 400 and the process stays up; a torn ledger is recovered at start', {
    timeout: 120_000,
  }, async () => {
    const t = await testTopics(1);
    const dir = mkdtempSync(join(tmpdir(), 'kt-run-exec-'));
    const ledgerFile = join(dir, 'audit.jsonl');
    // A ledger from an earlier life that ended mid-write.
    const old = await new AuditLedger({ file: ledgerFile }).open();
    await old.append({
      actor: 'kubetriage',
      event: 'permissions_checked',
      incident: null,
      proposal: null,
      detail: {},
    });
    await old.close();
    appendFileSync(ledgerFile, '{"schema":"kubetriage.io/audit/v1","seq":2,');
    const cfg = join(dir, 'kubetriage.yaml');
    writeFileSync(
      cfg,
      stringify({
        kafka: {
          groupId: t.group,
          topics: {
            logs: [t.logs],
            metrics: [t.metrics],
            traces: [t.traces],
            contexts: t.contexts,
            dlq: t.dlq,
          },
        },
        exec: {
          approvers: [APPROVER.id],
          audit: { file: ledgerFile },
          slack: { forgedRateLimit: 20, forgedSummaryInterval: '5s' },
        },
      }),
    );
    const port = await freePort();
    const stderr: string[] = [];
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'run', '--config', cfg, '--port', String(port)],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS: brokers(),
          SLACK_WEBHOOK_URL: slack.webhookUrl,
          SLACK_SIGNING_SECRET: SECRET,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    let exit: number | null | undefined;
    child.on('exit', (c) => {
      exit = c;
    });
    const base = `http://127.0.0.1:${port}`;
    let burstStart = performance.now();
    try {
      await waitFor(
        async () =>
          exit !== undefined ||
          (await fetch(`${base}/healthz`).then(
            (r) => r.status === 200,
            () => false,
          )),
        60_000,
        '/healthz',
      );
      assert.equal(exit, undefined, `run started despite the torn tail: ${stderr.join('').slice(-2000)}`);
      const click = async (value: unknown) => {
        const req = interaction({
          secret: SECRET,
          userId: APPROVER.id,
          username: APPROVER.username,
          actionId: ACTION_APPROVE,
          value: 'placeholder',
          responseUrl: slack.responseUrl,
        });
        const payload = JSON.parse(new URLSearchParams(req.body).get('payload')!) as {
          actions: { value: unknown }[];
        };
        payload.actions[0]!.value = value;
        const s = signed(SECRET, `payload=${encodeURIComponent(JSON.stringify(payload))}`);
        const res = await fetch(`${base}/slack/interactions`, {
          method: 'POST',
          headers: s.headers,
          body: s.body,
        });
        return res.status;
      };
      assert.equal(await click({ toString: null }), 400);
      assert.equal(await click(42), 400);
      // An unknown proposal with a proper string value: answered, audited, still alive.
      assert.equal(await click('no-such-proposal'), 200);
      // A forged burst: 401 then 429, never a ledger line each.
      const forged = interaction({
        secret: SECRET,
        userId: `U${'X'.repeat(2000)}`,
        username: 'mallory',
        actionId: ACTION_APPROVE,
        value: 'p',
        responseUrl: slack.responseUrl,
        signWith: 'wrong',
      });
      burstStart = performance.now();
      const codes: number[] = [];
      for (let i = 0; i < 200; i++) {
        const r = await fetch(`${base}/slack/interactions`, {
          method: 'POST',
          headers: forged.headers,
          body: forged.body,
        });
        await r.text();
        codes.push(r.status);
      }
      assert.equal(codes.filter((c) => c === 401).length, 20);
      assert.equal(codes.filter((c) => c === 429).length, 180);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal(exit, undefined, 'still running');
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /kubetriage_exec_forged_requests_total\{reason="mismatch"\} 20/);
      assert.match(metrics, /kubetriage_exec_forged_requests_total\{reason="rate_limited"\} 180/);
    } finally {
      if (exit === undefined) child.kill('SIGTERM');
    }
    const burstMs = performance.now() - burstStart;
    const code = exit !== undefined ? exit : await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 0, stderr.join('').slice(-2000));
    const entries = readFileSync(ledgerFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    assert.equal(entries[1]!.event, 'ledger_recovered');
    assert.equal(entries[1]!.detail.bytes, 43);
    const forgedEntries = entries.filter((e) => e.event === 'forged_requests');
    assert.equal(
      forgedEntries.reduce((a, e) => a + (e.detail.count as number), 0),
      200,
    );
    // One per 5 s interval (plus the one SIGTERM flushes), whatever the number of requests.
    assert.ok(
      forgedEntries.length <= Math.ceil(burstMs / 5_000) + 1,
      `${forgedEntries.length} summaries in ${burstMs.toFixed(0)} ms: summed, not one line each`,
    );
    assert.doesNotMatch(JSON.stringify(entries), /XXXXXXXX/);
    assert.equal(entries.filter((e) => e.event === 'refused').length, 1, 'the unknown proposal');
    assert.ok((await verifyLedgerFile(ledgerFile)).ok);
  });
});
