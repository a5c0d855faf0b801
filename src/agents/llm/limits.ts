// Bounds on model calls: a token bucket for the rate, and a semaphore with a bounded wait queue for
// concurrency. Both refuse rather than queue without bound; a refused call means "rules only".

export class TokenBucket {
  #tokens: number;
  #last: number;
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;

  constructor(perMinute: number, burst: number, now: () => number) {
    this.#perMs = perMinute / 60_000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  take(): boolean {
    const t = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (t - this.#last) * this.#perMs);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export type Acquired = { ok: true; release: () => void } | { ok: false; why: 'full' | 'aborted' };

export class Semaphore {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #max: number;
  readonly #maxQueue: number;

  constructor(max: number, maxQueue: number) {
    this.#max = max;
    this.#maxQueue = maxQueue;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  acquire(signal: AbortSignal): Promise<Acquired> {
    if (signal.aborted) return Promise.resolve({ ok: false, why: 'aborted' });
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve({ ok: true, release: this.#releaser() });
    }
    if (this.#waiting.length >= this.#maxQueue) return Promise.resolve({ ok: false, why: 'full' });
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.#active++;
        resolve({ ok: true, release: this.#releaser() });
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(grant);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve({ ok: false, why: 'aborted' });
      };
      this.#waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#active--;
      this.#waiting.shift()?.();
    };
  }
}
