// Links between incidents (src/stream/incidents/related.ts): only failures that are evidence in the
// caller's incident link, calls both ways link the earlier failure as upstream, links are bounded,
// accumulate evidence, and survive a restart (Incident.fromDoc).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallEdge } from '../../src/stream/incidents/call-graph.ts';
import { blankUpdate, evidenceId } from '../../src/stream/incidents/evidence.ts';
import { Incident } from '../../src/stream/incidents/incident.ts';
import { linkCaller, linkImpact } from '../../src/stream/incidents/related.ts';
import type { ChangelogEntry } from '../../src/stream/scaleout/changelog.ts';
import { RemoteIncidents } from '../../src/stream/scaleout/remote-incidents.ts';

const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);

function incident(name: string, firstMs: number, evidenceKeys: string[] = []): Incident {
  const inc = new Incident(
    { cluster: 'c', namespace: 'shop', workload: { kind: 'Deployment', name } },
    firstMs,
    firstMs,
    0,
  );
  for (const k of evidenceKeys)
    inc.absorb(blankUpdate('span_errors', k, firstMs, `failed client spans of ${name}`), 50);
  return inc;
}

function edge(service: string, keys: string[]): CallEdge {
  return {
    target: { namespace: 'shop', service, workloads: null },
    firstFailMs: T0,
    lastFailMs: T0,
    failures: 1,
    evidenceKeys: keys,
  };
}

const counts = () => ({ upstream: 0, impact: 0 });

describe('linkCaller', () => {
  it('links upstream in the caller and impact in the peer, citing the caller evidence', () => {
    const web = incident('web', T0 + 1000, ['k-web']);
    const orders = incident('orders', T0);
    const n = counts();
    const changed = linkCaller(web, [edge('orders', ['k-web', 'k-gone'])], () => [orders], 20, n);
    assert.deepEqual([...changed].map((i) => i.scope.workload.name).sort(), ['orders', 'web']);
    const up = web.toDocument(T0 + 2000).related;
    assert.deepEqual(up, [
      {
        incident: orders.id,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'orders' },
        relation: 'upstream',
        since: new Date(T0).toISOString(),
        evidence: [evidenceId('k-web')],
      },
    ]);
    assert.equal(orders.toDocument(T0 + 2000).related?.[0]?.relation, 'impact');
    assert.deepEqual(n, { upstream: 1, impact: 1 });
    assert.equal(
      linkCaller(web, [edge('orders', ['k-web'])], () => [orders], 20, n).size,
      0,
      'no change twice',
    );
  });

  it('makes no link when the failed calls are not evidence of the caller, or the peer is itself', () => {
    const web = incident('web', T0, ['k-other']);
    const orders = incident('orders', T0);
    assert.equal(linkCaller(web, [edge('orders', ['k-web'])], () => [orders], 20, counts()).size, 0);
    const self = incident('web', T0, ['k-web']);
    assert.equal(linkCaller(self, [edge('web', ['k-web'])], () => [self], 20, counts()).size, 0);
  });

  it('with failed calls both ways, the incident that began failing first is upstream', () => {
    const a = incident('a', T0, ['k-a']);
    const b = incident('b', T0 + 60_000, ['k-b']);
    linkCaller(b, [edge('a', ['k-b'])], () => [a], 20, counts());
    linkCaller(a, [edge('b', ['k-a'])], () => [b], 20, counts());
    assert.deepEqual(
      a.toDocument(T0).related?.map((r) => r.relation),
      ['impact'],
      'a began first: b does not become its upstream',
    );
    // The other order: the earlier incident replaces the later one's claim.
    const c = incident('c', T0, ['k-c']);
    const d = incident('d', T0 + 60_000, ['k-d']);
    linkCaller(c, [edge('d', ['k-c'])], () => [d], 20, counts());
    linkCaller(d, [edge('c', ['k-d'])], () => [c], 20, counts());
    assert.deepEqual(
      c.toDocument(T0).related?.map((r) => r.relation),
      ['impact'],
    );
    assert.deepEqual(
      d.toDocument(T0).related?.map((r) => r.relation),
      ['upstream'],
    );
  });

  it('bounds the links per incident, accumulates evidence, and keeps them across a restart', () => {
    const backend = incident('inventory', T0);
    for (let i = 0; i < 5; i++) {
      const caller = incident(`caller-${i}`, T0 + 1000, [`k${i}`]);
      linkCaller(caller, [edge('inventory', [`k${i}`])], () => [backend], 3, counts());
    }
    assert.equal(backend.related.size, 3);
    const web = incident('web', T0 + 1000, ['k1', 'k2']);
    linkCaller(web, [edge('inventory', ['k1'])], () => [backend], 3, counts());
    linkCaller(web, [edge('inventory', ['k2'])], () => [backend], 3, counts());
    const doc = web.toDocument(T0 + 5000);
    assert.deepEqual(doc.related?.[0]?.evidence, [evidenceId('k1'), evidenceId('k2')]);
    const back = Incident.fromDoc(doc, T0 + 6000, 60_000, (topic, partition) => ({
      topic,
      partition,
      next: 0,
      committed: 0,
    }));
    assert.deepEqual(back.toDocument(T0 + 6000).related, doc.related);
  });

  it('scale-out: the impact side of a link another owner made, with the same rule for calls both ways', () => {
    const inventory = incident('inventory', T0);
    const checkout = incident('checkout', T0 + 1000, ['k-c']);
    const n = counts();
    assert.ok(linkImpact(inventory, checkout, [evidenceId('k-c')], 20, n));
    assert.deepEqual(
      inventory.toDocument(T0 + 2000).related?.map((r) => `${r.relation} ${r.workload.name}`),
      ['impact checkout'],
    );
    assert.equal(linkImpact(inventory, checkout, [evidenceId('k-c')], 20, n), false, 'no change twice');
    assert.deepEqual(n, { upstream: 0, impact: 1 });
    // The caller b began failing first, and a already names it as upstream: kept, no impact link.
    const a = incident('a', T0 + 60_000, ['k-a']);
    const b = incident('b', T0, ['k-b']);
    linkCaller(a, [edge('b', ['k-a'])], () => [b], 20, counts());
    assert.equal(linkImpact(a, b, [evidenceId('k-b')], 20, counts()), false);
    assert.deepEqual(
      a.toDocument(T0).related?.map((r) => r.relation),
      ['upstream'],
    );
    // The other way round (c began first): c's claim is replaced by the impact side.
    const c = incident('c', T0, ['k-c']);
    const d = incident('d', T0 + 60_000, ['k-d']);
    linkCaller(c, [edge('d', ['k-c'])], () => [d], 20, counts());
    assert.ok(linkImpact(c, d, [evidenceId('k-d')], 20, counts()));
    assert.deepEqual(
      c.toDocument(T0).related?.map((r) => r.relation),
      ['impact'],
    );
  });
});

