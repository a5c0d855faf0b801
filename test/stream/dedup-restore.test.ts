import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { seedDedup } from '../../src/stream/dedup-restore.ts';
import { OffsetLedger } from '../../src/stream/offsets.ts';
import { attrs, metricsRecord, nanos, POD_ATTRS } from '../helpers/otlp.ts';
import { testPipeline } from '../helpers/pipeline.ts';

// A clean restart (restore on): repeats of what the restored incidents already counted must stay
// repeats, as they would have without the restart.

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

function crashLoop(atMs: number) {
  return metricsRecord([
    {
      attrs: POD_ATTRS('shop', 'web', 'web-7d9f8c6b5-x2kqz'),
      metrics: [
        {
          name: 'k8s.container.status.reason',
          sum: {
            aggregationTemporality: 2,
            isMonotonic: false,
            dataPoints: [
              {
                timeUnixNano: nanos(atMs),
                asInt: 1,
                attributes: attrs({ 'k8s.container.status.reason': 'CrashLoopBackOff' }),
              },
            ],
          },
        },
      ],
    },
  ]);
}

function backOff(count: number, atMs: number) {
  return encodeOtlp(
    'ExportLogsServiceRequest',
    k8sEventsRequest([
      {
        namespace: 'shop',
        reason: 'BackOff',
        message: 'Back-off restarting failed container',
        type: 'Warning',
        object: { kind: 'Pod', name: 'api-7d9f8c6b5-x2kqz' },
        uid: 'ev-api',
        count,
        atMs,
      },
    ]),
  );
}

/** Runs `before` in one pipeline, restores its contexts into a second one (as `run` does at start-up). */
function restarted(before: (t: ReturnType<typeof testPipeline>) => void) {
  const first = testPipeline();
  before(first);
  first.pipeline.flushAll();
  const docs = first.latest();
  assert.equal(docs.length, 1);
  const second = testPipeline();
  const ledger = new OffsetLedger();
  assert.equal(
    second.pipeline.grouper.restore(docs, (t, p) => ledger.partition(t, p)),
    1,
  );
  assert.ok(seedDedup(second.pipeline.dedup, docs) > 0);
  return second;
}

describe('dedup after a clean restart', () => {
  it('regression: a container state already reported stays a repeat after the restart', () => {
    const t = restarted((first) => first.feed('otlp_metrics', crashLoop(T0), T0));
    t.feed('otlp_metrics', crashLoop(T0 + 30_000), T0 + 30_000);
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.equal(
      doc?.evidence.find((e) => e.kind === 'restart')?.count,
      1,
      'one CrashLoopBackOff, counted once',
    );
  });

  it('regression: an Event update already counted is a duplicate after the restart', () => {
    const t = restarted((first) => first.feed('otlp_logs', backOff(3, T0), T0));
    t.feed('otlp_logs', backOff(3, T0 + 30_000), T0 + 30_000);
    assert.equal(t.pipeline.stats.duplicateEvents, 1);
    t.feed('otlp_logs', backOff(4, T0 + 60_000), T0 + 60_000);
    t.pipeline.flushAll();
    assert.equal(t.latest()[0]?.evidence.find((e) => e.kind === 'k8s_event')?.count, 4);
  });
});
