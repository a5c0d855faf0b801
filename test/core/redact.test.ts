// The redactor (src/core/redact.ts): every built-in pattern with text it must redact (the secret part
// must be gone, the marker there) and ordinary text it must leave exactly as it is; the deep walk; the
// configured patterns and their validation; the metric.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { validateConfig } from '../../src/core/config.ts';
import { KubetriageError } from '../../src/core/errors.ts';
import {
  BUILTIN_PATTERN_NAMES,
  DEFAULT_REDACT_CONFIG,
  installRedactor,
  Redactor,
  redactor,
} from '../../src/core/redact.ts';
import { mayHoldCredential } from '../../src/core/redact-patterns.ts';
import { CREDENTIAL_CASES, ORDINARY_TEXT } from './redact-cases.ts';

const r = new Redactor();

describe('redaction: every built-in pattern', () => {
  for (const c of CREDENTIAL_CASES) {
    it(`${c.pattern}: ${c.text.slice(0, 70).replace(/\n/g, '\\n')}`, () => {
      const out = r.text(c.text, 'context');
      for (const secret of c.secrets) assert.ok(!out.includes(secret), `${secret} left in: ${out}`);
      assert.match(out, /\[REDACTED/, out);
      for (const kept of c.keeps ?? []) assert.ok(out.includes(kept), `${kept} should stay: ${out}`);
      // The pattern named is the one that fired (the metric's label).
      const counted = new Redactor();
      counted.text(c.text, 'context');
      assert.ok(
        [...counted.stats.keys()].some((k) => k === `context\u0000${c.pattern}`),
        `${c.pattern} counted: ${[...counted.stats.keys()].join(', ')}`,
      );
    });
  }

  it('the pre-check lets every case through, and a whole document is redacted as its strings are', () => {
    for (const c of CREDENTIAL_CASES) {
      assert.ok(mayHoldCredential(c.text), `pre-check misses: ${c.text}`);
      const doc = { evidence: [{ summary: c.text }] };
      assert.equal(r.json(doc, 'report'), JSON.stringify(r.deep(doc, 'report')));
      for (const secret of c.secrets) assert.ok(!r.json(doc, 'report').includes(secret), secret);
    }
    for (const text of ORDINARY_TEXT.slice(0, 4))
      assert.equal(r.json({ text }, 'report'), JSON.stringify({ text }));
  });

  it('covers every built-in credential pattern with a case', () => {
    const covered = new Set(CREDENTIAL_CASES.map((c) => c.pattern));
    for (const name of BUILTIN_PATTERN_NAMES.filter((n) => n !== 'email' && n !== 'ip'))
      assert.ok(covered.has(name), `no case for ${name}`);
  });

  for (const text of ORDINARY_TEXT) {
    it(`leaves ordinary text alone: ${text.slice(0, 70)}`, () => {
      assert.equal(r.text(text, 'context'), text);
      assert.equal(r.text(text, 'slack'), text);
    });
  }
});

describe('redaction: personal data', () => {
  const text = 'user jane.doe+ops@example.co.uk from 10.244.1.17 and 2001:db8::8a2e:370:7334';
  it('emails and IPs are redacted in the LLM prompt by default', () => {
    const out = r.text(text, 'llm');
    assert.equal(out, 'user [EMAIL] from [IP] and [IP]');
  });
  it('and kept in the other outputs unless redact.personalData names them', () => {
    assert.equal(r.text(text, 'context'), text);
    const all = new Redactor({ ...DEFAULT_REDACT_CONFIG, personalData: ['context', 'llm'] });
    assert.equal(all.text(text, 'context'), 'user [EMAIL] from [IP] and [IP]');
  });
});

describe('redaction: the deep walk over a document', () => {
  it('redacts every string at any depth, keys too, and values of keys that name a secret', () => {
    const doc = {
      id: 'inc-1',
      evidence: [
        { summary: 'ERROR connect postgres://app:pa55word@db:5432/x failed', count: 3 },
        // A field another stage adds later is covered without knowing about it.
        { messages: ['ok', ['nested', { deeper: 'Authorization: Bearer abcdef0123456789' }]] },
      ],
      attributes: { 'http.request.header.x-api-key': 'k3y-v4lue', password: 'hunter2', tokens: 12 },
      'token=abc123secret': 'key with a secret',
    };
    const out = r.deep(doc, 'context');
    const text = JSON.stringify(out);
    for (const secret of ['pa55word', 'abcdef0123456789', 'k3y-v4lue', 'hunter2', 'abc123secret'])
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.equal(out.attributes.tokens, 12, 'a count is not a secret');
    assert.equal(out.id, 'inc-1');
    assert.equal(doc.attributes.password, 'hunter2', 'the input is not modified');
  });

  it('a Kubernetes Secret object loses its data and stringData whatever the keys are called', () => {
    const secret = {
      kind: 'Secret',
      metadata: { name: 'db' },
      data: { DB_URL: 'cG9zdGdyZXM=' },
      stringData: { x: 'plain' },
    };
    const out = r.deep({ object: secret }, 'context');
    assert.deepEqual(out.object.data, { DB_URL: '[REDACTED]' });
    assert.deepEqual(out.object.stringData, { x: '[REDACTED]' });
    assert.equal(out.object.metadata.name, 'db');
  });

  it('returns a clean document as the same object (no copy) and errors as plain objects', () => {
    const clean = { a: ['b', { c: 1 }], d: null };
    assert.equal(r.deep(clean, 'context'), clean);
    const err = r.deep(new Error('login failed password=hunter2'), 'log') as unknown as { message: string };
    assert.equal(err.message, 'login failed password=[REDACTED]');
  });

  it('is deterministic and memoised: the same string twice gives the same text and counts twice', () => {
    const m = new Redactor();
    const s = 'retry with token=abcdef123456';
    assert.equal(m.text(s, 'report'), m.text(s, 'report'));
    assert.equal(m.stats.get('report\u0000secret-value'), 2);
  });

  it('does nothing when disabled', () => {
    const off = new Redactor({ ...DEFAULT_REDACT_CONFIG, enabled: false });
    assert.equal(off.text('password=hunter2', 'context'), 'password=hunter2');
  });
});

describe('redaction: configuration', () => {
  it('defaults: on, built-in patterns, personal data only in prompts', () => {
    const c = validateConfig({});
    assert.deepEqual(c.redact, { enabled: true, patterns: [], disable: [], personalData: ['llm'] });
  });

  it('adds configured patterns to the built-in ones', () => {
    const c = validateConfig({
      redact: { patterns: [{ name: 'ticket', regex: 'tkt_[a-z0-9]{8}', flags: 'i' }] },
    });
    const custom = new Redactor(c.redact);
    assert.equal(
      custom.text('see TKT_ab12cd34 and password=x1', 'context'),
      'see [REDACTED:ticket] and password=[REDACTED]',
    );
    const withGroups = new Redactor(
      validateConfig({
        redact: { patterns: [{ name: 'pin', regex: '(pin )\\d{4}', replacement: '$1****' }] },
      }).redact,
    );
    assert.equal(withGroups.text('card pin 1234 ok', 'context'), 'card pin **** ok');
  });

  it('switches built-in patterns off by name', () => {
    const c = validateConfig({ redact: { disable: ['high-entropy'] } });
    const key = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY0123';
    assert.equal(new Redactor(c.redact).text(`blob ${key}`, 'context'), `blob ${key}`);
    assert.notEqual(r.text(`blob ${key}`, 'context'), `blob ${key}`);
  });

  for (const [pattern, why] of [
    [
      { name: 'bad', regex: 'a(b' },
      /redact\.patterns\.0\.regex: pattern "bad": invalid regular expression \/a\(b\/: .*Unterminated group/,
    ],
    [
      { name: 'empty', regex: 'x*' },
      /redact\.patterns\.0\.regex: pattern "empty": \/x\*\/ matches the empty string/,
    ],
    [{ name: 'flags', regex: 'x', flags: 'gy' }, /flags "gy" may only use i, m, s, u, v/],
    [{ name: 'jwt', regex: 'x' }, /redact\.patterns\.0\.name: "jwt" is a built-in pattern's name/],
    [{ name: 'Bad Name', regex: 'x' }, /redact\.patterns\.0\.name: a lowercase name/],
  ] as const) {
    it(`refuses ${JSON.stringify(pattern)} with a readable error`, () => {
      assert.throws(
        () => validateConfig({ redact: { patterns: [pattern] } }),
        (err: unknown) => err instanceof KubetriageError && why.test(err.message),
      );
    });
  }

  it('refuses an unknown built-in name in disable and an unknown output in personalData', () => {
    assert.throws(
      () => validateConfig({ redact: { disable: ['jwts'] } }),
      /redact\.disable\.0: not a built-in pattern/,
    );
    assert.throws(() => validateConfig({ redact: { personalData: ['kafka'] } }), /redact\.personalData\.0/);
  });
});

describe('redaction: metric', () => {
  it('kubetriage_redactions_total{output,pattern} counts what the installed redactor did', async () => {
    const registry = new Registry();
    const before = redactor();
    try {
      installRedactor(DEFAULT_REDACT_CONFIG, registry);
      redactor().text('AKIAABCDEFGHIJKLMNOP and password=a1b2c3', 'slack');
      redactor().deep({ m: 'Bearer abcdef0123456789' }, 'log');
      const text = await registry.metrics();
      assert.match(text, /kubetriage_redactions_total\{output="slack",pattern="aws-access-key-id"\} 1/);
      assert.match(text, /kubetriage_redactions_total\{output="slack",pattern="secret-value"\} 1/);
      assert.match(text, /kubetriage_redactions_total\{output="log",pattern="authorization"\} 1/);
    } finally {
      installRedactor(DEFAULT_REDACT_CONFIG);
      assert.notEqual(redactor(), before);
    }
  });
});
