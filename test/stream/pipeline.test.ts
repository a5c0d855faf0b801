import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

function warning(
  over: Partial<K8sEvent> & { pod: string; uid: string; count: number; atMs: number },
): K8sEvent {
  return {
    namespace: 'shop',
    reason: 'BackOff',
    message: `Back-off restarting failed container app in pod ${over.pod}`,
    type: 'Warning',
    object: { kind: 'Pod', name: over.pod, uid: `uid-${over.pod}`, fieldPath: 'spec.containers{app}' },
    ...over,
  };
}

const logs = (events: K8sEvent[]) => encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events));

describe('pipeline: Kubernetes events to incidents', () => {
  it('groups a 1000-event batch into one incident per Deployment and collapses 500 repeats into one evidence item', () => {
    const t = testPipeline();
    const events: K8sEvent[] = [];
    // 500 updates of one Event (same uid, count 1..500), as k8seventsreceiver re-emits on every watch update.
    for (let i = 0; i < 500; i++) {
      events.push(
        warning({ pod: 'checkout-7d9f8c6b5-x2kqz', uid: 'ev-checkout', count: i + 1, atMs: T0 + i * 10 }),
      );
    }
    // 500 events of a second Deployment in the same namespace: 5 pods × 100 updates.
    for (let i = 0; i < 500; i++) {
      const pod = `cart-5f4d8b7c9-q${'bcdfg'[i % 5]}zzz`;
      events.push(
        warning({
          pod,
          uid: `ev-${pod}`,
          count: Math.floor(i / 5) + 1,
          atMs: T0 + i * 10,
          reason: 'Unhealthy',
          message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
        }),
      );
    }
    t.feed('otlp_logs', logs(events), T0 + 5000);
    t.pipeline.flushAll();

    const incidents = t.latest();
    assert.equal(incidents.length, 2);
    const byName = new Map(incidents.map((d) => [d.scope.workload.name, d]));
    const checkout = byName.get('checkout');
    const cart = byName.get('cart');
    assert.ok(checkout && cart, 'one incident per Deployment');
    assert.deepEqual(checkout.scope.workload, { kind: 'Deployment', name: 'checkout' });
    assert.equal(checkout.scope.namespace, 'shop');

    const backoff = checkout.evidence.filter((e) => e.kind === 'k8s_event');
    assert.equal(backoff.length, 1, 'one evidence item for the repeated event');
    assert.equal(backoff[0]!.count, 500);
    assert.deepEqual(backoff[0]!.refs.events, [{ uid: 'ev-checkout', count: 500 }]);
    // BackOff "restarting failed container" reports a CrashLoopBackOff: the same fact, so the same item
    // (with its container), never a second `restart` item counting the same restarts again.
    assert.equal(checkout.evidence.filter((e) => e.kind === 'restart').length, 0);
    assert.match(backoff[0]!.summary, /Back-off restarting failed container/);

    const unhealthy = cart.evidence.filter((e) => e.kind === 'k8s_event');
    assert.equal(unhealthy.length, 5, 'one evidence item per pod');
    for (const e of unhealthy) assert.equal(e.count, 100);
    assert.equal(cart.stats.signals, 500);
  });

  it('does not count a re-delivered event update twice', () => {
    const t = testPipeline();
    const ev = warning({ pod: 'api-7d9f8c6b5-x2kqz', uid: 'ev-1', count: 3, atMs: T0 });
    t.feed('otlp_logs', logs([ev, ev, ev]), T0);
    t.feed('otlp_logs', logs([{ ...ev, count: 2 }]), T0 + 1000);
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.equal(doc?.evidence.find((e) => e.kind === 'k8s_event')?.count, 3);
    assert.equal(t.pipeline.stats.duplicateEvents, 3);
    assert.ok(t.pipeline.dedup.stats.hits >= 3);
  });

  it('ignores Normal events and raises nothing for them', () => {
    const t = testPipeline();
    t.feed(
      'otlp_logs',
      logs([
        {
          namespace: 'shop',
          reason: 'Pulled',
          message: 'Container image already present',
          type: 'Normal',
          object: { kind: 'Pod', name: 'api-7d9f8c6b5-x2kqz' },
          uid: 'n1',
          count: 1,
          atMs: T0,
        },
        {
          namespace: 'shop',
          reason: 'Started',
          message: 'Started container app',
          type: 'Normal',
          object: { kind: 'Pod', name: 'api-7d9f8c6b5-x2kqz' },
          uid: 'n2',
          count: 1,
          atMs: T0,
        },
      ]),
    );
    t.pipeline.flushAll();
    assert.equal(t.docs.length, 0);
    assert.equal(t.pipeline.stats.ignored, 2);
  });

  it('drops Normal events nothing acts on before dedup, as the scale-out ingest does', () => {
    const t = testPipeline();
    const pulled = {
      namespace: 'shop',
      reason: 'Pulled',
      message: 'Container image already present',
      type: 'Normal' as const,
      object: { kind: 'Pod', name: 'api-7d9f8c6b5-x2kqz' },
      uid: 'n1',
      count: 1,
      atMs: T0,
    };
    // Re-delivered: still ignored, never a duplicate, and its uid does not take a place in the window.
    t.feed('otlp_logs', logs([pulled, pulled]));
    assert.equal(t.pipeline.stats.ignored, 2);
    assert.equal(t.pipeline.stats.duplicateEvents, 0);
    assert.equal(t.pipeline.dedup.size, 0);
  });
});

