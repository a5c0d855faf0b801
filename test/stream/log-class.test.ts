// LogClassifier's one-scan pre-check must not change which class a line gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LOG_PATTERNS, type FloorsConfig } from '../../src/core/config-floors.ts';
import { LogClassifier } from '../../src/stream/log-class.ts';

type Patterns = FloorsConfig['logPatterns'];

/** What classify did before the pre-check: each pattern in order on the line's first 512 characters. */
function reference(patterns: Patterns, body: string): string {
  const head = body.slice(0, 512);
  for (const p of patterns) if (new RegExp(p.pattern, 'im').test(head)) return p.class;
  return '';
}

const LINES = [
  'request 12 handled in 40 ms for customer 9',
  'Environment variable DEPLOY_ENV is undefined',
  'panic: runtime error: index out of range',
  'Traceback (most recent call last):\n  File "app.py", line 3',
  'java.lang.IllegalStateException: pool closed',
  'open /etc/app/config.yaml: no such file or directory',
  'process exited with code 137',
  'fine\npanic: at line two',
  // The third pattern matches before the first one does: the first pattern's class still wins.
  'exec format error, then the setting DB_URL is not set',
  `${'x'.repeat(600)} panic: beyond the head`,
  '',
];

test('classify gives each line the class of the first matching default pattern', () => {
  const patterns = DEFAULT_LOG_PATTERNS as Patterns;
  const c = new LogClassifier(patterns);
  for (const line of LINES) assert.equal(c.classify(line), reference(patterns, line), JSON.stringify(line));
  assert.equal(c.classify('Environment variable DEPLOY_ENV is undefined'), 'config_error');
  assert.equal(c.classify('fine\npanic: at line two'), 'crash');
  assert.equal(c.classify('request 12 handled in 40 ms for customer 9'), '');
});

test('classify keeps pattern order when a later pattern matches earlier in the line', () => {
  const patterns: Patterns = [
    { class: 'config_error', pattern: 'late' },
    { class: 'crash', pattern: 'early' },
  ];
  const c = new LogClassifier(patterns);
  assert.equal(c.classify('early, then late'), 'config_error');
  assert.equal(c.classify('only early'), 'crash');
  assert.equal(c.classify('neither'), '');
});

test('patterns with backreferences or clashing group names still classify as each alone would', () => {
  const cases: Patterns[] = [
    // Joined, the second pattern's \2 would name its own (a), not its (b): 'abb' would not match.
    [
      { class: 'error', pattern: '(q)' },
      { class: 'crash', pattern: '(a)(b)\\2' },
    ],
    [
      { class: 'error', pattern: '(?<w>foo)' },
      { class: 'crash', pattern: '(?<w>bar)' },
    ],
  ];
  for (const patterns of cases) {
    const c = new LogClassifier(patterns);
    for (const line of ['abb', 'aba', 'q', 'foo', 'bar', 'baz'])
      assert.equal(c.classify(line), reference(patterns, line), `${JSON.stringify(patterns)} ${line}`);
  }
});
