// The page's routes without a browser: bad input answers cleanly, sign-in redirects only within the
// page, the live-update stream delivers changes, is bounded, and never holds up shutdown.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { execConfig } from '../../src/core/config-exec.ts';
import { pageSchema } from '../../src/core/config-page.ts';
import { ApiIdentity, ApprovalService, AuditLedger } from '../../src/exec/index.ts';
import { IncidentStore, registerPageRoutes } from '../../src/page/index.ts';
import { scenarioOutcome, storeOf } from './page-world.ts';

const dir = mkdtempSync(join(tmpdir(), 'kt-page-routes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function world(o: { maxLiveClients?: number } = {}) {
  const store = storeOf(await scenarioOutcome('canary'));
  const config = execConfig({});
  const service = new ApprovalService({
    config,
    ledger: new AuditLedger({ file: join(dir, `audit-${Math.random()}.jsonl`) }),
    kube: null,
  });
  await service.start();
  // The opted-in static token: a real identity check with no cluster (local use).
  const identity = new ApiIdentity({
    kube: null,
    audiences: [],
    group: config.api.group,
    resource: config.api.resource,
    cacheSize: 10,
    cacheTtlMs: 1000,
    negativeCacheTtlMs: 1000,
    staticToken: { token: 'local-secret-token', name: 'laptop' },
  });
  const app = Fastify();
  await registerPageRoutes(app, {
    store,
    config: pageSchema.parse({ maxLiveClients: o.maxLiveClients ?? 200 }),
    approvals: { service, identity },
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, store, close: () => app.close().then(() => service.close()) };
}

describe('incident page routes', () => {
  it('unknown incidents and assets are 404, never a crash; prototype names are not assets', async (t) => {
    const w = await world();
    t.after(w.close);
    assert.equal((await fetch(`${w.base}/incidents/inc-nope`)).status, 404);
    assert.equal((await fetch(`${w.base}/incidents/-/assets/__proto__`)).status, 404);
    assert.equal((await fetch(`${w.base}/incidents/-/assets/constructor`)).status, 404);
    const odd = await fetch(`${w.base}/incidents/%3Cscript%3E`);
    assert.equal(odd.status, 404);
    assert.ok((await odd.text()).includes('&lt;script&gt;'));
    const flash = await fetch(`${w.base}/incidents/${w.store.all()[0]!.id}?outcome=__proto__`);
    assert.equal(flash.status, 200);
    assert.doesNotMatch(await flash.text(), /role="alert"/);
  });

  it('sign-in: a wrong token is 401, a right one a session cookie (HttpOnly, SameSite=Strict) and a redirect within the page only', async (t) => {
    const w = await world();
    t.after(w.close);
    const post = (body: Record<string, string>, headers: Record<string, string> = { origin: w.base }) =>
      fetch(`${w.base}/incidents/-/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body).toString(),
      });
    assert.equal((await post({ token: 'wrong' })).status, 401);
    assert.equal((await post({ token: '' })).status, 401);
    // Login CSRF: another site cannot sign a browser in.
    assert.equal(
      (await post({ token: 'local-secret-token' }, { origin: 'https://evil.example' })).status,
      403,
    );
    assert.equal(
      (await post({ token: 'local-secret-token' }, { 'sec-fetch-site': 'cross-site' })).status,
      403,
    );
    assert.equal((await post({ token: 'local-secret-token' }, {})).status, 403, 'neither header');
    for (const [next, to] of [
      ['https://evil.example/', '/incidents'],
      ['//evil.example/incidents', '/incidents'],
      ['/incidents/inc-1#proposal', '/incidents/inc-1#proposal'],
      ['/incidents/\u00e9', '/incidents'],
    ]) {
      const r = await post({ token: 'local-secret-token', next: next! });
      assert.equal(r.status, 303);
      assert.equal(r.headers.get('location'), to, next);
      assert.match(
        r.headers.get('set-cookie') ?? '',
        /^kubetriage_page=[\w-]+; Path=\/incidents; HttpOnly; SameSite=Strict$/,
      );
    }
  });

  it('the live stream sends a change notice per new revision, refuses clients beyond the bound, and does not hold up close()', async () => {
    const w = await world({ maxLiveClients: 1 });
    const ac = new AbortController();
    const res = await fetch(`${w.base}/incidents/-/events`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal((await fetch(`${w.base}/incidents/-/events`)).status, 503, 'beyond page.maxLiveClients');
    const reader = res.body!.getReader();
    const inc = w.store.all()[0]!;
    w.store.onContext({ ...inc.context, revision: inc.context.revision + 1 });
    let got = '';
    while (!got.includes('event: update')) got += new TextDecoder().decode((await reader.read()).value);
    assert.match(got, new RegExp(`data: \\{"id":"${inc.id}","version":\\d+\\}`));
    const t0 = performance.now();
    await w.close();
    assert.ok(performance.now() - t0 < 5000, 'close() ended the open stream');
    ac.abort();
  });

  it('a store never lets an older revision replace a newer one', async () => {
    const outcome = await scenarioOutcome('canary');
    const store = new IncidentStore();
    const doc = outcome.latest[0]!;
    store.onContext(doc);
    store.onContext({ ...doc, revision: doc.revision - 1, status: 'resolved' });
    assert.equal(store.get(doc.id)!.context.revision, doc.revision);
    assert.equal(store.get(doc.id)!.context.status, doc.status);
  });
});