describe('pipeline: Alertmanager-style timing', () => {
  it('waits group_wait, revises at most every group_interval, resolves after resolve_timeout', () => {
    const t = testPipeline({ grouping: { groupWait: '30s', groupInterval: '1m', resolveTimeout: '5m' } });
    const pod = 'api-7d9f8c6b5-x2kqz';
    t.feed('otlp_logs', logs([warning({ pod, uid: 'e1', count: 1, atMs: T0 })]), T0);
    t.clock.advance(T0 + 29_000);
    t.pipeline.tick();
    assert.equal(t.docs.length, 0, 'nothing before group_wait');
    t.clock.advance(T0 + 30_000);
    t.pipeline.tick();
    assert.equal(t.docs.length, 1);
    assert.equal(t.docs[0]!.revision, 1);
    assert.equal(t.docs[0]!.timings.firstContext, new Date(T0 + 30_000).toISOString());

    // A change 10 s later waits for group_interval after the previous context.
    t.feed('otlp_logs', logs([warning({ pod, uid: 'e1', count: 2, atMs: T0 + 40_000 })]), T0 + 40_000);
    t.clock.advance(T0 + 89_000);
    t.pipeline.tick();
    assert.equal(t.docs.length, 1);
    t.clock.advance(T0 + 90_000);
    t.pipeline.tick();
    assert.equal(t.docs.length, 2);
    assert.equal(t.docs[1]!.revision, 2);
    assert.equal(t.docs[1]!.id, t.docs[0]!.id, 'same incident id across revisions');

    // No change: no new revision.
    t.clock.advance(T0 + 200_000);
    t.pipeline.tick();
    assert.equal(t.docs.length, 2);

    // Five quiet minutes after the last problem signal (at T0+40s): resolved.
    t.clock.advance(T0 + 40_000 + 300_000);
    t.pipeline.tick();
    assert.equal(t.docs.length, 3);
    assert.equal(t.docs[2]!.status, 'resolved');
    assert.equal(t.docs[2]!.revision, 3);
    assert.equal(t.pipeline.grouper.open, 0);

    // New trouble after resolution is a new incident with a new id.
    t.feed('otlp_logs', logs([warning({ pod, uid: 'e9', count: 1, atMs: T0 + 400_000 })]), T0 + 400_000);
    t.pipeline.flushAll();
    assert.equal(t.docs.length, 4);
    assert.notEqual(t.docs[3]!.id, t.docs[0]!.id);
    assert.equal(t.docs[3]!.revision, 1);
  });

  it('attaches a rollout seen before the failures as evidence that precedes them', () => {
    const t = testPipeline();
    const scaling = (msg: string, atMs: number, uid: string): K8sEvent => ({
      namespace: 'shop',
      reason: 'ScalingReplicaSet',
      message: msg,
      type: 'Normal',
      object: { kind: 'Deployment', name: 'checkout', apiVersion: 'apps/v1' },
      uid,
      count: 1,
      atMs,
      reportingController: 'deployment-controller',
    });
    t.feed(
      'otlp_logs',
      logs([
        scaling('Scaled up replica set checkout-6b7c8d9f4 to 1', T0, 's1'),
        scaling('Scaled down replica set checkout-5f4d8b7c9 to 2', T0 + 5000, 's2'),
      ]),
      T0 + 5000,
    );
    assert.equal(t.pipeline.grouper.open, 0, 'a rollout alone is not an incident');
    t.feed(
      'otlp_logs',
      logs([
        warning({
          pod: 'checkout-6b7c8d9f4-bcdfx',
          uid: 'e1',
          count: 1,
          atMs: T0 + 120_000,
          reason: 'BackOff',
        }),
      ]),
      T0 + 120_000,
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    assert.equal(doc.rollouts.length, 1);
    assert.equal(doc.rollouts[0]!.replicaSet, 'checkout-6b7c8d9f4');
    const rollout = doc.evidence.find((e) => e.kind === 'rollout');
    const failure = doc.evidence.find((e) => e.kind === 'k8s_event');
    assert.ok(rollout && failure);
    assert.ok(Date.parse(rollout.at) < Date.parse(failure.at), 'the rollout precedes the first failure');
  });
});