describe('RemoteIncidents (the changelog of every partition)', () => {
  const doc = (id: string, name: string, revision: number) =>
    ({
      ...incident(name, T0).toDocument(T0),
      id,
      revision,
    }) as ChangelogEntry['doc'];
  const open = (id: string, name: string, revision: number): ChangelogEntry => ({
    id,
    revision,
    status: 'open',
    at: 0,
    doc: doc(id, name, revision),
  });

  it('keeps the newest revision of each open incident by scope, forgets resolved ones, and is bounded', () => {
    const view = new RemoteIncidents(2);
    const seen: string[] = [];
    view.onChange = (r) => seen.push(`${r.id}@${r.revision}`);
    view.apply(1, open('inc-a', 'a', 2));
    view.apply(1, open('inc-a', 'a', 1));
    assert.deepEqual(seen, ['inc-a@2'], 'an older revision read later changes nothing');
    assert.equal(view.get('c/shop/Deployment/a')?.partition, 1);
    view.apply(1, { id: 'inc-a', revision: 3, status: 'resolved', at: 0 });
    assert.equal(view.get('c/shop/Deployment/a'), undefined);
    view.apply(0, open('inc-b', 'b', 1));
    view.apply(0, open('inc-c', 'c', 1));
    view.apply(2, open('inc-d', 'd', 1));
    assert.equal(view.size, 2);
    assert.equal(view.get('c/shop/Deployment/b'), undefined, 'the least recently changed evicted');
    assert.deepEqual(view.stats, { open: 4, resolved: 1, evicted: 1 });
  });
});
