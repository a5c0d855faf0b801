// Bounded per-key state for the pipeline (dedup, noise floors, anomaly series, workload states): a Map in
// recency order. A get or set moves its key to the end; when full, the first key (least recently used)
// goes. They behave exactly as lru-cache did with the options these caches used (max; ttl on the record
// clock, read at every access, age not renewed by a get; dispose on eviction), which
// test/stream/lru-map.test.ts checks op by op, but they hold only what is in them: lru-cache preallocates
// arrays for `max` entries up front. At 10k pods, 100k series and 10k incidents (bench/memory.ts) the
// heap went 90.7 → 78.8 MB and RSS 332 → 311 MB; the pipeline does 1.10× the records per CPU-second.
import type { Clock } from './clock.ts';

/** Least-recently-used map without expiry. */
export class LruMap<V> {
  readonly #map = new Map<string, V>();
  readonly #max: number;
  readonly #onEvict: ((value: V, key: string) => void) | undefined;
  /**
   * The most recently used key: a get of it has nothing to move. The noise floors ask for the same key
   * several times per signal (a log line: its rate window to count it, then to test it), and each get
   * that moved its key was three Map operations (get, delete, set) instead of one.
   */
  #newest: string | undefined;

  constructor(max: number, onEvict?: (value: V, key: string) => void) {
    this.#max = max;
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, which becomes the most recently used. */
  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    if (key !== this.#newest) {
      this.#map.delete(key);
      this.#map.set(key, v);
      this.#newest = key;
    }
    return v;
  }

  /** Sets the value, the most recently used; a new key in a full map evicts the least recently used. */
  set(key: string, value: V): void {
    if (this.#map.delete(key)) {
      this.#map.set(key, value);
      this.#newest = key;
      return;
    }
    if (this.#map.size >= this.#max) {
      const [oldKey, oldValue] = this.#map.entries().next().value as [string, V];
      this.#map.delete(oldKey);
      this.#onEvict?.(oldValue, oldKey);
    }
    this.#map.set(key, value);
    this.#newest = key;
  }

  delete(key: string): boolean {
    if (key === this.#newest) this.#newest = undefined;
    return this.#map.delete(key);
  }
}

/**
 * A value that carries its own time to live: when it was last set on the record clock (set() writes
 * it). A start of 0 (set at clock time 0) never expires, as in lru-cache. Kept on the value rather than
 * in a wrapper object: at 100k anomaly series the heap after GC went 78.8 → 75.6 MB (bench/lib/memory-child.ts; RSS unchanged).
 */
export interface Expiring {
  setAt: number;
}

/** Least-recently-used map whose entries expire `ttlMs` after they were last set (record clock). */
export class TtlLruMap<V extends Expiring> {
  readonly #map = new Map<string, V>();
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  readonly #onEvict: ((value: V, key: string) => void) | undefined;

  constructor(opts: { max: number; ttlMs: number; clock: Clock; onEvict?: (value: V, key: string) => void }) {
    this.#max = opts.max;
    this.#ttlMs = opts.ttlMs;
    this.#clock = opts.clock;
    this.#onEvict = opts.onEvict;
  }

  /** Entries held, expired ones not yet dropped included (as lru-cache counts them). */
  get size(): number {
    return this.#map.size;
  }

  #stale(v: V): boolean {
    return this.#ttlMs !== 0 && v.setAt !== 0 && this.#clock.now() - v.setAt > this.#ttlMs;
  }

  /** The live value, which becomes the most recent; an expired entry is dropped (not an eviction). */
  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    this.#map.delete(key);
    if (this.#stale(v)) return undefined;
    this.#map.set(key, v);
    return v;
  }

  /** Whether a live entry exists; neither its recency nor its age changes. */
  has(key: string): boolean {
    const v = this.#map.get(key);
    return v !== undefined && !this.#stale(v);
  }

  /**
   * set() for a key that get() has just missed (so it is absent: get drops an expired entry): skips
   * set's delete of an entry that is not there. Dedup does this for every new Kubernetes Event.
   */
  setAbsent(key: string, value: V): void {
    value.setAt = this.#clock.now();
    if (this.#map.size >= this.#max) {
      const [oldKey, old] = this.#map.entries().next().value as [string, V];
      this.#map.delete(oldKey);
      this.#onEvict?.(old, oldKey);
    }
    this.#map.set(key, value);
  }

  /**
   * set() of the value get() has just returned, which is already the most recent: only its time to
   * live restarts (set would delete and re-insert it in the same place).
   */
  renew(value: V): void {
    value.setAt = this.#clock.now();
  }

  /** Sets the value and restarts its time to live; the most recent. When full, the least recent goes. */
  set(key: string, value: V): void {
    value.setAt = this.#clock.now();
    if (this.#map.delete(key)) {
      this.#map.set(key, value);
      return;
    }
    if (this.#map.size >= this.#max) {
      const [oldKey, old] = this.#map.entries().next().value as [string, V];
      this.#map.delete(oldKey);
      this.#onEvict?.(old, oldKey);
    }
    this.#map.set(key, value);
  }
}
