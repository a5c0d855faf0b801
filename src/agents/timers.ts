// Time as the agents see it, injected so timeouts, rate limits and the circuit breaker's cooldown are
// tested without waiting (STYLE.md: inject the clock and sleeps).

export interface Timers {
  now(): number;
  /** Resolves true after `ms`, or false as soon as `signal` aborts (the timer is then cleared). */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
