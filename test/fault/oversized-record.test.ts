// Fault: a 2 MiB record with the DEFAULT configuration (issue 14, defect 2). The dead-letter copy of a
// record we accept must be producible, and when the broker refuses it (the DLQ topic keeps Kafka's
// default max.message.bytes, 1 MiB) a truncated copy with a reference to the original is written
// instead: the partition keeps committing and later records are processed.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { createLogger } from '../../src/core/logger.ts';
import { newRegistry } from '../../src/core/metrics.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { DLQ_HEADERS, DLQ_TRUNCATED_BYTES, StreamService } from '../../src/stream/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  committedOffsets,
  consumeUntil,
  createTopics,
  produce,
  serviceConfig,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';

const services: StreamService[] = [];
after(async () => {
  for (const s of services) await s.stop().catch(() => {});
});

/** A topic that takes records up to 8 MiB, as an operator raising the Collector exporter's limit has. */
async function bigRecordTopic(): Promise<string> {
  const topic = unique('big-logs');
  // createTopics waits for the partition's leader: the produce right after the create could otherwise
  // get "Not leader for partition" under load (as test/e2e/collector.test.ts once did).
  await createTopics([topic], 1, { 'max.message.bytes': String(8 * 1024 * 1024) });
  return topic;
}

function backoff(workload: string, atMs: number): K8sEvent {
  const pod = `${workload}-7d9f8c6b5-x2kqz`;
  return {
    namespace: 'shop',
    reason: 'BackOff',
    message: `Back-off restarting failed container app in pod ${pod}`,
    type: 'Warning',
    object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
    uid: `ev-${workload}`,
    count: 1,
    atMs,
  };
}

async function sum(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

describe('fault: a 2 MiB record with the default configuration', () => {
  it('is dead-lettered as a truncated copy with a reference, and the partition keeps committing', {
    timeout: 120_000,
  }, async () => {
    const t = { ...(await testTopics(1)), logs: await bigRecordTopic() };
    const now = Date.now();
    // Incompressible, and undecodable: a length prefix far beyond the end (DECODE_TRUNCATED).
    const big = Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x7f]), randomBytes(2 * 1024 * 1024)]);
    await produce(t.logs, [
      {
        value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest([backoff('api', now)])),
        partition: 0,
      },
      { value: big, partition: 0, headers: [{ 'x-case': 'big' }] },
      {
        value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest([backoff('web', now)])),
        partition: 0,
      },
    ]);

    const registry = newRegistry();
    // The defaults, except the test's own topics and a short group_wait: no size settings anywhere.
    const config = serviceConfig(t, { grouping: { groupWait: '500ms', groupInterval: '500ms' } });
    assert.equal(config.kafka.maxRecordBytes, 16 * 1024 * 1024);
    assert.deepEqual(config.kafka.librdkafka, {});
    const service = new StreamService({
      config,
      log: createLogger('silent'),
      registry,
      resolver: new NamePatternResolver(),
    });
    services.push(service);
    await service.start();

    // Every record committed, the big one included: nothing holds the partition.
    await waitFor(
      async () => (await committedOffsets(t.group, t.logs, 1)).get(0) === 3,
      45_000,
      'the partition committed past the 2 MiB record',
    );
    const dlq = await consumeUntil(t.dlq, (r) => r.length >= 1, 15_000);
    assert.equal(dlq.length, 1);
    const r = dlq[0]!;
    const h = (k: string) => r.headers[k]?.toString();
    assert.equal(h(DLQ_HEADERS.form), 'truncated');
    assert.equal(h(DLQ_HEADERS.topic), t.logs);
    assert.equal(h(DLQ_HEADERS.partition), '0');
    assert.equal(h(DLQ_HEADERS.offset), '1');
    assert.match(h(DLQ_HEADERS.code) ?? '', /^DECODE/);
    assert.equal(h(DLQ_HEADERS.size), String(big.length));
    assert.equal(h(DLQ_HEADERS.sha256), createHash('sha256').update(big).digest('hex'));
    assert.match(h(DLQ_HEADERS.refused) ?? '', /^10 .*too large/i);
    assert.equal(h('x-case'), 'big', "the record's own (small) headers come along");
    assert.deepEqual(r.value, big.subarray(0, DLQ_TRUNCATED_BYTES));

    // The record after it was processed: its incident reached the contexts topic.
    const ctx = await consumeUntil(t.contexts, (rs) =>
      rs.some((x) => (JSON.parse(x.value!.toString()) as IncidentContextDoc).scope.workload.name === 'web'),
    );
    const names = new Set(
      ctx.map((x) => (JSON.parse(x.value!.toString()) as IncidentContextDoc).scope.workload.name),
    );
    assert.deepEqual([...names].sort(), ['api', 'web']);

    assert.equal(await sum(registry, 'kubetriage_dlq_truncated_total'), 1);
    assert.equal(await sum(registry, 'kubetriage_dlq_records_total'), 1);
    assert.equal(await sum(registry, 'kubetriage_dlq_failures_total'), 0);
    const stop = await service.stop();
    assert.equal(stop.complete, true);
  });
});
