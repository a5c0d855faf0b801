// The anomaly detector keeps its per-series numbers in typed arrays (anomaly-series.ts) instead of a
// TtlLruMap of objects: it must keep, evict and expire exactly the series TtlLruMap did, with the same
// numbers, including when slots are freed and reused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeriesTable } from '../../src/stream/anomaly-series.ts';
import { ManualClock } from '../../src/stream/clock.ts';
import { TtlLruMap } from '../../src/stream/lru-map.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
}

interface Ref {
  setAt: number;
  last: number;
  mean: number;
  samples: number;
}

describe('anomaly-series: same series as a TtlLruMap of objects', () => {
  it('get, add, update and size match op by op under clock steps (a clock at 0 included), past the first growth', () => {
    const r = rng(11);
    for (const [ttlMs, max, start, keys] of [
      [1_000, 8, 0, 20],
      [60_000, 3000, 1_000_000, 4000],
      [0, 50, 5, 120],
    ] as const) {
      const clock = new ManualClock(start);
      const ref = new TtlLruMap<Ref>({ max, ttlMs, clock });
      const ours = new SeriesTable({ max, ttlMs, clock });
      for (let i = 0; i < 40_000; i++) {
        // Steps of exactly the time to live too: an entry that old is still live, one ms older is not.
        const step = r();
        if (step < 0.02) clock.advance(clock.now() + ttlMs);
        else if (step < 0.05) clock.advance(clock.now() + Math.floor(r() * ttlMs * 0.3 + 1));
        const key = `k${Math.floor(r() * keys)}`;
        const v = Math.floor(r() * 1000) / 8;
        const want = ref.get(key);
        const slot = ours.get(key);
        assert.equal(slot >= 0, want !== undefined, `op ${i} get(${key})`);
        if (want === undefined) {
          ref.set(key, { setAt: 0, last: v, mean: v, samples: 1 });
          ours.add(key, v);
        } else {
          assert.deepEqual(
            [ours.last(slot), ours.mean(slot), ours.samples(slot)],
            [want.last, want.mean, want.samples],
            `op ${i} values of ${key}`,
          );
          want.mean += 0.2 * (v - want.mean);
          want.last = v;
          want.samples++;
          ours.update(slot, want.last, want.mean, want.samples);
        }
        assert.equal(ours.size, ref.size, `op ${i} size`);
      }
    }
  });
});
