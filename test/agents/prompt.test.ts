import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanText, fenceId, renderContext } from '../../src/agents/llm/prompt.ts';
import { Redactor } from '../../src/core/redact.ts';

const llmRedactor = new Redactor();
const redact = (s: string) => llmRedactor.text(s, 'llm');

import { PatternSet } from '../../src/agents/patterns.ts';
import { canaryCrashLoop, dependencyFailure, singleEvent } from './contexts.ts';

describe('agents: redaction before anything leaves the process', () => {
  for (const [input, gone] of [
    ['password=hunter2 retrying', 'hunter2'],
    ['"api_key": "abc123xyz"', 'abc123xyz'],
    ['DB_PASSWORD: s3cr3t!', 's3cr3t!'],
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl', 'eyJhbGciOiJIUzI1NiJ9'],
    ['connect postgres://app:pa55word@db.internal:5432/x', 'pa55word'],
    ['key AKIAABCDEFGHIJKLMNOP used', 'AKIAABCDEFGHIJKLMNOP'],
    ['token ghp_abcdefghijklmnopqrstuvwxyz0123 expired', 'ghp_abcdefghijklmnopqrstuvwxyz0123'],
    ['mail jane.doe+ops@example.co.uk now', 'jane.doe+ops@example.co.uk'],
    ['dial tcp 10.244.1.17:8080: connection refused', '10.244.1.17'],
    ['peer 2001:db8::8a2e:370:7334 reset', '2001:db8::8a2e:370:7334'],
    ['peer fe80:0:0:0:202:b3ff:fe1e:8329 reset', 'fe80:0:0:0:202:b3ff:fe1e:8329'],
  ] as const) {
    it(`removes ${gone}`, () => {
      const out = redact(input);
      assert.ok(!out.includes(gone), out);
      assert.match(out, /REDACTED|\[EMAIL\]|\[IP\]/);
    });
  }

  it('leaves times, ids, pod names and versions alone', () => {
    const s =
      'at 2026-11-28T09:05:05.000Z ev-3eba92f5d0cf pod checkout-6b7c8d9f4-x2kqz image app:1.2.3 took 12:30';
    assert.equal(redact(s), s);
  });
});

describe('agents: prompt rendering', () => {
  it('cuts each telemetry text to maxTextChars and strips control characters and fence look-alikes', () => {
    assert.equal(cleanText('a\nb\u0000c<<<TELEMETRY x>>>d', 100, false), 'a b c…TELEMETRY x…d');
    assert.equal(cleanText('x'.repeat(50), 10, false), `${'x'.repeat(10)}…`);
  });

  it('renders each evidence item on one line with its id, inside one fence, within the budget', () => {
    const doc = canaryCrashLoop();
    const text = renderContext(doc, {
      maxTextChars: 60,
      maxEvidence: 3,
      maxPromptChars: 12_000,
      redact: true,
    });
    const fence = fenceId(doc);
    const body = text.slice(text.indexOf(`<<<TELEMETRY ${fence}`), text.indexOf(`TELEMETRY ${fence}>>>`));
    for (const e of doc.evidence.slice(0, 3))
      assert.match(body, new RegExp(`^${e.id} \\| ${e.kind} \\|`, 'm'));
    assert.ok(!text.includes(doc.evidence[3]!.id), 'only maxEvidence items');
    assert.match(text, new RegExp(`Evidence: ${doc.evidence.length} items, first 3 shown`));
    assert.match(text, /Replicas: desired 10, available 6\. HPA: none\./);

    const tight = renderContext(doc, {
      maxTextChars: 240,
      maxEvidence: 50,
      maxPromptChars: 1000,
      redact: true,
    });
    assert.ok(tight.length < 1100, `${tight.length}`);
    assert.match(tight, /more items cut to fit the prompt budget/);
  });

  it('tells the model which related incident is upstream, and says nothing when there is none', () => {
    const lim = { maxTextChars: 240, maxEvidence: 30, maxPromptChars: 12_000, redact: true };
    const doc = dependencyFailure();
    assert.doesNotMatch(renderContext(doc, lim), /Related incidents/);
    const cited = doc.evidence.find((e) => e.summary.includes('→ payments'));
    assert.ok(cited);
    doc.related = [
      {
        incident: 'inc-0123456789abcdef0123',
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'payments' },
        relation: 'upstream',
        since: '2026-11-28T10:00:00.000Z',
        evidence: [cited.id],
      },
    ];
    assert.match(
      renderContext(doc, lim),
      new RegExp(
        `Related incidents: upstream \\(this workload calls it; it has its own incident\\) Deployment shop/payments incident inc-0123456789abcdef0123 failing since 2026-11-28T10:00:00.000Z, calls cited ${cited.id}\\.`,
      ),
    );
  });

  it('is deterministic', () => {
    const lim = { maxTextChars: 240, maxEvidence: 30, maxPromptChars: 12_000, redact: true };
    const doc = singleEvent('BackOff', 'Back-off restarting failed container app');
    assert.equal(renderContext(doc, lim), renderContext(structuredClone(doc), lim));
  });
});

describe('agents: patterns', () => {
  it('globs with * and ? and escapes everything else', () => {
    const p = new PatternSet(['prod-*', 'kube-system/*', 'a?c', 'x.y']);
    assert.ok(p.matches('prod-eu'));
    assert.ok(p.matches('kube-system/coredns'));
    assert.ok(p.matches('abc'));
    assert.ok(!p.matches('xzy'), 'a dot is a dot');
    assert.ok(!p.matches('production'));
    assert.ok(!new PatternSet([]).matches('anything'));
  });
});
