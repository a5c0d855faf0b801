// goTimeMs reads the usual Go time strings by hand (src/stream/normalise/events.ts): its answer must be
// the one the regex and Date.parse give, for those strings and for every near miss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goTimeFastMs, goTimeMs } from '../../src/stream/normalise/events.ts';

// The parse goTimeMs had before the hand reader, kept here as the reference.
const GO_TIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([+-])(\d\d)(\d\d)\b/;
function referenceMs(v: string): number {
  if (!v) return 0;
  const m = GO_TIME.exec(v);
  const ms = Date.parse(m ? `${m[1]}T${m[2]}${m[3]}${m[4]}:${m[5]}` : v);
  return Number.isNaN(ms) || ms <= 0 ? 0 : ms;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const pad = (x: number, w: number) => String(x).padStart(w, '0');

/** A Go time string with fields often in range, sometimes just outside it. */
function goTimeString(r: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const year = pick([1969, 1970, 1999, 2000, 2024, 2026, 2100, 9999, Math.floor(r() * 10000)]);
  const month = pick([0, 1, 2, 4, 12, 13, 1 + Math.floor(r() * 12)]);
  const day = pick([0, 1, 28, 29, 30, 31, 32, 1 + Math.floor(r() * 31)]);
  const hour = pick([0, 23, 24, 25, Math.floor(r() * 24)]);
  const minute = pick([0, 59, 60, Math.floor(r() * 60)]);
  const second = pick([0, 59, 60, Math.floor(r() * 60)]);
  const fraction = pick([
    '',
    '',
    '.5',
    '.12',
    '.123',
    '.1239',
    '.999999999',
    '.',
    `.${Math.floor(r() * 1e9)}`,
  ]);
  const offset = pick(['+0000', '+0100', '-0700', '+0530', '-1200', '+2359', '+2400', '+0060', '-0000']);
  const tail = pick(['', ' UTC', ' CET', ' +0000 UTC m=+12.5', 'x', '_', '0', ':', ' m=+0.000000001']);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)} ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction} ${offset}${tail}`;
}

/** s with one character replaced, dropped or doubled. */
function mutate(s: string, r: () => number): string {
  const i = Math.floor(r() * s.length);
  const c = '0123456789 -+:.TZxa\u00e9'[Math.floor(r() * 21)]!;
  const k = r();
  if (k < 0.4) return s.slice(0, i) + c + s.slice(i + 1);
  if (k < 0.7) return s.slice(0, i) + s.slice(i + 1);
  return s.slice(0, i) + s[i] + s.slice(i);
}

test('goTimeMs: the hand reader gives the regex and Date.parse answer for Go time strings and near misses', () => {
  const r = rng(18);
  let fast = 0;
  for (let n = 0; n < 200_000; n++) {
    const good = goTimeString(r);
    const v = r() < 0.5 ? good : mutate(good, r);
    if (goTimeFastMs(v) !== -1) fast++;
    assert.equal(goTimeMs(v), referenceMs(v), v);
  }
  // The cases must exercise the hand reader, not only its fallback.
  assert.ok(fast > 5_000, `hand reader answered ${fast} of 200000`);
});

test('goTimeMs: strings the hand reader answers and the ones it leaves to Date.parse', () => {
  const cases: [string, number][] = [
    ['2026-11-28 09:48:00 +0000 UTC', Date.UTC(2026, 10, 28, 9, 48)],
    ['2026-11-28 10:48:00.5 +0100 CET', Date.UTC(2026, 10, 28, 9, 48, 0, 500)],
    ['2026-11-28 09:48:00.1239 -0130', Date.UTC(2026, 10, 28, 11, 18, 0, 123)],
    ['2024-02-29 00:00:00 +0000 UTC', Date.UTC(2024, 1, 29)],
  ];
  for (const [v, ms] of cases) {
    assert.equal(goTimeFastMs(v), ms, v);
    assert.equal(goTimeMs(v), ms, v);
  }
  for (const v of [
    '2026-11-28T09:48:00Z',
    '2023-02-29 00:00:00 +0000',
    '1969-12-31 23:00:00 +0000',
    '2026-11-28 09:48:00 +0000x',
  ]) {
    assert.equal(goTimeFastMs(v), -1, v);
    assert.equal(goTimeMs(v), referenceMs(v), v);
  }
});
