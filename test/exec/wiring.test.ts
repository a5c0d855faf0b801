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
});
