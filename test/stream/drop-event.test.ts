// NormaliseContext.dropEvent: the pipeline drops Events it would drop anyway before their signal is
// built (normalise/events.ts). The result must be the one #route gives the whole signal: same
// documents, same statistics, whichever ignore rules, reasons and kinds the Events carry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { normaliseLogs, normaliseLogsScan } from '../../src/stream/normalise/logs.ts';
import type { Signal } from '../../src/stream/signals.ts';
import { decodeLogs } from '../../src/stream/wire/decode-logs.ts';
import { scanLogs } from '../../src/stream/wire/scan-logs.ts';
import type { EventFacts } from '../../src/stream/workload.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

/**
 * Ignores what rules on the message ("noisy" anywhere in it), the reason and the object would. A Normal
 * Event a rule ignores is counted as ignored whether the rule or its type drops it; a Warning is not.
 */
class IgnoringResolver extends NamePatternResolver {
  ignoreEvent(e: EventFacts): string | undefined {
    if (e.message.includes('noisy') || e.reason === 'Muted') return 'test-rule';
    if (e.namespace === 'shop' && e.objectKind === 'Pod' && e.objectName.includes('-xb')) return 'pod-rule';
    return undefined;
  }
}

function event(i: number, over: Partial<K8sEvent>): K8sEvent {
  const pod = `checkout-7d9f8c6b5-x${'bcdfg'[i % 5]}zzz`;
  return {
    namespace: 'shop',
    reason: 'Pulled',
    message: `Container image pulled (${i})`,
    type: 'Normal',
    object: { kind: 'Pod', name: pod, uid: `uid-${pod}`, fieldPath: 'spec.containers{app}' },
    uid: `ev-${i}`,
    count: 1,
    atMs: T0 + i * 100,
    ...over,
  };
}

/** Every kind of Event the drop path decides on, Warnings between them, re-deliveries included. */
function mixedEvents(): K8sEvent[] {
  const out: K8sEvent[] = [];
  for (let i = 0; i < 60; i++) {
    switch (i % 10) {
      case 0:
        out.push(event(i, {}));
        break;
      case 1:
        out.push(event(i, { message: 'a noisy message' }));
        break;
      case 2:
        out.push(event(i, { reason: 'Muted', type: 'Warning', message: 'Muted warning' }));
        break;
      case 3:
        // Normal, but of interest (config normalReasonsOfInterest): never dropped early.
        out.push(
          event(i, {
            reason: 'ScalingReplicaSet',
            message: 'Scaled up replica set checkout-7d9f8c6b5 to 3',
            object: { kind: 'Deployment', name: 'checkout', uid: 'uid-dep', fieldPath: '' },
          }),
        );
        break;
      case 4:
        // A Normal BackOff on a Pod reports a container state: built whole, its container signal follows.
        out.push(event(i, { reason: 'BackOff', message: 'Back-off restarting failed container app' }));
        break;
      case 5:
        out.push(event(i, { reason: 'BackOff', message: 'noisy: Back-off restarting failed container' }));
        break;
      case 6:
        out.push(
          event(i, {
            reason: 'Failed',
            message: 'Error: ImagePullBackOff',
            object: { kind: 'Deployment', name: 'checkout', uid: 'uid-dep', fieldPath: '' },
          }),
        );
        break;
      case 7:
        out.push(
          event(i, {
            reason: 'BackOff',
            type: 'Warning',
            message: 'Back-off restarting failed container app in pod x',
          }),
        );
        break;
      case 8:
        out.push(event(i, { reason: 'Unhealthy', type: 'Warning', message: 'Readiness probe failed: 503' }));
        break;
      default:
        // A re-delivery of the previous Event.
        out.push({ ...out[out.length - 1]! });
    }
  }
  return out;
}

describe('pipeline: Events dropped before their signal is built', () => {
  for (const resolver of [undefined, new IgnoringResolver()]) {
    it(`gives the documents and statistics of the whole signal (${resolver ? 'with' : 'without'} ignore rules)`, () => {
      const bytes = encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(mixedEvents()));
      // Through ingest: scanned, and dropEvent asked before building.
      const early = testPipeline({}, { resolver });
      early.feed('otlp_logs', bytes, T0 + 10_000);
      early.pipeline.flushAll();
      // The same Events decoded into the model and normalised by normaliseLogs, which always builds
      // the whole signal and leaves every decision to the pipeline's #route.
      const whole = testPipeline({}, { resolver });
      whole.clock.advance(T0 + 10_000);
      whole.pipeline.tick();
      whole.pipeline.stats.records.logs++;
      whole.pipeline.stats.bytes.logs += bytes.length;
      whole.pipeline.applyRemote(undefined, (ctx) => normaliseLogs(decodeLogs(bytes), ctx));
      whole.pipeline.flushAll();

      assert.ok(early.pipeline.stats.ignored > 0 && early.docs.length > 0, 'the batch exercises both paths');
      assert.deepEqual(early.pipeline.stats, whole.pipeline.stats);
      assert.deepEqual(
        early.latest().map((d) => d.evidence),
        whole.latest().map((d) => d.evidence),
      );
    });
  }

  it('builds no signal for a dropped Event and every signal for the rest', () => {
    const bytes = encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(mixedEvents()));
    const emitted: Signal[] = [];
    const asked: string[] = [];
    const ctx = {
      defaultCluster: 'c',
      resolver: new NamePatternResolver(),
      recordTimeMs: 0,
      watchedMetrics: new Set<string>(),
      emit: (s: Signal) => emitted.push(s),
      observeServerSpan: () => {},
      // Drops every Normal Event it is asked about.
      dropEvent: (_cluster: string, eventType: string, reason: string) => {
        asked.push(reason);
        return eventType === 'Normal';
      },
    };
    const scan = scanLogs(bytes);
    normaliseLogsScan(scan, ctx);
    scan.release();
    const all: Signal[] = [];
    normaliseLogs(decodeLogs(bytes), { ...ctx, dropEvent: undefined, emit: (s: Signal) => all.push(s) });
    // Pod Events that may report a container state (BackOff, Failed) are never asked about.
    assert.ok(!asked.includes('BackOff'));
    assert.ok(asked.includes('Failed'), 'a Failed Event on a Deployment reports no container state');
    const kept = all.filter((s) => s.type !== 'event' || s.eventType !== 'Normal' || s.reason === 'BackOff');
    assert.deepEqual(emitted, kept);
    assert.ok(emitted.length < all.length);
  });
});
