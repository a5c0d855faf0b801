import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { createLogger } from '../../src/core/logger.ts';
import { newRegistry } from '../../src/core/metrics.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { DLQ_HEADERS, StreamService } from '../../src/stream/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  committedOffsets,
  consumeUntil,
  produce,
  serviceConfig,
  type TestTopics,
  testTopics,
  waitFor,
} from '../helpers/kafka.ts';
import { gauge, metricsRecord, POD_ATTRS, span, tracesRecord } from '../helpers/otlp.ts';
import { assertValidContext } from '../helpers/schema.ts';

const T0 = Date.now() - 60_000;
const services: StreamService[] = [];
after(async () => {
  for (const s of services) await s.stop().catch(() => {});
});

function start(t: TestTopics, extra = {}): { service: StreamService; registry: Registry } {
  const registry = newRegistry();
  const service = new StreamService({
    config: serviceConfig(t, { grouping: { groupWait: '500ms', groupInterval: '500ms' }, ...extra }),
    log: createLogger('silent'),
    registry,
    resolver: new NamePatternResolver(),
  });
  services.push(service);
  return { service, registry };
}

function backoff(pod: string, uid: string, count: number, atMs: number, reason = 'BackOff'): K8sEvent {
  return {
    namespace: 'shop',
    reason,
    message: `Back-off restarting failed container app in pod ${pod}`,
    type: 'Warning',
    object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
    uid,
    count,
    atMs,
  };
}

function contexts(records: { value: Buffer | null }[]): IncidentContextDoc[] {
  return records.map((r) => JSON.parse(r.value!.toString('utf8')) as IncidentContextDoc);
}

