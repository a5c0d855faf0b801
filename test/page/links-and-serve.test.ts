// Links to the incident page from the Slack message and the Alertmanager annotations (page.externalUrl),
// the config key's validation, and `demo --serve` / `replay --serve` serving the page for a capture.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { alertmanagerSchema } from '../../src/core/config-notify.ts';
import { proposalMessage } from '../../src/exec/slack-message.ts';
import { alertFor, firstIdentity } from '../../src/notify/alertmanager-alert.ts';
import { setPageLinks } from '../../src/page/index.ts';
import { reportWith } from '../exec/helpers.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

describe('links to the incident page', () => {
  after(() => setPageLinks(null));
  const report = reportWith({ incident: 'inc-abc', namespace: 'shop', name: 'web', from: 4, to: 2 });

  it('the Slack proposal links to <externalUrl>/incidents/<id> when page.externalUrl is set, not otherwise', () => {
    setPageLinks(null);
    assert.doesNotMatch(JSON.stringify(proposalMessage(report, 'dry-run')), /incident page/);
    setPageLinks('https://kubetriage.example.com/');
    assert.match(
      JSON.stringify(proposalMessage(report, 'dry-run')),
      /<https:\/\/kubetriage\.example\.com\/incidents\/inc-abc\|incident page>/,
    );
  });

  it('the Alertmanager alert carries incident_page, and it is the link unless notify names another', () => {
    setPageLinks('https://kubetriage.example.com');
    const am = alertmanagerSchema.parse({});
    const a = alertFor(report, firstIdentity(report, am), am, new Date());
    assert.equal(a.annotations.incident_page, 'https://kubetriage.example.com/incidents/inc-abc');
    assert.equal(a.annotations.link, 'https://kubetriage.example.com/incidents/inc-abc');
    assert.equal(a.generatorURL, 'https://kubetriage.example.com/incidents/inc-abc');
    const grafana = alertmanagerSchema.parse({ externalUrl: 'https://grafana.example/d/x?i={incident}' });
    const b = alertFor(report, firstIdentity(report, grafana), grafana, new Date());
    assert.equal(b.annotations.link, 'https://grafana.example/d/x?i=inc-abc');
    assert.equal(b.annotations.incident_page, 'https://kubetriage.example.com/incidents/inc-abc');
    setPageLinks(null);
    const c = alertFor(report, firstIdentity(report, am), am, new Date());
    assert.equal(c.annotations.incident_page, undefined);
    assert.equal(c.annotations.link, undefined);
  });

  it('page.externalUrl must be an http(s) URL; the page section has documented defaults', () => {
    assert.throws(
      () => validateConfig({ page: { externalUrl: 'kubetriage.example.com' } }),
      /page\.externalUrl/,
    );
    assert.throws(
      () => validateConfig({ page: { externalUrl: 'javascript:alert(1)' } }),
      /page\.externalUrl/,
    );
    const c = validateConfig({});
    assert.equal(c.page.enabled, true);
    assert.equal(c.page.externalUrl, null);
    assert.equal(c.page.resolvedRetention, 24 * 3600_000);
  });
});

/** Starts the CLI with --serve on a free port; resolves with the URL it prints. */
function serve(
  args: string[],
): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, ...args, '--serve', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${err}`)), 60_000);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /incident page: (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, exited });
      }
    });
    child.once('exit', () => reject(new Error(`exited before serving:\n${err}`)));
  });
}

describe('demo --serve and replay --serve', () => {
  for (const args of [
    ['demo', '--scenario', 'canary'],
    ['replay', '--input', new URL('../../examples/checkout-rollout.ndjson', import.meta.url).pathname],
  ])
    it(`${args[0]} --serve serves the list and each incident, read-only, and stops on SIGINT`, async (t) => {
      const s = await serve(args);
      t.after(() => s.child.kill('SIGKILL'));
      const list = await fetch(s.url);
      assert.equal(list.status, 200);
      assert.match(list.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const body = await list.text();
      const ids = [...body.matchAll(/href="\/incidents\/(inc-[0-9a-f]+)"/g)].map((m) => m[1]!);
      assert.ok(ids.length >= 1, body);
      assert.match(body, /read-only/);
      for (const id of ids) {
        const page = await fetch(new URL(`/incidents/${id}`, s.url));
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<svg class="timeline"/);
      }
      // Nobody can sign in where there is no approval stage.
      assert.equal((await fetch(new URL('/incidents/-/login', s.url))).status, 404);
      s.child.kill('SIGINT');
      assert.equal(await s.exited, 0);
    });
});
