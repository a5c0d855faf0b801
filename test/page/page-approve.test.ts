// Approving from the incident page, in a real headless Chromium against a REAL kube-apiserver: an
// approver signs in with a real ServiceAccount token (TokenReview), each action is authorised with a
// SubjectAccessReview on proposals.kubetriage.io (config/rbac), and the click goes through the approval
// service's state machine exactly as /api/proposals does (audited, the Deployment really scaled). An
// unauthenticated, cross-site or token-less (CSRF) request changes nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { execConfig } from '../../src/core/config-exec.ts';
import {
  ApiIdentity,
  ApprovalService,
  type AuditEntry,
  AuditLedger,
  ExecKubeClient,
} from '../../src/exec/index.ts';
import {
  applyRbac,
  bindApprover,
  createDeployment,
  replicasOf,
  scalerToken,
  serviceAccountToken,
  tolerateTextReadyz,
} from '../exec/kube-world.ts';
import { collectErrors, launchBrowser, requireChromium, waitUntil } from '../harness/browser.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { scenarioOutcome, servePageOf, storeOf } from './page-world.ts';

// Never skip: each throws (failing this file with the command that installs the part) when missing.
requireKubeBinaries();
requireChromium();

describe('approve from the incident page (real Chromium, real kube-apiserver)', () => {
  let kube: KubeApiServer;
  let browser: Browser;
  let dir: string;
  const scaler = scalerToken();

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer({ tokens: [scaler] });
    await applyRbac(kube.client);
    browser = await launchBrowser();
    dir = mkdtempSync(join(tmpdir(), 'kubetriage-page-'));
  });
  after(async () => {
    await browser?.close();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function signIn(ctx: BrowserContext, base: string, token: string, next: string): Promise<Page> {
    const page = await ctx.newPage();
    await page.goto(`${base}/incidents/-/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Kubernetes token').fill(token);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}${next}`);
    return page;
  }

  test('an authorised approver approves from the page: same state machine, audited, the Deployment scaled; unauthenticated, cross-site and token-less requests are refused', async (t) => {
    // The canary scenario's report proposes scaling shop/checkout-canary 10 → 2.
    const outcome = await scenarioOutcome('canary');
    const report = [...outcome.reports.values()].find((r) => r.proposal)!;
    const p = report.proposal!;
    await createDeployment(kube.client, p.target.namespace, p.target.name, p.fromReplicas);
    const store = storeOf(outcome);
    const file = join(dir, 'audit.jsonl');
    const ledger = new AuditLedger({ file, mirror: (e) => store.onAudit(e) });
    const config = execConfig({ mode: 'execute', policy: { cooldown: '0s' } });
    const service = new ApprovalService({
      config,
      ledger,
      kube: new ExecKubeClient(kube.kubeConfig(scaler.token)),
      // The scenario's clock: its proposal expires 15 minutes after its report.
      now: (
        (skew) => () =>
          Date.now() + skew
      )(Date.parse(report.at) + 60_000 - Date.now()),
      delay: async () => {},
    });
    await service.start();
    const identity = new ApiIdentity({
      kube: new ExecKubeClient(kube.kubeConfig(scaler.token)),
      audiences: config.api.audiences,
      group: config.api.group,
      resource: config.api.resource,
      cacheSize: config.api.cacheSize,
      cacheTtlMs: config.api.cacheTtl,
      negativeCacheTtlMs: config.api.negativeCacheTtl,
    });
    await service.onReport(report);
    assert.equal(service.state(p.id), 'pending');
    const { app, base } = await servePageOf(store, { service, identity });
    t.after(async () => {
      await app.close();
      await service.close();
    });
    const entries = () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry);
    const path = `/incidents/${report.incident}`;
    const action = (a: string) => `${base}${path}/proposals/${p.id}/${a}`;
    const ns = p.target.namespace;
    const oncall = await serviceAccountToken(kube.client, ns, 'oncall');
    const intruder = await serviceAccountToken(kube.client, ns, 'intruder');
    await bindApprover(kube.client, ns, { namespace: ns, name: 'oncall' });

    // 1. Not signed in: no buttons, a sign-in link; a direct POST is refused.
    const anon = await browser.newContext();
    t.after(() => anon.close());
    const anonPage = await anon.newPage();
    const anonErrors = collectErrors(anonPage);
    await anonPage.goto(`${base}${path}`);
    assert.equal(await anonPage.getByRole('button', { name: /Approve/ }).count(), 0);
    assert.equal(await anonPage.getByRole('link', { name: 'Sign in', exact: true }).count(), 1);
    const anonPost = await anon.request.post(action('approve'), {
      form: { csrf: 'guess' },
      headers: { origin: base },
      maxRedirects: 0,
    });
    assert.equal(anonPost.status(), 401);
    assert.deepEqual(anonErrors, []);

    // 2. A bad token does not sign in.
    const badCtx = await browser.newContext();
    t.after(() => badCtx.close());
    const bad = await badCtx.newPage();
    await bad.goto(`${base}/incidents/-/login`);
    await bad.getByLabel('Kubernetes token').fill(`${oncall.token}x`);
    await bad.getByRole('button', { name: 'Sign in' }).click();
    assert.match((await bad.getByRole('alert').textContent()) ?? '', /did not authenticate/);

    // 3. The approver signs in; a cross-site form posting to the page is refused (and, SameSite, carries no session).
    const ctx = await browser.newContext();
    t.after(() => ctx.close());
    const page = await signIn(ctx, base, oncall.token, path);
    const errors = collectErrors(page);
    assert.match(
      (await page.locator('header .who').textContent()) ?? '',
      /k8s:system:serviceaccount:shop:oncall/,
    );
    const evil = Fastify();
    evil.get('/', async (_req, reply) =>
      reply
        .type('text/html')
        .send(
          `<form id="f" method="post" action="${action('approve')}"><input name="csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`,
        ),
    );
    // Another site: localhost is not 127.0.0.1.
    const evilBase = (await evil.listen({ host: '127.0.0.1', port: 0 })).replace('127.0.0.1', 'localhost');
    t.after(() => evil.close());
    const evilPage = await ctx.newPage();
    const [evilResponse] = await Promise.all([
      evilPage.waitForResponse((r) => r.url() === action('approve')),
      evilPage.goto(evilBase),
    ]);
    assert.equal(evilResponse.status(), 403);
    assert.match((await evilPage.locator('main').textContent()) ?? '', /cross-site request/);
    // Same origin but without the form's token (a script elsewhere cannot read it): refused too.
    const forged = await ctx.request.post(action('approve'), {
      form: { csrf: 'forged' },
      headers: { origin: base },
      maxRedirects: 0,
    });
    assert.equal(forged.status(), 403);
    assert.equal(service.state(p.id), 'pending');
    assert.equal(await replicasOf(kube.client, ns, p.target.name), p.fromReplicas);
    assert.equal(entries().filter((e) => e.event === 'approved').length, 0);

    // 4. Someone authenticated but not bound to kubetriage-approver: refused by SubjectAccessReview, audited.
    const intruderCtx = await browser.newContext();
    t.after(() => intruderCtx.close());
    const ip = await signIn(intruderCtx, base, intruder.token, path);
    // No buttons for who may not press them; the page says why.
    assert.equal(await ip.getByRole('button', { name: /Approve/ }).count(), 0);
    assert.match(
      (await ip.locator('#proposal .warning').textContent()) ?? '',
      /You may not act on this proposal/,
    );
    // Posting anyway (with the session's own form token): the same review refuses it, audited.
    const intruderCsrf = await ip.locator('header input[name=csrf]').getAttribute('value');
    const forcedByIntruder = await intruderCtx.request.post(action('approve'), {
      form: { csrf: intruderCsrf! },
      headers: { origin: base },
      maxRedirects: 0,
    });
    assert.equal(forcedByIntruder.status(), 303);
    assert.match(forcedByIntruder.headers().location ?? '', /outcome=not_approver/);
    await ip.goto(`${base}${forcedByIntruder.headers().location}`);
    assert.match((await ip.getByRole('alert').textContent()) ?? '', /not authorised/);
    assert.equal(service.state(p.id), 'pending');
    const refused = entries().find((e) => e.event === 'refused' && e.actor.endsWith(':intruder'));
    assert.ok(refused, 'the refusal is audited');
    assert.equal(refused.detail.via, 'page');

    // 5. The approver, keyboard only: the buttons have accessible names; Enter on Approve.
    await page.reload();
    const tree = await page.locator('#proposal').ariaSnapshot();
    assert.match(tree, new RegExp(`button "Approve proposal ${p.id}"`));
    assert.match(tree, new RegExp(`button "Reject proposal ${p.id}"`));
    await page.getByRole('button', { name: `Approve proposal ${p.id}` }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/outcome=done/);
    assert.match((await page.getByRole('alert').textContent()) ?? '', /Done\. The proposal is executed\./);
    assert.equal(service.state(p.id), 'executed');
    assert.equal(await replicasOf(kube.client, ns, p.target.name), p.toReplicas);
    const approved = entries().find((e) => e.event === 'approved');
    assert.ok(approved);
    assert.equal(approved.actor, 'k8s:system:serviceaccount:shop:oncall');
    assert.equal(approved.detail.via, 'page');
    assert.deepEqual((approved.detail.identity as { by: string }).by, 'TokenReview');
    assert.ok(entries().some((e) => e.event === 'executed' && e.proposal === p.id));
    // The history on the page is the ledger's (the last entries land after the redirect: the live
    // update brings them in), and a Roll back button replaces Approve/Reject.
    await waitUntil(page, `document.querySelector('table.audit')?.textContent.includes('executed')`);
    const history = (await page.locator('table.audit').textContent()) ?? '';
    for (const ev of ['proposed', 'refused', 'approved', 'executed'])
      assert.ok(history.includes(ev), history);
    assert.ok(history.includes('k8s:system:serviceaccount:shop:oncall via page'), history);
    assert.equal(await page.getByRole('button', { name: `Roll back proposal ${p.id}` }).count(), 1);
    assert.equal(await page.getByRole('button', { name: /Approve/ }).count(), 0);
    assert.deepEqual(errors, []);
  });
});
