// iso() formats timestamps for every context document by hand (a hot path): it must write exactly what
// `new Date(Math.round(ms)).toISOString()` writes, or replay output would change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iso } from '../../src/stream/incidents/document.ts';

function reference(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
}

describe('iso', () => {
  it('matches toISOString over random times, fractions and day changes in any order', () => {
    const r = rng(18);
    const base = Date.UTC(2026, 10, 28, 10, 0, 0);
    for (let i = 0; i < 50_000; i++) {
      const spanMs = [1_000, 86_400_000, 3e11, 2.5e14][i % 4]!;
      const ms = base + (r() - 0.5) * spanMs + (i % 3 === 0 ? r() : 0);
      assert.equal(iso(ms), reference(ms), `at ${ms}`);
    }
  });

  it('matches at day, year and range edges, before 1970 and from year 10000', () => {
    const edges = [
      0,
      0.4,
      0.5,
      0.6,
      -0.5,
      -1,
      1,
      999,
      1000,
      59_999,
      60_000,
      86_399_999,
      86_400_000,
      86_400_000.5,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2024, 2, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 0.4,
      253_402_300_800_000,
      8.64e15,
      -8.64e15,
      -62_167_219_200_001,
    ];
    // Twice, so the second round meets a cached day from a different input.
    for (const ms of [...edges, ...edges.reverse()]) assert.equal(iso(ms), reference(ms), `at ${ms}`);
  });

  it('throws as toISOString does for times Date cannot hold', () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1, -8.64e15 - 1])
      assert.throws(() => iso(ms), RangeError);
  });
});
