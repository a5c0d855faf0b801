import type { Timers } from '../../src/agents/timers.ts';

/** Timers that move only when told: timeouts and cooldowns fire on `advance`, never on the wall clock. */
export class ManualTimers implements Timers {
  #now: number;
  #pending: { at: number; resolve: (elapsed: boolean) => void }[] = [];

  constructor(start = Date.UTC(2026, 10, 28, 10, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  get pending(): number {
    return this.#pending.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry = { at: this.#now + ms, resolve };
      this.#pending.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.#pending = this.#pending.filter((p) => p !== entry);
          resolve(false);
        },
        { once: true },
      );
    });
  }

  advance(ms: number): void {
    this.#now += ms;
    const due = this.#pending.filter((p) => p.at <= this.#now);
    this.#pending = this.#pending.filter((p) => p.at > this.#now);
    for (const p of due) p.resolve(true);
  }
}