function latest(docs: IncidentContextDoc[]): Map<string, IncidentContextDoc> {
  const m = new Map<string, IncidentContextDoc>();
  for (const d of docs)
    if ((m.get(d.scope.workload.name)?.revision ?? 0) <= d.revision) m.set(d.scope.workload.name, d);
  return m;
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('stream service against a real broker', () => {
  it('turns a 1000-event Collector batch into two incidents and 500 repeats into one evidence item', async () => {
    const t = await testTopics();
    const events: K8sEvent[] = [];
    for (let i = 0; i < 500; i++)
      events.push(backoff('checkout-7d9f8c6b5-x2kqz', 'ev-checkout', i + 1, T0 + i));
    for (let i = 0; i < 500; i++)
      events.push(
        backoff(
          `cart-5f4d8b7c9-p${'bcdfg'[i % 5]}zzz`,
          `ev-cart-${i % 5}`,
          Math.floor(i / 5) + 1,
          T0 + i,
          'Unhealthy',
        ),
      );
    // The Kafka exporter's default: the whole batch in one record, nil key.
    await produce(t.logs, [{ value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events)) }]);

    const { service } = start(t);
    await service.start();
    const out = await consumeUntil(t.contexts, (r) => {
      const l = latest(contexts(r));
      return (
        l.get('checkout')?.evidence.some((e) => e.count === 500) === true &&
        (l.get('cart')?.stats.signals ?? 0) >= 500
      );
    });
    const docs = contexts(out);
    for (const d of docs) assertValidContext(d);
    const l = latest(docs);
    assert.deepEqual([...l.keys()].sort(), ['cart', 'checkout']);
    const ev = l.get('checkout')!.evidence.filter((e) => e.kind === 'k8s_event');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.count, 500);
    // Keyed by incident id, so a compacted topic keeps each incident's latest state.
    for (const r of out) assert.equal(r.key?.toString(), JSON.parse(r.value!.toString()).id);
    // The record's offset is committed once its contexts are acknowledged.
    await waitFor(
      async () => [...(await committedOffsets(t.group, t.logs, 3)).values()].some((o) => o === 1),
      15_000,
      'commit',
    );
    await service.stop();
  });

  it('consumes logs, metrics and traces batches compressed with gzip, snappy, lz4 and zstd in one group', async () => {
    const t = await testTopics();
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
    for (const [i, codec] of codecs.entries()) {
      const app = `app${i}`;
      const pod = `${app}-7d9f8c6b5-x2kqz`;
      await produce(
        t.logs,
        [
          {
            value: encodeOtlp(
              'ExportLogsServiceRequest',
              k8sEventsRequest([backoff(pod, `e-${codec}`, 3, T0)]),
            ),
          },
        ],
        { compression: codec },
      );
      const res = {
        ...POD_ATTRS('shop', app, pod),
        'k8s.container.status.last_terminated_reason': 'OOMKilled',
      };
      // Both samples in one record: records without a key spread over partitions, and a rise is only
      // a rise when the samples arrive in order.
      await produce(
        t.metrics,
        [
          {
            value: metricsRecord([
              { attrs: res, metrics: [gauge('k8s.container.restarts', 1, T0)] },
              { attrs: res, metrics: [gauge('k8s.container.restarts', 2, T0 + 30_000)] },
            ]),
          },
        ],
        { compression: codec },
      );
      await produce(
        t.traces,
        [
          {
            value: tracesRecord([
              {
                attrs: POD_ATTRS('shop', app, pod),
                spans: [span({ name: 'GET /', kind: 2, startMs: T0, durationMs: 3, httpStatus: 503 })],
              },
            ]),
          },
        ],
        {
          compression: codec,
        },
      );
    }
    const { service } = start(t);
    await service.start();
    const want = (d: IncidentContextDoc) => new Set(d.evidence.map((e) => e.kind)).size >= 3;
    const out = await consumeUntil(t.contexts, (r) => {
      const l = latest(contexts(r));
      return codecs.every((_, i) => {
        const d = l.get(`app${i}`);
        return d !== undefined && want(d);
      });
    });
    const l = latest(contexts(out));
    for (const [i, codec] of codecs.entries()) {
      const d = l.get(`app${i}`);
      assert.ok(d, `incident for the ${codec} batches`);
      const kinds = new Set(d.evidence.map((e) => e.kind));
      assert.ok(
        kinds.has('k8s_event') && kinds.has('restart') && kinds.has('span_errors'),
        `${codec}: ${[...kinds]}`,
      );
    }
    await service.stop();
  });

  it('dead-letters corrupt, truncated, empty, oversized and otlp_json records with headers, and keeps going', async () => {
    const t = await testTopics(1);
    const good = encodeOtlp(
      'ExportLogsServiceRequest',
      k8sEventsRequest([backoff('api-7d9f8c6b5-x2kqz', 'e1', 1, T0)]),
    );
    const bad: { name: string; value: Buffer | null; code: string }[] = [
      { name: 'corrupt', value: Buffer.from([0x0a, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff]), code: 'DECODE' },
      { name: 'truncated', value: good.subarray(0, good.length - 7), code: 'DECODE_TRUNCATED' },
      { name: 'empty', value: Buffer.alloc(0), code: 'DECODE_EMPTY_RECORD' },
      { name: 'tombstone', value: null, code: 'DECODE_EMPTY_RECORD' },
      { name: 'otlp_json', value: Buffer.from('{"resourceLogs":[]}'), code: 'DECODE_OTLP_JSON' },
      { name: 'oversized', value: Buffer.concat([good, Buffer.alloc(5000)]), code: 'RECORD_TOO_LARGE' },
    ];
    await produce(t.logs, [
      ...bad.map((b) => ({ value: b.value, partition: 0, headers: [{ 'x-case': b.name }] })),
      { value: good, partition: 0 },
    ]);
    const { service, registry } = start(t, { kafka: { maxRecordBytes: 4096 } });
    await service.start();
    const dlq = await consumeUntil(t.dlq, (r) => r.length >= bad.length);
    assert.equal(dlq.length, bad.length);
    for (const [i, b] of bad.entries()) {
      const r = dlq.find((x) => x.headers['x-case']?.toString() === b.name);
      assert.ok(r, `${b.name} dead-lettered with its original headers`);
      assert.equal(r.headers[DLQ_HEADERS.topic]?.toString(), t.logs);
      assert.equal(r.headers[DLQ_HEADERS.partition]?.toString(), '0');
      assert.equal(r.headers[DLQ_HEADERS.offset]?.toString(), String(i));
      assert.equal(r.headers[DLQ_HEADERS.stage]?.toString(), 'decode');
      assert.ok(
        r.headers[DLQ_HEADERS.code]?.toString().startsWith(b.code),
        `${b.name}: ${r.headers[DLQ_HEADERS.code]}`,
      );
      assert.ok((r.headers[DLQ_HEADERS.error]?.length ?? 0) > 10);
      // Original bytes, untouched.
      assert.deepEqual(r.value ?? Buffer.alloc(0), b.value ?? Buffer.alloc(0));
    }
    const json = dlq.find((x) => x.headers['x-case']?.toString() === 'otlp_json');
    assert.match(json!.headers[DLQ_HEADERS.error]!.toString(), new RegExp(`topic ${t.logs} is otlp_json`));
    // The good record after them still becomes an incident.
    const ctx = await consumeUntil(t.contexts, (r) => r.length >= 1);
    assert.equal(contexts(ctx)[0]?.scope.workload.name, 'api');
    // Every record, bad ones included, is committed: nothing blocks the partition.
    await waitFor(
      async () => (await committedOffsets(t.group, t.logs, 1)).get(0) === bad.length + 1,
      15_000,
      'commit past the bad records',
    );
    assert.equal(await sumMetric(registry, 'kubetriage_dlq_records_total'), bad.length);
    assert.equal(await sumMetric(registry, 'kubetriage_decode_errors_total'), bad.length);
    assert.equal(
      await metricValue(registry, 'kubetriage_decode_errors_total', { code: 'DECODE_OTLP_JSON' }),
      1,
    );
    await service.stop();
  });

  it('commits as soon as it is idle instead of waiting out kafka.commitInterval, and times its consume loop', async () => {
    const t = await testTopics(1);
    const events = [backoff('checkout-7d9f8c6b5-x2kqz', 'ev-idle', 1, T0)];
    await produce(t.logs, [{ value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events)) }]);
    // A minute between commits under load; an idle loop must not wait for it (bench/e2e.ts: the last
    // offsets of a drained topic stayed uncommitted for up to commitInterval).
    const { service, registry } = start(t, { kafka: { commitInterval: '60s' } });
    await service.start();
    await consumeUntil(t.contexts, (r) => r.length >= 1);
    await waitFor(
      async () => (await committedOffsets(t.group, t.logs, 1)).get(0) === 1,
      15_000,
      'the offset committed while idle, well before commitInterval',
    );
    const phase = (p: string) => metricValue(registry, 'kubetriage_consume_loop_seconds_total', { phase: p });
    assert.ok((await phase('consume_wait')) > 0, 'time awaiting consume() is counted');
    assert.ok((await phase('handle')) > 0, 'time handling records is counted');
    await service.stop();
  });
});

async function sumMetric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
}
