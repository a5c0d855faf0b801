/**
 * The stream's notion of "now". In `run` it is the wall clock; in `replay` it is the newest record
 * timestamp seen, so the same capture always gives the same windows, ids and revisions.
 */
export interface Clock {
  now(): number;
}

export const wallClock: Clock = { now: () => Date.now() };

/** A clock that only moves forward when told to (record timestamps, tests). */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = 0) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** Moves forward to `t`; never backwards, since records may arrive out of order. */
  advance(t: number): void {
    if (t > this.#now) this.#now = t;
  }
}
