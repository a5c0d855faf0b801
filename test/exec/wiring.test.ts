// The exec stage as `run` composes it: shutdown (close) waits for Slack posts in flight, so a proposal
// that was sent is also audited as posted. The webhook here is a FAKE Slack on a loopback socket that
// answers like Slack's incoming webhooks (200 "ok"), slowly.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { wireExec } from '../../src/cli/exec-wiring.ts';
import { validateConfig } from '../../src/core/config.ts';
import { reportWith } from './helpers.ts';
import { startSlackFake } from './slack-fake.ts';

describe('exec wiring', () => {
  it('close() waits for a Slack post in flight; the ledger then says posted', async () => {
    const bodies: string[] = [];
    const slack = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () =>
        setTimeout(() => {
          bodies.push(body);
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        }, 400),
      );
    });
    await new Promise<void>((r) => slack.listen(0, '127.0.0.1', () => r()));
    const port = (slack.address() as { port: number }).port;
    const file = join(mkdtempSync(join(tmpdir(), 'kt-exec-wiring-')), 'audit.jsonl');
    const app = Fastify();
    try {
      const w = await wireExec({
        config: validateConfig({ exec: { audit: { file }, policy: { namespaces: ['shop'] } } }),
        log: pino({ level: 'silent' }),
        registry: new Registry(),
        http: app,
        env: { SLACK_WEBHOOK_URL: `http://127.0.0.1:${port}/services/T0/B0/x` },
      });
      w.onReport(
        Buffer.from(
          JSON.stringify(reportWith({ incident: 'inc-1', namespace: 'shop', name: 'cart', from: 6, to: 3 })),
        ),
      );
      assert.equal(await w.close(5_000), true);
      assert.equal(bodies.length, 1, 'the post reached Slack before close() resolved');
      const events = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { event: string }).event);
      assert.deepEqual(events.slice(0, 2), ['proposed', 'posted']);
    } finally {
      await app.close();
      await new Promise<void>((r) => slack.close(() => r()));
    }
  });

  it('SLACK_BOT_TOKEN selects the Slack app (bot) mode: the proposal goes to the team channel by chat.postMessage', async () => {
    const slack = await startSlackFake();
    const file = join(mkdtempSync(join(tmpdir(), 'kt-exec-wiring-')), 'audit.jsonl');
    const app = Fastify();
    const config = (slackCfg: Record<string, unknown>) =>
      validateConfig({
        exec: {
          audit: { file },
          policy: { namespaces: ['shop'] },
          slack: { apiUrl: slack.apiUrl, ...slackCfg },
        },
      });
    const base = { log: pino({ level: 'silent' }), registry: new Registry(), http: app };
    try {
      await assert.rejects(
        wireExec({ ...base, config: config({ transport: 'bot' }), env: {} }),
        /transport is bot but SLACK_BOT_TOKEN is not set/,
      );
      await assert.rejects(
        wireExec({ ...base, config: config({}), env: { SLACK_BOT_TOKEN: slack.botToken } }),
        /needs exec\.slack\.defaultChannel or exec\.slack\.channels/,
      );
      const w = await wireExec({
        ...base,
        config: config({ channels: { payments: '#payments-oncall' }, defaultChannel: 'C0DEFAULT' }),
        env: { SLACK_BOT_TOKEN: slack.botToken, SLACK_WEBHOOK_URL: slack.webhookUrl },
      });
      w.onReport(reportWith({ incident: 'inc-bot', namespace: 'shop', name: 'cart', from: 6, to: 3 }));
      assert.equal(await w.close(5_000), true);
      assert.equal(slack.messages.length, 0, 'the bot token wins over the webhook (transport auto)');
      const call = slack.apiCalls.find((c) => c.method === 'chat.postMessage');
      assert.equal(call?.args.channel, '#payments-oncall');
      const posted = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; detail: Record<string, unknown> })
        .find((e) => e.event === 'posted');
      assert.equal(posted?.detail.via, 'bot');
      assert.equal(posted?.detail.channel, 'C0PAYMENTS');
    } finally {
      await app.close();
      await slack.close();
    }
  });
});
