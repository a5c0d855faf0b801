import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.ts';
import { flat } from './flat.ts';

export interface DedupStats {
  hits: number;
  misses: number;
  evictions: number;
}

/**
 * Windowed dedup, bounded in entries and time (lru-cache with TTL on an injected clock).
 * Two rules:
 *  - a Kubernetes Event re-emitted by the receiver on every update keeps its uid and grows `count`
 *    (FORMATS.md §3: dedupe on (uid, count)); only the growth is new, a repeat of a seen count is a
 *    duplicate;
 *  - any other signal with the same fingerprint inside the window is a repeat: it only adds to a count.
 */
export class WindowDedup {
  readonly stats: DedupStats = { hits: 0, misses: 0, evictions: 0 };
  readonly #cache: LRUCache<string, number>;

  constructor(opts: { windowMs: number; maxEntries: number; clock: Clock }) {
    this.#cache = new LRUCache<string, number>({
      max: opts.maxEntries,
      ttl: opts.windowMs,
      // Entries are only checked on access; expiry does not need a timer per entry.
      ttlAutopurge: false,
      // Read the record clock on every access: by default lru-cache reuses a reading for 1 ms of real
      // time, and the record clock can move minutes within that millisecond (replay, catch-up), which
      // kept expired entries alive (bench/pipeline.ts: hit ratio 0.516 where 0.500 is right).
      ttlResolution: 0,
      updateAgeOnGet: false,
      perf: opts.clock,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.stats.evictions++;
      },
    });
  }

  /**
   * For a Kubernetes Event: how many new occurrences this update adds (0 = duplicate).
   * The first sighting of an event counts all its occurrences so far.
   */
  eventDelta(eventUid: string, count: number): number {
    const seen = this.#cache.get(eventUid);
    if (seen === undefined) {
      this.stats.misses++;
      this.#cache.set(eventUid, count);
      return count;
    }
    if (count <= seen) {
      this.stats.hits++;
      return 0;
    }
    this.stats.hits++;
    this.#cache.set(eventUid, count);
    return count - seen;
  }

  /** For any other signal: true when the same fingerprint was already seen inside the window. */
  seen(fingerprint: string): boolean {
    if (this.#cache.has(fingerprint)) {
      this.stats.hits++;
      return true;
    }
    this.stats.misses++;
    this.#cache.set(flat(fingerprint), 1);
    return false;
  }

  /**
   * Restore: marks a fingerprint (value 1) or an Event's count as seen without counting a lookup; a
   * higher count already remembered stays.
   */
  remember(key: string, value = 1): void {
    const cur = this.#cache.get(key);
    if (cur === undefined || value > cur) this.#cache.set(flat(key), value);
  }

  get size(): number {
    return this.#cache.size;
  }
}
