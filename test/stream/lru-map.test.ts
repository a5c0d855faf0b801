// LruMap and TtlLruMap replaced lru-cache in the pipeline's bounded state (noise floors, anomaly series,
// workload states, dedup): they must answer exactly as lru-cache did with the options used there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LRUCache } from 'lru-cache';
import { ManualClock } from '../../src/stream/clock.ts';
import { LruMap, TtlLruMap } from '../../src/stream/lru-map.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
}

describe('lru-map: same answers as lru-cache', () => {
  it('LruMap: get, set, delete, size and evictions (with the evicted value) match op by op', () => {
    const r = rng(5);
    for (const max of [1, 3, 16]) {
      const evicted: string[] = [];
      const ref = new LRUCache<string, number>({
        max,
        dispose: (v, k, reason) => {
          if (reason === 'evict') evicted.push(`${k}=${v}`);
        },
      });
      const ours: string[] = [];
      const m = new LruMap<number>(max, (v, k) => ours.push(`${k}=${v}`));
      for (let i = 0; i < 20_000; i++) {
        const key = `k${Math.floor(r() * max * 2.5)}`;
        const x = r();
        if (x < 0.45) assert.equal(m.get(key), ref.get(key), `op ${i} get(${key})`);
        else if (x < 0.9) {
          const v = Math.floor(r() * 100);
          m.set(key, v);
          ref.set(key, v);
        } else assert.equal(m.delete(key), ref.delete(key), `op ${i} delete(${key})`);
        assert.equal(m.size, ref.size, `op ${i} size`);
      }
      assert.deepEqual(ours, evicted);
      assert.ok(evicted.length > 0);
    }
  });

  it('TtlLruMap: get, has, set, size and evictions match under clock steps, a clock at 0 included', () => {
    const r = rng(6);
    for (const [ttlMs, max, start] of [
      [1_000, 8, 0],
      [60_000, 30, 1_000_000],
    ] as const) {
      const clock = new ManualClock(start);
      const evicted: string[] = [];
      const ref = new LRUCache<string, { n: number; setAt: number }>({
        max,
        ttl: ttlMs,
        ttlAutopurge: false,
        ttlResolution: 0,
        perf: clock,
        dispose: (v, k, reason) => {
          if (reason === 'evict') evicted.push(`${k}=${v.n}`);
        },
      });
      const ours: string[] = [];
      const m = new TtlLruMap<{ n: number; setAt: number }>({
        max,
        ttlMs,
        clock,
        onEvict: (v, k) => ours.push(`${k}=${v.n}`),
      });
      for (let i = 0; i < 20_000; i++) {
        if (r() < 0.1) clock.advance(clock.now() + Math.floor(r() * ttlMs * 0.8));
        const key = `k${Math.floor(r() * max * 2)}`;
        const x = r();
        if (x < 0.4) assert.equal(m.get(key)?.n, ref.get(key)?.n, `op ${i} get(${key})`);
        else if (x < 0.6) assert.equal(m.has(key), ref.has(key), `op ${i} has(${key})`);
        else {
          const v = { n: i, setAt: 0 };
          m.set(key, v);
          ref.set(key, v);
        }
        assert.equal(m.size, ref.size, `op ${i} size`);
      }
      assert.deepEqual(ours, evicted);
    }
  });
});
