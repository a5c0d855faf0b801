// The Alertmanager sender's own behaviour against small node:http servers on loopback (what a real
// Alertmanager will not do on demand): 500 then 200 is retried with backoff, 4xx is not, HA posts go to
// every URL, a full queue drops (counted), a config without secrets fails at start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfig, validateConfig } from '../../src/core/config.ts';
import { alertmanagerConfig } from '../../src/core/config-notify.ts';
import { AlertmanagerNotifier, authorizationFrom, backoffMs, postAlerts } from '../../src/notify/index.ts';
import { reportWith } from '../exec/helpers.ts';
import { sumMetric } from './metric-sum.ts';

const log = pino({ level: 'silent' });

interface Hit {
  at: number;
  body: unknown;
  auth: string | undefined;
}

async function server(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  const hits: Hit[] = [];
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({
        at: Date.now(),
        body: JSON.parse(Buffer.concat(chunks).toString()),
        auth: req.headers.authorization,
      });
      answer(hits.length, req, res);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${a.port}`,
    hits,
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

const opts = { timeoutMs: 2000, attempts: 4, initialBackoffMs: 200, maxBackoffMs: 1000 };

test('postAlerts: 500 then 200 is retried after a backoff and counts as sent', async () => {
  const s = await server((n, req, res) => {
    assert.equal(req.url, '/api/v2/alerts');
    res.writeHead(n === 1 ? 500 : 200).end(n === 1 ? 'boom' : '');
  });
  const retries: string[] = [];
  const out = await postAlerts(s.url, [{ labels: { a: 'b' } }], {
    ...opts,
    onRetry: (_n, why) => retries.push(why),
  });
  await s.close();
  assert.deepEqual(out, { result: 'sent', attempts: 2, detail: '200' });
  assert.deepEqual(retries, ['HTTP 500: boom']);
  // Backoff of try 1 is between initial/2 and initial.
  const gap = (s.hits[1]?.at ?? 0) - (s.hits[0]?.at ?? 0);
  assert.ok(gap >= 100, `waited ${gap} ms before retrying`);
  assert.deepEqual(s.hits[1]?.body, [{ labels: { a: 'b' } }]);
});

test('postAlerts: 400 is rejected at once; 503 forever fails after the bounded attempts; refused connection fails', async () => {
  const bad = await server((_n, _q, res) => res.writeHead(400).end('{"message":"bad alert"}'));
  const r1 = await postAlerts(bad.url, [{}], opts);
  await bad.close();
  assert.equal(r1.result, 'rejected');
  assert.equal(r1.attempts, 1);
  assert.equal(bad.hits.length, 1);

  const down = await server((_n, _q, res) => res.writeHead(503).end());
  const r2 = await postAlerts(down.url, [{}], {
    ...opts,
    attempts: 3,
    initialBackoffMs: 10,
    maxBackoffMs: 20,
  });
  await down.close();
  assert.equal(r2.result, 'failed');
  assert.equal(down.hits.length, 3);

  const r3 = await postAlerts(down.url, [{}], {
    ...opts,
    attempts: 2,
    initialBackoffMs: 10,
    maxBackoffMs: 20,
  });
  assert.equal(r3.result, 'failed');
  assert.match(r3.detail, /ECONNREFUSED/);
});

test('backoff doubles per try and is capped', () => {
  const mid = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 500, 4000, mid)),
    [375, 750, 1500, 3000, 3000, 3000],
  );
});

test('notifier: every Alertmanager of an HA pair gets the alerts, with the bearer token; a failing one is counted', async () => {
  const ok = await server((_n, _q, res) => res.writeHead(200).end());
  const broken = await server((_n, _q, res) => res.writeHead(500).end());
  const registry = new Registry();
  const n = new AlertmanagerNotifier({
    config: alertmanagerConfig({
      enabled: true,
      urls: [ok.url, broken.url],
      auth: 'bearer',
      retry: { attempts: 2, initialBackoff: '10ms', maxBackoff: '20ms' },
    }),
    log,
    registry,
    env: { KUBETRIAGE_ALERTMANAGER_TOKEN: 's3cret' },
  });
  n.onReport(reportWith({ incident: 'inc-ha', namespace: 'shop', name: 'web', from: 3, to: 1 }));
  assert.equal(await n.close(5000), true);
  await ok.close();
  await broken.close();
  assert.equal(ok.hits.length, 1);
  assert.equal(broken.hits.length, 2);
  assert.equal(ok.hits[0]?.auth, 'Bearer s3cret');
  const text = await registry.metrics();
  assert.equal(sumMetric(text, 'kubetriage_alertmanager_posts_total', { result: 'sent' }), 1);
  assert.equal(sumMetric(text, 'kubetriage_alertmanager_posts_total', { result: 'retried' }), 1);
  assert.equal(sumMetric(text, 'kubetriage_alertmanager_posts_total', { result: 'failed' }), 1);
});

test('notifier: a hanging Alertmanager never blocks onReport; the full queue drops (counted); close is bounded', async () => {
  // Answers nothing: every post waits for its timeout.
  const hang = await server(() => {});
  const registry = new Registry();
  const n = new AlertmanagerNotifier({
    config: alertmanagerConfig({
      enabled: true,
      urls: [hang.url],
      queueSize: 2,
      batchSize: 1,
      timeout: '30s',
      retry: { attempts: 1 },
    }),
    log,
    registry,
  });
  const t0 = Date.now();
  for (let i = 0; i < 10; i++)
    n.onReport(reportWith({ incident: `inc-q-${i}`, namespace: 'shop', name: `w${i}`, from: 3, to: 1 }));
  assert.ok(Date.now() - t0 < 1000, 'onReport returns at once');
  // One in flight, two queued, seven dropped.
  assert.equal(sumMetric(await registry.metrics(), 'kubetriage_alertmanager_dropped_total'), 7);
  assert.equal(await n.close(300), false, 'close gives up after its bound while a post hangs');
  await hang.close();
});

test('config: enabled needs URLs, own labels cannot be overridden, secrets come from the environment', () => {
  assert.throws(
    () => validateConfig({ notify: { alertmanager: { enabled: true } } }),
    /notify\.alertmanager\.urls/,
  );
  assert.throws(
    () => validateConfig({ notify: { alertmanager: { urls: ['http://am:9093'], labels: { team: 'x' } } } }),
    /notify\.alertmanager\.labels\.team/,
  );
  assert.throws(() => validateConfig({ notify: { alertmanager: { urls: ['ftp://am'] } } }), /urls/);
  assert.equal(validateConfig({}).notify.alertmanager.enabled, false);
  assert.throws(() => authorizationFrom('basic', {}), /KUBETRIAGE_ALERTMANAGER_USERNAME/);
  assert.equal(
    authorizationFrom('basic', {
      KUBETRIAGE_ALERTMANAGER_USERNAME: 'u',
      KUBETRIAGE_ALERTMANAGER_PASSWORD: 'p',
    }),
    `Basic ${Buffer.from('u:p').toString('base64')}`,
  );
});

test('the documented example (config/kubetriage.yaml) documents the notify defaults as they are', () => {
  const c = loadConfig(new URL('../../config/kubetriage.yaml', import.meta.url).pathname, {});
  assert.deepEqual(c.notify.alertmanager, validateConfig({}).notify.alertmanager);
});

test('notifier: https with tlsCaFile trusts a private CA; without it the post fails (counted)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kt-am-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const gen = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]),
    { encoding: 'utf8' },
  );
  assert.equal(gen.status, 0, gen.stderr);
  const hits: string[] = [];
  const s = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  const url = `https://127.0.0.1:${a.port}`;
  const send = async (tlsCaFile: string | null) => {
    const registry = new Registry();
    const n = new AlertmanagerNotifier({
      config: alertmanagerConfig({ enabled: true, urls: [url], tlsCaFile, retry: { attempts: 1 } }),
      log,
      registry,
    });
    n.onReport(reportWith({ incident: 'inc-tls', namespace: 'shop', name: 'web', from: 3, to: 1 }));
    await n.close(5000);
    return registry.metrics();
  };
  try {
    assert.equal(sumMetric(await send(cert), 'kubetriage_alertmanager_posts_total', { result: 'sent' }), 1);
    assert.equal(sumMetric(await send(null), 'kubetriage_alertmanager_posts_total', { result: 'failed' }), 1);
    assert.deepEqual(hits, ['/api/v2/alerts']);
  } finally {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
