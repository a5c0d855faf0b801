// Which Service a failing client span called (src/stream/normalise/peer.ts), from the attributes real
// instrumentations set: semconv server.address / url.full, legacy net.peer.name / http.url,
// peer.service and gRPC's rpc.service.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { peerOf } from '../../src/stream/normalise/peer.ts';
import type { KeyValue } from '../../src/stream/wire/otlp-model.ts';

const kv = (o: Record<string, string>): KeyValue[] =>
  Object.entries(o).map(([key, value]) => ({ key, value }));

describe('peerOf', () => {
  it('reads Service and namespace from a cluster DNS name, which wins over peer.service', () => {
    assert.deepEqual(
      peerOf(kv({ 'peer.service': 'stock', 'server.address': 'inventory.shop.svc.cluster.local' }), 'web'),
      { namespace: 'shop', service: 'inventory', qualified: true },
    );
    assert.deepEqual(peerOf(kv({ 'net.peer.name': 'Orders.Shop.svc' }), 'web'), {
      namespace: 'shop',
      service: 'orders',
      qualified: true,
    });
    assert.deepEqual(
      peerOf(
        kv({ 'url.full': 'http://user@inventory.shop.svc.cluster.local:8080/api/reservations?x=1' }),
        'web',
      ),
      { namespace: 'shop', service: 'inventory', qualified: true },
    );
    assert.deepEqual(peerOf(kv({ 'http.url': 'https://payments.billing:8443/charge' }), 'shop'), {
      namespace: 'billing',
      service: 'payments',
      qualified: true,
    });
  });

  it("takes a bare host or peer.service as a Service in the caller's namespace", () => {
    assert.deepEqual(peerOf(kv({ 'server.address': 'inventory' }), 'shop'), {
      namespace: 'shop',
      service: 'inventory',
      qualified: false,
    });
    assert.deepEqual(peerOf(kv({ 'peer.service': 'Inventory', 'server.address': '10.0.3.7' }), 'shop'), {
      namespace: 'shop',
      service: 'inventory',
      qualified: false,
    });
    assert.deepEqual(peerOf(kv({ 'rpc.service': 'oteldemo.CartService' }), 'demo'), {
      namespace: 'demo',
      service: 'cartservice',
      qualified: false,
    });
  });

  it('names no workload for external hosts, IPs, localhost or nothing', () => {
    assert.equal(
      peerOf(
        kv({ 'server.address': 'inventory-db.cluster-c9x2k1m4q7zd.eu-west-1.rds.amazonaws.com' }),
        'shop',
      ),
      undefined,
    );
    assert.equal(peerOf(kv({ 'url.full': 'https://api.stripe.com/v1/charges' }), 'shop'), undefined);
    assert.equal(peerOf(kv({ 'server.address': '10.0.3.7' }), 'shop'), undefined);
    assert.equal(peerOf(kv({ 'server.address': 'localhost' }), 'shop'), undefined);
    assert.equal(peerOf(kv({ 'url.full': 'not a url' }), 'shop'), undefined);
    assert.equal(peerOf([], 'shop'), undefined);
    assert.equal(
      peerOf(kv({ 'server.address': `${'a'.repeat(300)}` }), 'shop'),
      undefined,
      'no host is that long',
    );
  });
});
