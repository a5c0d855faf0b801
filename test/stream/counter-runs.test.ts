// A restart counter's rises are a function of its samples, not of the order they arrive in: the
// Collector partitions k8s_cluster metrics by resource, and a container's resource changes with every
// restart, so one counter's samples come from several partitions (src/stream/counter-runs.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CounterRuns, MAX_RUNS } from '../../src/stream/counter-runs.ts';

interface Sample {
  at: number;
  value: number;
  detail: string;
}

/** Feeds samples to one series; returns the rises per termination reason, summed over every change. */
function rises(samples: readonly Sample[], minDelta = 1): Map<string, number> {
  const c = new CounterRuns();
  const [first, ...rest] = samples;
  c.start(7, first!.at, first!.value, first!.detail);
  const out = new Map<string, number>();
  for (const s of rest)
    for (const ch of c.observe(7, s.at, s.value, s.detail, minDelta))
      out.set(ch.detail, (out.get(ch.detail) ?? 0) + ch.add);
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
}

function shuffled<T>(xs: readonly T[], r: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A crash loop scraped every 10 s: restarts at the given sample indexes, each with its termination reason. */
function crashLoop(n: number, restarts: Map<number, string>): Sample[] {
  const out: Sample[] = [];
  let value = 0;
  let detail = '';
  for (let i = 0; i < n; i++) {
    const why = restarts.get(i);
    if (why !== undefined) {
      value++;
      detail = why;
    }
    out.push({ at: 1_000_000 + i * 10_000, value, detail });
  }
  return out;
}

describe('counter-runs: restart counter rises independent of arrival order', () => {
  it('in time order: each rise over the previous sample, a drop is a reset that adds nothing (as before)', () => {
    const s = (at: number, value: number, detail = 'Error') => ({ at, value, detail });
    assert.deepEqual(
      rises([s(0, 0, ''), s(10, 1), s(20, 1), s(30, 3), s(40, 0), s(50, 2)]),
      new Map([['Error', 5]]),
    );
    // minDelta: a rise below it is not a finding, and the next rise is measured from the new value.
    assert.deepEqual(rises([s(0, 0), s(10, 0.5), s(20, 1)], 1), new Map());
  });

  it('any arrival order of the same samples gives the same rises per termination reason as time order', () => {
    const r = rng(5);
    const samples = crashLoop(
      40,
      new Map([
        [5, 'Error'],
        [9, 'Error'],
        [14, 'OOMKilled'],
        [20, 'Error'],
        [27, 'OOMKilled'],
        [33, 'OOMKilled'],
      ]),
    );
    const want = rises(samples);
    assert.deepEqual(
      want,
      new Map([
        ['Error', 3],
        ['OOMKilled', 3],
      ]),
    );
    for (let k = 0; k < 200; k++)
      assert.deepEqual(rises([samples[0]!, ...shuffled(samples.slice(1), r)]), want);
    // Also when the first sample seen is not the earliest.
    for (let k = 0; k < 200; k++) assert.deepEqual(rises(shuffled(samples, r)), want);
  });

  it('partitions read one after another (each restart on a partition of its own): the same rises', () => {
    // The Collector's partition_metrics_by_resource_attributes: container.id changes with each restart.
    const samples = crashLoop(
      30,
      new Map([
        [4, 'Error'],
        [10, 'Error'],
        [17, 'Error'],
        [25, 'Error'],
      ]),
    );
    const byValue = new Map<number, Sample[]>();
    for (const s of samples) byValue.set(s.value, [...(byValue.get(s.value) ?? []), s]);
    const partitions = [...byValue.values()];
    const want = rises(samples);
    assert.deepEqual(want, new Map([['Error', 4]]));
    for (const order of [
      [4, 3, 2, 1, 0],
      [1, 0, 3, 2, 4],
      [2, 4, 0, 3, 1],
    ])
      assert.deepEqual(rises(order.flatMap((p) => partitions[p]!)), want, `partitions in order ${order}`);
  });

  it('a late sample that moves a rise to another reason corrects it (a negative change), the total stays', () => {
    const c = new CounterRuns();
    c.start(0, 0, 0, '');
    const err = c.observe(0, 30, 2, 'OOMKilled', 1);
    assert.deepEqual(err, [{ detail: 'OOMKilled', add: 2, expected: 0, observed: 2 }]);
    // The sample between them: the first restart was an Error, the second an OOMKill.
    const late = c.observe(0, 20, 1, 'Error', 1);
    assert.deepEqual(
      [...late].sort((a, b) => a.detail.localeCompare(b.detail)),
      [
        { detail: 'Error', add: 1, expected: 0, observed: 1 },
        { detail: 'OOMKilled', add: -1, expected: 1, observed: 2 },
      ],
    );
    assert.equal(c.last(0), 2, 'the newest sample is still the current reading');
  });

  it(`keeps at most ${MAX_RUNS} runs per series; a sample older than what is kept is ignored`, () => {
    const c = new CounterRuns();
    c.start(3, 0, 0, '');
    let total = 0;
    for (let i = 1; i <= 3 * MAX_RUNS; i++)
      for (const ch of c.observe(3, i * 10, i, 'Error', 1)) total += ch.add;
    assert.equal(total, 3 * MAX_RUNS);
    assert.equal(c.runCount(3), MAX_RUNS);
    // Before the oldest run kept: outside what is remembered, it changes nothing.
    assert.deepEqual(c.observe(3, 5, 0, 'Error', 1), []);
    // Inside what is kept, a late sample still finds its place (it repeats a kept run: nothing new).
    assert.deepEqual(c.observe(3, 3 * MAX_RUNS * 10 - 5, 3 * MAX_RUNS - 1, 'Error', 1), []);
  });

  it('untrusted telemetry with hundreds of distinct termination reasons: rises in time order keep theirs', () => {
    const samples = [{ at: 0, value: 0, detail: '' }];
    for (let i = 1; i <= 400; i++) samples.push({ at: i * 10, value: i, detail: `reason-${i}` });
    const got = rises(samples);
    assert.equal(got.size, 400);
    assert.equal(got.get('reason-399'), 1);
    // A steady counter of a reason beyond those interned is one run, not a run per sample.
    const c = new CounterRuns();
    c.start(0, 0, 0, '');
    for (let i = 1; i <= 300; i++) c.observe(0, i, i, `other-${i}`, 1);
    c.start(1, 0, 0, '');
    assert.deepEqual(c.observe(1, 10, 1, 'other-300', 1), [
      { detail: 'other-300', add: 1, expected: 0, observed: 1 },
    ]);
    for (let t = 20; t < 400; t += 10) assert.deepEqual(c.observe(1, t, 1, 'other-300', 1), []);
    assert.equal(c.runCount(1), 2);
  });

  it('a reused slot starts over', () => {
    const c = new CounterRuns();
    c.start(1, 0, 0, '');
    assert.equal(c.observe(1, 10, 4, 'Error', 1)[0]?.add, 4);
    c.start(1, 100, 9, '');
    assert.deepEqual(c.observe(1, 50, 1, 'Error', 1), [{ detail: '', add: 8, expected: 1, observed: 9 }]);
  });
});
