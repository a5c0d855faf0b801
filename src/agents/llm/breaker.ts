// Circuit breaker: after `failures` consecutive endpoint failures it opens and calls are refused
// without trying; after `cooldownMs` one probe is let through (half-open). The probe's success closes
// it, its failure opens it for another cooldown. So a dead endpoint costs one timeout per cooldown,
// not one per incident.

export type BreakerState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #consecutive = 0;
  #openedAt = 0;
  #probing = false;
  readonly #failures: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;

  constructor(failures: number, cooldownMs: number, now: () => number) {
    this.#failures = failures;
    this.#cooldownMs = cooldownMs;
    this.#now = now;
  }

  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) return 'half_open';
    return this.#state;
  }

  /** Whether a call may start now. Does not change state: `begin` does. */
  canTry(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half_open' && !this.#probing);
  }

  /** Marks a call as started; in half-open it is the one probe. Call right after canTry() said yes. */
  begin(): void {
    if (this.state === 'half_open') {
      this.#state = 'half_open';
      this.#probing = true;
    }
  }

  success(): void {
    this.#state = 'closed';
    this.#consecutive = 0;
    this.#probing = false;
  }

  failure(): void {
    this.#consecutive++;
    if (this.#probing || this.#state === 'half_open' || this.#consecutive >= this.#failures) {
      this.#state = 'open';
      this.#openedAt = this.#now();
      this.#probing = false;
    }
  }
}
