// Windowed dedup: Kubernetes Event (uid, count) growth, fingerprint repeats, the time window on the
// record clock, and the entry bound (least recently used evicted, counted).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LRUCache } from 'lru-cache';
import { ManualClock } from '../../src/stream/clock.ts';
import { WindowDedup } from '../../src/stream/dedup.ts';

function dedup(windowMs = 60_000, maxEntries = 100) {
  const clock = new ManualClock(1_000_000);
  return { clock, d: new WindowDedup({ windowMs, maxEntries, clock }) };
}

describe('dedup: window', () => {
  it('counts only the growth of an event count; a repeated or older count adds nothing', () => {
    const { d } = dedup();
    assert.equal(d.eventDelta('uid-1', 3), 3, 'first sighting counts all occurrences so far');
    assert.equal(d.eventDelta('uid-1', 3), 0);
    assert.equal(d.eventDelta('uid-1', 2), 0, 're-ordered older update');
    assert.equal(d.eventDelta('uid-1', 7), 4);
    assert.equal(d.eventDelta('uid-2', 1), 1);
    assert.deepEqual(d.stats, { hits: 3, misses: 2, evictions: 0 });
  });

  // Also guards the record clock being read on every access: lru-cache's default ttlResolution reuses a
  // reading for 1 ms of real time, and these clock jumps all happen within that millisecond.
  it('a fingerprint is a repeat inside the window and new after it', () => {
    const { d, clock } = dedup(10_000);
    assert.equal(d.seen('fp'), false);
    clock.advance(clock.now() + 10_000);
    assert.equal(d.seen('fp'), true, 'inside the window (its last millisecond included)');
    clock.advance(clock.now() + 1);
    assert.equal(d.seen('fp'), false, 'a window after the first sighting (a repeat does not extend it)');
    assert.equal(d.seen('fp'), true);
  });

  it('an event update restarts its window; an event not updated for a window counts afresh', () => {
    const { d, clock } = dedup(10_000);
    d.eventDelta('e', 1);
    clock.advance(clock.now() + 8_000);
    assert.equal(d.eventDelta('e', 2), 1);
    clock.advance(clock.now() + 8_000);
    assert.equal(d.eventDelta('e', 2), 0, 'still inside the window of the last growth');
    clock.advance(clock.now() + 10_001);
    assert.equal(d.eventDelta('e', 2), 2, 'forgotten after a quiet window');
  });

  it('when full, evicts the least recently used entry and counts it', () => {
    const { d } = dedup(60_000, 3);
    d.eventDelta('x', 1);
    d.eventDelta('y', 1);
    d.eventDelta('z', 1);
    d.eventDelta('x', 2); // x used last now: y is the least recently used
    d.eventDelta('w', 1);
    assert.equal(d.size, 3);
    assert.equal(d.stats.evictions, 1);
    assert.equal(d.eventDelta('x', 2), 0, 'x kept');
    assert.equal(d.eventDelta('z', 1), 0, 'z kept');
    assert.equal(d.eventDelta('y', 1), 1, 'y was evicted, so it counts again');
  });
});

/** The lru-cache-backed dedup WindowDedup replaced, kept as the reference it must match op by op. */
class LruReference {
  readonly stats = { hits: 0, misses: 0, evictions: 0 };
  readonly cache: LRUCache<string, number>;
  constructor(windowMs: number, max: number, clock: ManualClock) {
    this.cache = new LRUCache<string, number>({
      max,
      ttl: windowMs,
      ttlAutopurge: false,
      ttlResolution: 0,
      updateAgeOnGet: false,
      perf: clock,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.stats.evictions++;
      },
    });
  }
  eventDelta(uid: string, count: number): number {
    const seen = this.cache.get(uid);
    if (seen === undefined) {
      this.stats.misses++;
      this.cache.set(uid, count);
      return count;
    }
    this.stats.hits++;
    if (count <= seen) return 0;
    this.cache.set(uid, count);
    return count - seen;
  }
  seen(fp: string): boolean {
    if (this.cache.has(fp)) {
      this.stats.hits++;
      return true;
    }
    this.stats.misses++;
    this.cache.set(fp, 1);
    return false;
  }
}

describe('dedup: same answers as the lru-cache it replaced', () => {
  it('eventDelta, seen, evictions and size match op by op under random keys, counts and clock steps', () => {
    let a = 99;
    const r = () => {
      a = (Math.imul(a, 1103515245) + 12345) >>> 0;
      return a / 4294967296;
    };
    for (const [windowMs, max, start] of [
      [10_000, 5, 1_000_000],
      [10_000, 40, 0],
      [3, 8, 0],
      [60_000, 100, 5],
    ] as const) {
      const clock = new ManualClock(start);
      const d = new WindowDedup({ windowMs, maxEntries: max, clock });
      const ref = new LruReference(windowMs, max, clock);
      for (let i = 0; i < 20_000; i++) {
        const x = r();
        if (x < 0.1) clock.advance(clock.now() + Math.floor(r() * windowMs * 1.5));
        const key = `k${Math.floor(r() * max * 2)}`;
        if (x < 0.6) {
          const count = 1 + Math.floor(r() * 5);
          assert.equal(
            d.eventDelta(key, count),
            ref.eventDelta(key, count),
            `op ${i} eventDelta(${key}, ${count})`,
          );
        } else assert.equal(d.seen(key), ref.seen(key), `op ${i} seen(${key})`);
        assert.equal(d.size, ref.cache.size, `op ${i} size`);
      }
      assert.deepEqual(d.stats, ref.stats);
      assert.ok(d.stats.evictions > 0 && d.stats.hits > 0, 'the walk exercised evictions and hits');
    }
  });
});
