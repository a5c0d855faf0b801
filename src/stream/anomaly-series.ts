// The anomaly detector's per-series numbers, in typed arrays indexed by a slot, behind a Map from series
// key to slot in recency order. It keeps TtlLruMap's rules exactly (lru-map.ts: a get or set makes a key
// the most recent; when full, the least recent goes; an entry expires ttlMs after it was set on the
// record clock, a get does not renew it; set at clock time 0 never expires), which
// test/stream/anomaly-series.test.ts checks op by op against TtlLruMap.
//
// Why not TtlLruMap<{ setAt, last, mean, samples }>: with pointer compression V8 boxes every double field
// of an object in a HeapNumber of its own, so each of the 100k series of bench/memory.ts held an object
// and three boxes (7.6 MB of 79 MB heap). Here a series is a Map entry with a small-integer value and 28
// bytes of typed arrays, which live outside the young generation (their growth does not count as
// surviving bytes, which is what makes V8 double its semi-spaces).
import type { Clock } from './clock.ts';

export class SeriesTable {
  readonly #slots = new Map<string, number>();
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  #setAt = new Float64Array(0);
  #last = new Float64Array(0);
  #mean = new Float64Array(0);
  #samples = new Uint32Array(0);
  /** Slots freed by expiry or eviction, reused before the arrays grow. */
  readonly #free: number[] = [];
  #used = 0;

  constructor(opts: { max: number; ttlMs: number; clock: Clock }) {
    this.#max = opts.max;
    this.#ttlMs = opts.ttlMs;
    this.#clock = opts.clock;
  }

  /** Entries held, expired ones not yet dropped included (as TtlLruMap counts them). */
  get size(): number {
    return this.#slots.size;
  }

  /** The live series' slot (-1 when absent or expired), which becomes the most recent. */
  get(key: string): number {
    const slot = this.#slots.get(key);
    if (slot === undefined) return -1;
    this.#slots.delete(key);
    const at = this.#setAt[slot]!;
    if (this.#ttlMs !== 0 && at !== 0 && this.#clock.now() - at > this.#ttlMs) {
      this.#free.push(slot);
      return -1;
    }
    this.#slots.set(key, slot);
    return slot;
  }

  /**
   * Stores a new series (a key get() has just missed: absent, or dropped as expired) with its first
   * sample, the most recent; when full, the least recent goes. `key` is kept: pass a flat string.
   */
  add(key: string, value: number): number {
    if (this.#slots.size >= this.#max) {
      const [oldKey, oldSlot] = this.#slots.entries().next().value as [string, number];
      this.#slots.delete(oldKey);
      this.#free.push(oldSlot);
    }
    const slot = this.#free.pop() ?? this.#grow();
    this.#setAt[slot] = this.#clock.now();
    this.#last[slot] = value;
    this.#mean[slot] = value;
    this.#samples[slot] = 1;
    this.#slots.set(key, slot);
    return slot;
  }

  last(slot: number): number {
    return this.#last[slot]!;
  }

  mean(slot: number): number {
    return this.#mean[slot]!;
  }

  samples(slot: number): number {
    return this.#samples[slot]!;
  }

  update(slot: number, last: number, mean: number, samples: number): void {
    this.#last[slot] = last;
    this.#mean[slot] = mean;
    this.#samples[slot] = samples;
  }

  setLast(slot: number, last: number): void {
    this.#last[slot] = last;
  }

  #grow(): number {
    const slot = this.#used++;
    if (slot >= this.#setAt.length) {
      // Doubling, up to the bound: a table that never fills never holds max slots.
      const n = Math.min(Math.max(1024, this.#setAt.length * 2), Math.max(this.#max, slot + 1));
      this.#setAt = grown(this.#setAt, new Float64Array(n));
      this.#last = grown(this.#last, new Float64Array(n));
      this.#mean = grown(this.#mean, new Float64Array(n));
      this.#samples = grown(this.#samples, new Uint32Array(n));
    }
    return slot;
  }
}

function grown<T extends Float64Array | Uint32Array>(old: T, next: T): T {
  next.set(old);
  return next;
}
