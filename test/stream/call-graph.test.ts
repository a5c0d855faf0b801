// The call graph from failing client spans (src/stream/incidents/call-graph.ts): bounded in callers and
// edges per caller, edges expire on the record clock, and the reverse index follows what is kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallGraph } from '../../src/stream/incidents/call-graph.ts';

const peer = (service: string, namespace = 'shop') => ({ namespace, service, qualified: true });

describe('CallGraph', () => {
  it('records an edge per callee with its evidence items, and says when something new was learnt', () => {
    const g = new CallGraph({ ttlMs: 60_000, maxEdgesPerCaller: 4, maxCallers: 10 });
    assert.equal(g.note('c/shop/Deployment/web', 'c', peer('orders'), 'k1', 1000), true);
    assert.equal(g.note('c/shop/Deployment/web', 'c', peer('orders'), 'k1', 2000), false, 'nothing new');
    assert.equal(g.note('c/shop/Deployment/web', 'c', peer('orders'), 'k2', 3000), true, 'a new item');
    const [e] = g.edgesOf('c/shop/Deployment/web', 3000);
    assert.ok(e);
    assert.deepEqual(
      { ...e, target: e.target.service },
      { target: 'orders', firstFailMs: 1000, lastFailMs: 3000, failures: 3, evidenceKeys: ['k1', 'k2'] },
    );
    assert.deepEqual(g.callersOf('c', 'shop', 'orders'), ['c/shop/Deployment/web']);
    assert.deepEqual(g.callersOf('c', 'other', 'orders'), []);
  });

  it('matches the workloads enrichment puts behind the Service, else the Service name', () => {
    const g = new CallGraph({
      ttlMs: 60_000,
      maxEdgesPerCaller: 4,
      maxCallers: 10,
      serviceWorkloads: (_ns, svc) =>
        svc === 'checkout'
          ? [
              { kind: 'Deployment', name: 'checkout' },
              { kind: 'Deployment', name: 'checkout-canary' },
            ]
          : undefined,
    });
    g.note('c/shop/Deployment/web', 'c', peer('checkout'), 'k', 0);
    g.note('c/shop/Deployment/web', 'c', peer('cart'), 'k2', 0);
    assert.deepEqual(g.callersOf('c', 'shop', 'checkout-canary'), ['c/shop/Deployment/web']);
    assert.deepEqual(g.callersOf('c', 'shop', 'cart'), ['c/shop/Deployment/web']);
  });

  it('forgets edges after the TTL of record time, and drops the oldest edge and caller beyond the bounds', () => {
    const g = new CallGraph({ ttlMs: 60_000, maxEdgesPerCaller: 2, maxCallers: 2 });
    g.note('a', 'c', peer('x'), 'k', 0);
    assert.equal(g.edgesOf('a', 60_000).length, 1);
    assert.equal(g.edgesOf('a', 60_001).length, 0, 'expired');
    assert.deepEqual(g.callersOf('c', 'shop', 'x'), [], 'reverse index follows');

    g.note('a', 'c', peer('x'), 'k', 100_000);
    g.note('a', 'c', peer('y'), 'k', 100_001);
    g.note('a', 'c', peer('z'), 'k', 100_002);
    assert.deepEqual(
      g.edgesOf('a', 100_002).map((e) => e.target.service),
      ['y', 'z'],
    );
    assert.deepEqual(g.callersOf('c', 'shop', 'x'), []);
    g.note('b', 'c', peer('x'), 'k', 100_003);
    g.note('d', 'c', peer('x'), 'k', 100_004);
    assert.equal(g.edgesOf('a', 100_004).length, 0, 'caller a, the least recently failing, was dropped');
    assert.deepEqual([...g.callersOf('c', 'shop', 'x')].sort(), ['b', 'd']);
    assert.equal(g.stats.edges, 2);
  });
});
