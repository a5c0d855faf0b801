import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../../src/agents/llm/breaker.ts';
import { Semaphore, TokenBucket } from '../../src/agents/llm/limits.ts';
import { ManualTimers } from './manual-timers.ts';

describe('agents: circuit breaker', () => {
  it('opens after N consecutive failures; a success in between resets the count', () => {
    const t = new ManualTimers();
    const b = new CircuitBreaker(3, 10_000, () => t.now());
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    assert.equal(b.state, 'closed');
    b.failure();
    assert.equal(b.state, 'open');
    assert.equal(b.canTry(), false);
  });

  it('lets exactly one probe through when half-open', () => {
    const t = new ManualTimers();
    const b = new CircuitBreaker(1, 10_000, () => t.now());
    b.failure();
    t.advance(10_000);
    assert.equal(b.state, 'half_open');
    assert.equal(b.canTry(), true);
    b.begin();
    assert.equal(b.canTry(), false, 'a second caller waits for the probe');
    b.failure();
    assert.equal(b.state, 'open');
    t.advance(9_999);
    assert.equal(b.canTry(), false);
    t.advance(1);
    b.begin();
    b.success();
    assert.equal(b.state, 'closed');
    assert.equal(b.canTry(), true);
  });
});

describe('agents: rate and concurrency limits', () => {
  it('token bucket: burst, then one token per 60/rate seconds', () => {
    const t = new ManualTimers();
    const bucket = new TokenBucket(6, 2, () => t.now());
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    t.advance(9_999);
    assert.equal(bucket.take(), false);
    t.advance(1);
    assert.equal(bucket.take(), true);
    t.advance(3_600_000);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false, 'never more than the burst');
  });

  it('semaphore: bounded queue, FIFO hand-over, aborted waiters leave the queue', async () => {
    const s = new Semaphore(1, 1);
    const never = new AbortController().signal;
    const a = await s.acquire(never);
    assert.ok(a.ok);
    const abort = new AbortController();
    const waiting = s.acquire(abort.signal);
    assert.equal(s.queued, 1);
    assert.deepEqual(await s.acquire(never), { ok: false, why: 'full' });
    abort.abort();
    assert.deepEqual(await waiting, { ok: false, why: 'aborted' });
    assert.equal(s.queued, 0);
    const c = s.acquire(never);
    a.release();
    a.release(); // twice is harmless
    const got = await c;
    assert.ok(got.ok);
    assert.equal(s.active, 1);
    got.release();
    assert.equal(s.active, 0);
  });
});
