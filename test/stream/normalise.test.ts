import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATENCY_P99 } from '../../src/stream/span-stats.ts';
import {
  attrs,
  gauge,
  logsRecord,
  metricsRecord,
  nanos,
  POD_ATTRS,
  span,
  tracesRecord,
} from '../helpers/otlp.ts';
import { testPipeline } from '../helpers/pipeline.ts';

// These tests are about normalisation: one signal, one evidence item. The noise floors that keep
// single signals from opening incidents are tested in test/stream/floors.test.ts.
const NO_FLOORS = { floors: { enabled: false } } as const;

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

/** A k8s object map as k8sobjectsreceiver writes it into a log body (kvlist of kvlists). */
function kvlist(o: Record<string, unknown>): Record<string, unknown> {
  const values = Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
  return { kvlistValue: { values } };
}
function anyValue(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { intValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return kvlist(v as Record<string, unknown>);
}

describe('normalise: k8sobjectsreceiver events', () => {
  it('reads core/v1 Events from watch mode and skips DELETED', () => {
    const t = testPipeline();
    const event = (type: string, count: number) => ({
      timeUnixNano: '0',
      observedTimeUnixNano: nanos(T0),
      attributes: attrs({ 'k8s.resource.name': 'events', 'event.domain': 'k8s', 'event.name': 'ev1' }),
      body: kvlist({
        type,
        object: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: 'api-7d9f8c6b5-x2kqz.1', namespace: 'shop', uid: 'ev-uid-9' },
          involvedObject: {
            kind: 'Pod',
            name: 'api-7d9f8c6b5-x2kqz',
            namespace: 'shop',
            uid: 'pod-1',
            fieldPath: 'spec.containers{api}',
          },
          reason: 'Failed',
          message: 'Error: ImagePullBackOff',
          type: 'Warning',
          count,
          firstTimestamp: new Date(T0 - 5 * 60_000).toISOString(),
          lastTimestamp: new Date(T0).toISOString(),
        },
      }),
    });
    t.feed(
      'otlp_logs',
      logsRecord([
        {
          attrs: { 'k8s.namespace.name': 'shop' },
          records: [event('ADDED', 1), event('MODIFIED', 4), event('DELETED', 4)],
        },
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    assert.deepEqual(doc.scope.workload, { kind: 'Deployment', name: 'api' });
    const ev = doc.evidence.find((e) => e.kind === 'k8s_event');
    assert.equal(ev?.count, 4);
    // The container state the Event reports is the same fact: it joins the Event's item, not a second one.
    assert.equal(doc.evidence.filter((e) => e.kind === 'restart').length, 0);
    assert.deepEqual(ev?.refs.containers, ['api']);
    // The window starts at the Event's first occurrence (firstTimestamp), not when it was first seen.
    assert.equal(doc.window.start, new Date(T0 - 5 * 60_000).toISOString());
  });

  it('reads events.k8s.io/v1 Events (regarding, note, series.count) in pull mode', () => {
    const t = testPipeline();
    t.feed(
      'otlp_logs',
      logsRecord([
        {
          attrs: { 'k8s.namespace.name': 'batch' },
          records: [
            {
              observedTimeUnixNano: nanos(T0),
              body: kvlist({
                apiVersion: 'events.k8s.io/v1',
                kind: 'Event',
                metadata: { name: 'x', namespace: 'batch', uid: 'ev-2' },
                regarding: { kind: 'Pod', name: 'worker-0', namespace: 'batch' },
                reason: 'FailedScheduling',
                note: '0/3 nodes are available: 3 Insufficient cpu.',
                type: 'Warning',
                series: { count: 7, lastObservedTime: new Date(T0).toISOString() },
              }),
            },
          ],
        },
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.deepEqual(doc?.scope.workload, { kind: 'StatefulSet', name: 'worker' });
    const ev = doc?.evidence[0];
    assert.equal(ev?.count, 7);
    assert.match(ev!.summary, /FailedScheduling.*Insufficient cpu/);
  });
});

describe('normalise: k8s_cluster metrics', () => {
  for (const name of ['k8s.container.restarts', 'k8s.container.restart.count']) {
    it(`turns a rising ${name} with last_terminated_reason into restart evidence`, () => {
      const t = testPipeline();
      const res = {
        ...POD_ATTRS('shop', 'checkout', 'checkout-7d9f8c6b5-x2kqz'),
        'k8s.container.status.last_terminated_reason': 'OOMKilled',
      };
      t.feed('otlp_metrics', metricsRecord([{ attrs: res, metrics: [gauge(name, 2, T0)] }]), T0);
      t.feed(
        'otlp_metrics',
        metricsRecord([{ attrs: res, metrics: [gauge(name, 5, T0 + 30_000)] }]),
        T0 + 30_000,
      );
      t.pipeline.flushAll();
      const [doc] = t.latest();
      assert.ok(doc);
      const r = doc.evidence.find((e) => e.kind === 'restart');
      assert.equal(r?.count, 3, 'three restarts');
      assert.match(r!.summary, /rose 2 → 5 \(last terminated: OOMKilled\)/);
      assert.deepEqual(r!.refs.metric, { name, rule: 'restarts-rising', observed: 5, expected: 2 });
    });
  }

  it('reads k8s.container.status.reason (1 = current) and Deployment available vs desired', () => {
    const t = testPipeline();
    const pod = POD_ATTRS('shop', 'web', 'web-7d9f8c6b5-x2kqz');
    const statusReason = {
      name: 'k8s.container.status.reason',
      sum: {
        aggregationTemporality: 2,
        isMonotonic: false,
        dataPoints: [
          {
            timeUnixNano: nanos(T0),
            asInt: 1,
            attributes: attrs({ 'k8s.container.status.reason': 'CrashLoopBackOff' }),
          },
          {
            timeUnixNano: nanos(T0),
            asInt: 0,
            attributes: attrs({ 'k8s.container.status.reason': 'OOMKilled' }),
          },
        ],
      },
    };
    const dep = { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'web' };
    t.feed(
      'otlp_metrics',
      metricsRecord([
        { attrs: pod, metrics: [statusReason] },
        {
          attrs: dep,
          metrics: [gauge('k8s.deployment.desired', 10, T0), gauge('k8s.deployment.available', 4, T0)],
        },
        {
          attrs: { 'k8s.namespace.name': 'shop', 'k8s.hpa.name': 'web' },
          metrics: [gauge('k8s.hpa.max_replicas', 10, T0), gauge('k8s.hpa.current_replicas', 10, T0)],
        },
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    assert.equal(doc.scope.workload.name, 'web');
    const kinds = doc.evidence.map((e) => `${e.kind}:${e.summary}`).join('\n');
    assert.match(kinds, /restart:CrashLoopBackOff/);
    assert.doesNotMatch(kinds, /OOMKilled/, 'a reason with value 0 is not current');
    assert.match(kinds, /metric_anomaly:k8s.deployment.available 4 of 10/);
    assert.deepEqual(doc.workloadState, {
      desiredReplicas: 10,
      availableReplicas: 4,
      hpa: { min: null, max: 10, current: 10, desired: null },
      at: new Date(T0).toISOString(),
    });
  });
});

describe('normalise: traces and application logs', () => {
  it('counts error spans (status ERROR, HTTP 5xx, exception events) per service and operation', () => {
    const t = testPipeline(NO_FLOORS);
    const res = POD_ATTRS('shop', 'payments', 'payments-7d9f8c6b5-x2kqz');
    t.feed(
      'otlp_spans',
      tracesRecord([
        {
          attrs: res,
          spans: [
            span({
              name: 'POST /charge',
              kind: 2,
              startMs: T0,
              durationMs: 20,
              httpStatus: 503,
              error: true,
            }),
            span({ name: 'POST /charge', kind: 2, startMs: T0 + 1, durationMs: 20, httpStatus: 500 }),
            span({ name: 'POST /charge', kind: 2, startMs: T0 + 2, durationMs: 20, httpStatus: 404 }),
            span({
              name: 'db.query',
              kind: 3,
              startMs: T0 + 3,
              durationMs: 5,
              exception: 'java.sql.SQLTimeoutException',
              attrs: { 'peer.service': 'postgres' },
            }),
            span({ name: 'GET /health', kind: 2, startMs: T0 + 4, durationMs: 1 }),
          ],
        },
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    const spans = doc.evidence.filter((e) => e.kind === 'span_errors');
    assert.equal(spans.length, 2);
    const charge = spans.find((e) => e.summary.includes('POST /charge'));
    assert.equal(charge?.count, 2, '5xx counts, 404 on a server span does not');
    const db = spans.find((e) => e.summary.includes('db.query'));
    assert.match(db!.summary, /→ postgres.*SQLTimeoutException/);
    assert.equal((charge!.refs.traceIds as string[])[0]?.length, 32);
  });

  it('raises a latency anomaly when server p99 exceeds its own baseline', () => {
    const t = testPipeline({ ...NO_FLOORS, spanBucket: '30s' });
    const res = POD_ATTRS('shop', 'search', 'search-7d9f8c6b5-x2kqz');
    // Six healthy buckets at ~100 ms, then one at ~900 ms.
    for (let b = 0; b < 8; b++) {
      const slow = b === 6 || b === 7;
      const spans = [];
      for (let i = 0; i < 50; i++)
        spans.push(
          span({
            name: 'GET /search',
            kind: 2,
            startMs: T0 + b * 30_000 + i * 100,
            durationMs: slow ? 900 + i : 100 + (i % 7),
          }),
        );
      t.feed('otlp_spans', tracesRecord([{ attrs: res, spans }]), T0 + b * 30_000 + 6000);
    }
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc, 'an incident was raised');
    const a = doc.evidence.find((e) => e.kind === 'metric_anomaly');
    assert.ok(a, 'a metric anomaly');
    assert.equal((a.refs.metric as { name: string }).name, LATENCY_P99);
    assert.match(a.summary, /recent baseline/);
  });

  it('turns ERROR logs and exception log records into log evidence, templated', () => {
    const t = testPipeline(NO_FLOORS);
    const res = POD_ATTRS('shop', 'orders', 'orders-7d9f8c6b5-x2kqz');
    const rec = (body: string, sev: number, extra: Record<string, string> = {}, eventName = '') => ({
      timeUnixNano: nanos(T0),
      severityNumber: sev,
      severityText: sev >= 17 ? 'ERROR' : 'INFO',
      body: { stringValue: body },
      attributes: attrs(extra),
      eventName,
    });
    t.feed(
      'otlp_logs',
      logsRecord([
        {
          attrs: res,
          records: [
            rec('connection refused to 10.0.0.12:5432 after 3 retries', 17),
            rec('connection refused to 10.0.0.13:5432 after 4 retries', 17),
            rec('all good', 9),
            rec(
              '',
              9,
              { 'exception.type': 'java.lang.NullPointerException', 'exception.message': 'x is null' },
              'exception',
            ),
          ],
        },
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    const logsEv = doc!.evidence.filter((e) => e.kind === 'log');
    assert.equal(logsEv.length, 2);
    assert.equal(
      logsEv.find((e) => e.summary.includes('connection refused'))?.count,
      2,
      'same template, one item',
    );
    assert.ok(logsEv.some((e) => e.summary.includes('NullPointerException')));
  });

  it('falls back to the pod-name pattern and to service.name when k8sattributes are absent', () => {
    const t = testPipeline(NO_FLOORS);
    t.feed(
      'otlp_spans',
      tracesRecord([
        {
          attrs: { 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'api-7d9f8c6b5-x2kqz' },
          spans: [span({ name: 'GET /', kind: 2, startMs: T0, durationMs: 1, error: true })],
        },
      ]),
    );
    t.feed(
      'otlp_spans',
      tracesRecord([
        {
          attrs: { 'service.name': 'legacy-billing' },
          spans: [span({ name: 'GET /', kind: 2, startMs: T0, durationMs: 1, error: true })],
        },
      ]),
    );
    t.pipeline.flushAll();
    const names = t
      .latest()
      .map((d) => `${d.scope.workload.kind}/${d.scope.workload.name}`)
      .sort();
    assert.deepEqual(names, ['Deployment/api', 'Service/legacy-billing']);
  });
});
