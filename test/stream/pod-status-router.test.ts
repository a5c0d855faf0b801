// Scale-out: each replica's informers see every pod, so the routing of pod-status facts decides who
// counts one. Facts go to the partition their workload's telemetry goes to, only where it is assigned.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PodStatusRouter } from '../../src/stream/scaleout/pod-status-router.ts';
import type { PodStatusChange } from '../../src/stream/workload.ts';
import { oomKilledFact } from '../helpers/pod-facts.ts';

/** A feed like PodStatusFeed: facts whose time has come, once. */
function feed(facts: PodStatusChange[]) {
  return (untilMs: number) => {
    const due = facts.filter((f) => (f.atMs ?? 0) <= untilMs);
    facts.splice(0, facts.length, ...facts.filter((f) => !due.includes(f)));
    return due;
  };
}

/** pod p<n>-… belongs to partition n. */
const partitionOf = (c: PodStatusChange) => Number(c.pod.slice(1, c.pod.indexOf('-')));

describe('PodStatusRouter', () => {
  it('queues each fact for its partition when assigned here, and counts the others as elsewhere', () => {
    const r = new PodStatusRouter({
      take: feed([
        oomKilledFact('p0-a', 10),
        oomKilledFact('p1-a', 10),
        oomKilledFact('p2-a', 10),
        oomKilledFact('p1-b', 30),
      ]),
      partitionOf,
    });
    r.assigned([1, 2]);
    r.route(20);
    assert.deepEqual(r.stats, { routed: 2, elsewhere: 1, dropped: 0 });
    assert.deepEqual(
      r.takeFor(1).map((c) => c.pod),
      ['p1-a'],
    );
    assert.deepEqual(r.takeFor(1), [], 'taken once');
    assert.deepEqual(
      r.takeFor(2).map((c) => c.pod),
      ['p2-a'],
    );
    assert.deepEqual(r.takeFor(0), [], 'not assigned here');
    r.route(40);
    assert.deepEqual(
      r.takeFor(1).map((c) => c.pod),
      ['p1-b'],
      'a fact is routed when its time has come',
    );
  });

  it('keeps the queues of partitions still assigned over a new assignment, and drops the others', () => {
    const r = new PodStatusRouter({
      take: feed([oomKilledFact('p1-a', 1), oomKilledFact('p2-a', 1)]),
      partitionOf,
    });
    r.assigned([1, 2]);
    r.route(5);
    r.assigned([1, 3]);
    assert.deepEqual(
      r.takeFor(1).map((c) => c.pod),
      ['p1-a'],
    );
    assert.deepEqual(r.takeFor(2), [], 'partition 2 went to another replica');
    r.revoked();
    assert.deepEqual(r.takeFor(1), []);
  });

  it('leaves the feed alone between a revoke and the next assignment, so the new owner takes what came meanwhile', () => {
    const facts = [oomKilledFact('p1-a', 1)];
    const r = new PodStatusRouter({ take: feed(facts), partitionOf });
    r.assigned([0]);
    r.revoked();
    r.route(5);
    assert.deepEqual(r.stats, { routed: 0, elsewhere: 0, dropped: 0 }, 'nothing taken while rebalancing');
    r.assigned([1]);
    r.route(5);
    assert.deepEqual(r.stats, { routed: 1, elsewhere: 0, dropped: 0 });
    assert.deepEqual(
      r.takeFor(1).map((c) => c.pod),
      ['p1-a'],
    );
  });

  it('before its first assignment a replica leaves facts to the replicas assigned then (no double count)', () => {
    const r = new PodStatusRouter({ take: feed([oomKilledFact('p1-a', 1)]), partitionOf });
    r.route(5);
    r.assigned([1]);
    r.route(5);
    assert.deepEqual(r.stats, { routed: 0, elsewhere: 1, dropped: 0 });
  });

  it('bounds a partition queue whose pipeline does not take it (a long restore): oldest dropped, counted', () => {
    const facts = Array.from({ length: 5 }, (_, i) => oomKilledFact(`p0-${i}`, i));
    const r = new PodStatusRouter({ take: feed(facts), partitionOf, maxQueued: 3 });
    r.assigned([0]);
    r.route(10);
    assert.deepEqual(r.stats, { routed: 5, elsewhere: 0, dropped: 2 });
    assert.deepEqual(
      r.takeFor(0).map((c) => c.pod),
      ['p0-2', 'p0-3', 'p0-4'],
    );
  });
});
