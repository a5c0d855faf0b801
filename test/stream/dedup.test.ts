// Windowed dedup: Kubernetes Event (uid, count) growth, fingerprint repeats, the time window on the
// record clock, and the entry bound (least recently used evicted, counted).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
