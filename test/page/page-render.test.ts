// The incident page in a real headless Chromium (Debian's chromium through playwright-core): every
// bundled scenario renders without a console error, hostile telemetry renders as text and runs
// nothing, secrets are redacted, the page follows new revisions in place, and it can be used with the
// keyboard and read through the accessibility tree. Screenshots go to test-output/screenshots/.
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CSP } from '../../src/page/security.ts';
import { IncidentStore } from '../../src/page/store.ts';
import { listScenarios } from '../../src/sim/scenarios/index.ts';
import type { EvidenceDoc, IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { collectErrors, launchBrowser, requireChromium, waitUntil } from '../harness/browser.ts';
import { scenarioOutcome, servePageOf, storeOf } from './page-world.ts';

// Never skips: throws (failing this file with the install command) when chromium is missing.
requireChromium();

const SHOTS = new URL('../../test-output/screenshots/', import.meta.url).pathname;

describe('incident page in a real Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
  });

  async function open(): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    return { page, errors, close: () => ctx.close() };
  }

  test('every bundled scenario: the list and each incident page render with no console error, CSP on', async (t) => {
    const { page, errors, close } = await open();
    t.after(close);
    let incidents = 0;
    for (const s of listScenarios()) {
      const outcome = await scenarioOutcome(s.name);
      const { app, base } = await servePageOf(storeOf(outcome));
      try {
        const res = await page.goto(`${base}/incidents`);
        assert.equal(res?.status(), 200, s.name);
        assert.equal(res?.headers()['content-security-policy'], CSP);
        assert.equal(await page.locator('table.incidents tbody tr').count(), outcome.latest.length, s.name);
        for (const doc of outcome.latest) {
          const r = await page.goto(`${base}/incidents/${doc.id}`);
          assert.equal(r?.status(), 200, `${s.name} ${doc.id}`);
          assert.match(
            (await page.locator('h1').textContent()) ?? '',
            new RegExp(`${doc.scope.namespace}/${doc.scope.workload.name}`),
          );
          assert.equal(await page.locator('svg.timeline').count(), 1);
          assert.equal(await page.locator('.evidence-list > li.evidence').count(), doc.evidence.length);
          const report = outcome.reports.get(doc.id)!;
          assert.equal(await page.locator('.hypotheses > li').count(), report.hypotheses.length);
          // The severity and the top cause are the first thing on the page.
          assert.equal(await page.locator('.answer .sev').textContent(), report.severity);
          incidents++;
        }
      } finally {
        await app.close();
      }
      assert.deepEqual(errors, [], `${s.name}: ${errors.join('\n')}`);
    }
    assert.ok(incidents >= 20, `only ${incidents} incident pages rendered`);
  });

  test('screenshots: the list and two incident pages', async (t) => {
    const { page, errors, close } = await open();
    t.after(close);
    const cascade = await scenarioOutcome('cascade');
    const store = storeOf(cascade);
    storeOf(await scenarioOutcome('oom-rollout'), store);
    const { app, base } = await servePageOf(store);
    t.after(() => app.close());
    await page.goto(`${base}/incidents`);
    await page.screenshot({ path: `${SHOTS}incident-list.png`, fullPage: true });
    const inventory = cascade.latest.find((d) => d.scope.workload.name === 'inventory')!;
    await page.goto(`${base}/incidents/${inventory.id}`);
    await page.screenshot({ path: `${SHOTS}incident-cascade-inventory.png`, fullPage: true });
    const oom = store
      .all()
      .find(
        (i) =>
          i.context.scope.workload.name === 'checkout' && i.report?.hypotheses[0]?.cause === 'bad_rollout',
      )!;
    await page.goto(`${base}/incidents/${oom.id}`);
    await page.screenshot({ path: `${SHOTS}incident-oom-rollout.png`, fullPage: true });
    for (const f of ['incident-list', 'incident-cascade-inventory', 'incident-oom-rollout'])
      assert.ok(statSync(`${SHOTS}${f}.png`).size > 10_000, f);
    assert.deepEqual(errors, []);
  });

  test('a log line with <script> and <img onerror> renders as text and runs nothing; secrets are redacted', async (t) => {
    const { page, errors, close } = await open();
    t.after(close);
    const outcome = await scenarioOutcome('oom-rollout');
    const store = storeOf(outcome);
    const doc = outcome.latest[0]!;
    const hostile = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
    const secret = 'postgres://orders:s3cr3t-Passw0rd@db.shop:5432/orders';
    const evil: EvidenceDoc = {
      id: 'ev-hostile',
      key: 'log|hostile',
      kind: 'log',
      at: doc.window.start,
      lastAt: doc.window.end,
      summary: `log: ${hostile} connecting to ${secret}`,
      count: 3,
      messages: [hostile, `"><svg onload="window.__xss=3">`, `retrying ${secret}`],
      refs: {},
    };
    const next: IncidentContextDoc = {
      ...doc,
      revision: doc.revision + 1,
      evidence: [...doc.evidence, evil],
      scope: { ...doc.scope, environment: `<b onmouseover="window.__xss=4">production</b>` },
    };
    store.onContext(next);
    const { app, base } = await servePageOf(store);
    t.after(() => app.close());
    for (const path of [`/incidents/${doc.id}`, '/incidents']) {
      await page.goto(`${base}${path}`);
      if (path !== '/incidents') {
        await page.locator('#ev-hostile details summary').click();
        await page.locator('svg.timeline a[href="#ev-hostile"] rect').hover();
        const head = await page.locator('#ev-hostile .ev-head').textContent();
        assert.ok(
          head?.includes('<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'),
          head ?? '',
        );
        assert.equal(
          await page.locator('#ev-hostile .messages li').first().textContent(),
          hostile,
          'the message is shown exactly as logged',
        );
        // The hostile bar in the timeline carries the text only in its <title>.
        assert.match(
          (await page.locator('svg.timeline a[href="#ev-hostile"] title').textContent()) ?? '',
          /<script>/,
        );
        const env = page.locator('dt:text-is("Environment") + dd');
        assert.match((await env.textContent()) ?? '', /^<b onmouseover="window.__xss=4">production<\/b>/);
        await env.hover();
      }
      assert.equal(await page.evaluate('window.__xss'), undefined);
      assert.equal(await page.locator('main img, main script, main svg[onload], main b').count(), 0);
      // The only script on the page is our own file.
      assert.deepEqual(
        await page.evaluate<string[]>('[...document.scripts].map((s) => new URL(s.src).pathname)'),
        ['/incidents/-/assets/page.js'],
      );
      const text = (await page.locator('main').textContent()) ?? '';
      assert.ok(!text.includes('s3cr3t-Passw0rd'), 'the password is redacted');
      if (path !== '/incidents') assert.match(text, /\[REDACTED/);
    }
    assert.deepEqual(errors, []);
  });

  test('the open incident and the list follow new revisions in place, keeping the reader’s place', async (t) => {
    const { page, errors, close } = await open();
    t.after(close);
    const outcome = await scenarioOutcome('cascade');
    const last = new Map(outcome.latest.map((d) => [d.id, d.revision]));
    const late = outcome.latest.at(-1)!;
    const store = new IncidentStore();
    // Everything but each incident's last revision, and nothing at all of the last incident.
    for (const doc of outcome.contexts)
      if (doc.revision < last.get(doc.id)! && doc.id !== late.id) store.onContext(doc);
    const first = outcome.latest[0]!;
    const { app, base } = await servePageOf(store);
    t.after(() => app.close());

    await page.goto(`${base}/incidents`);
    const rows = await page.locator('table.incidents tbody tr').count();
    await page.evaluate('window.__marker = 1');
    store.onContext(late);
    await waitUntil(page, `document.querySelectorAll('table.incidents tbody tr').length === ${rows + 1}`);
    assert.equal(await page.evaluate('window.__marker'), 1, 'no reload');

    await page.setViewportSize({ width: 1280, height: 500 });
    await page.goto(`${base}/incidents/${first.id}`);
    const before = Number(await page.locator('#revision').textContent());
    assert.ok(before < first.revision);
    await page.evaluate('window.__marker = 1');
    // The reader has scrolled to the evidence and opened the messages of one item.
    const details = page.locator('.evidence details').first();
    await details.scrollIntoViewIfNeeded();
    await details.locator('summary').click();
    const detailsOwner = await details.evaluate((d) => d.closest('li.evidence')?.id);
    assert.ok(detailsOwner);
    const y = await page.evaluate<number>('window.scrollY');
    assert.ok(y > 100, `scrolled to ${y}`);
    store.onContext(first);
    store.onReport(outcome.reports.get(first.id)!);
    await waitUntil(page, `document.getElementById('revision')?.textContent === '${first.revision}'`);
    await waitUntil(page, `document.getElementById('live-status')?.textContent?.startsWith('Updated')`);
    assert.equal(await page.evaluate('window.__marker'), 1, 'no reload');
    assert.equal(
      await page.evaluate(`document.querySelector('#${detailsOwner} details')?.hasAttribute('open')`),
      true,
      'the opened messages stay open',
    );
    const y2 = await page.evaluate<number>('window.scrollY');
    assert.ok(Math.abs(y2 - y) < 50, `scroll position kept (${y} → ${y2})`);
    assert.deepEqual(errors, []);
  });

  test('reading works without JavaScript: filters, incident, folded messages, evidence links', async (t) => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    t.after(() => ctx.close());
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    const outcome = await scenarioOutcome('cascade');
    const { app, base } = await servePageOf(storeOf(outcome));
    t.after(() => app.close());
    await page.goto(`${base}/incidents`);
    assert.equal(await page.locator('table.incidents tbody tr').count(), 3);
    const team = outcome.reports.get(outcome.latest[0]!.id)!.team;
    await page.getByLabel('Team').selectOption(team);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`**/incidents?team=${team}&namespace=&severity=`);
    const shown = [...outcome.reports.values()].filter((r) => r.team === team).length;
    assert.equal(await page.locator('table.incidents tbody tr').count(), shown);
    await page.locator('table.incidents tbody tr a').first().click();
    await page.waitForURL(/\/incidents\/inc-/);
    const details = page.locator('.evidence details').first();
    assert.equal(await details.locator('ol.messages').isVisible(), false);
    await details.locator('summary').click();
    assert.equal(await details.locator('ol.messages').isVisible(), true);
    const evLink = page.locator('#hyp-1 a').first();
    const target = (await evLink.getAttribute('href'))!;
    await evLink.click();
    await page.waitForURL(`**${target}`);
    assert.equal(await page.locator(`${target}:target`).count(), 1);
    assert.deepEqual(errors, []);
  });

  test('keyboard navigation and accessible names (the browser’s accessibility tree)', async (t) => {
    const { page, errors, close } = await open();
    t.after(close);
    const outcome = await scenarioOutcome('oom-rollout');
    const { app, base } = await servePageOf(storeOf(outcome));
    t.after(() => app.close());
    const doc = outcome.latest[0]!;
    await page.goto(`${base}/incidents`);
    const tree = await page.locator('body').ariaSnapshot();
    for (const want of [
      'link "Skip to content"',
      'navigation "Site"',
      'heading "Incidents" [level=1]',
      'form "Filter incidents"',
      'combobox "Team"',
      'combobox "Namespace"',
      'combobox "Severity"',
      'button "Filter"',
      `link "Deployment ${doc.scope.namespace}/${doc.scope.workload.name}"`,
      'columnheader "Severity"',
    ])
      assert.ok(tree.includes(want), `${want} missing from:\n${tree}`);
    // Keyboard only: skip link first, then into the filters, then to the incident, Enter opens it.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'main');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate("document.activeElement?.getAttribute('name')"), 'team');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Filter');
    await page.keyboard.press('Tab');
    assert.match((await page.evaluate<string>('document.activeElement?.textContent')) ?? '', /checkout/);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/incidents/${doc.id}`);
    const inc = await page.locator('body').ariaSnapshot();
    for (const want of [
      'img "Timeline of the incident"',
      'heading "Proposed action" [level=2]',
      'heading "Timeline" [level=2]',
      'heading "Evidence',
      'link "why"',
      'link "hypothesis 1"',
      'link "← all incidents"',
    ])
      assert.ok(inc.includes(want), `${want} missing from:\n${inc}`);
    // An evidence id in a hypothesis is a link to the item, and following it with the keyboard lands there.
    const evLink = page.locator('#hyp-1 a').first();
    const target = (await evLink.getAttribute('href'))!;
    await evLink.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**${target}`);
    assert.equal(await page.evaluate('location.hash'), target);
    assert.deepEqual(errors, []);
  });
});
