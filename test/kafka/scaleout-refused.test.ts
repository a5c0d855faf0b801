// Ingest puts the signals of several input records into one signals record per partition. A signals
// record the broker refuses (larger than the topic's max.message.bytes) dead-letters the input records
// it holds: an input record whose signals alone are too large must go out, and be refused, alone, so
// the records beside it in the consumed batch still reach their owner.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import kafka from '@confluentinc/kafka-javascript';
import { pino } from 'pino';
import { newRegistry } from '../../src/core/metrics.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { ScaleOutService } from '../../src/stream/scaleout/service.ts';
import { DLQ_HEADERS } from '../../src/stream/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  brokers,
  committedOffsets,
  consumeUntil,
  produce,
  serviceConfig,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';

const T0 = Date.now() - 60_000;

/** Warning events of one pod; `big`: distinct random 1,000-character messages (lz4 does not shrink them). */
function events(pod: string, n: number, big = false) {
  return encodeOtlp(
    'ExportLogsServiceRequest',
    k8sEventsRequest(
      Array.from({ length: n }, (_, i) => ({
        namespace: 'shop',
        reason: 'BackOff',
        message: big
          ? randomBytes(500).toString('hex')
          : `Back-off restarting failed container app in pod ${pod}`,
        type: 'Warning',
        object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
        uid: `ev-${pod}-${i}`,
        count: 1,
        atMs: T0 + i,
      })),
    ),
  );
}

async function createSignalsTopics(signals: string, changelog: string, maxBytes: number): Promise<void> {
  const admin = kafka.AdminClient.create({ 'bootstrap.servers': brokers(), log_level: 3 } as never);
  const create = (topic: string, config: Record<string, string>) =>
    new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: 1, replication_factor: 1, config }, 30_000, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  try {
    await create(signals, { 'max.message.bytes': String(maxBytes) });
    await create(changelog, { 'cleanup.policy': 'compact' });
  } finally {
    admin.disconnect();
  }
}

const services: ScaleOutService[] = [];
after(async () => {
  for (const s of services) await s.stop(10_000).catch(() => {});
});

describe('scale-out ingest: a signals record the broker refuses', () => {
  it('dead-letters only the input record too large for the hop; the records batched with it go through', async () => {
    const t = await testTopics(1);
    const signals = unique('signals');
    const changelog = unique('changelog');
    // 300 distinct 1 KB messages: about 300 KB of signals for one partition, past the 256 KiB at which
    // ingest sends a pending record, and past what this topic takes.
    await createSignalsTopics(signals, changelog, 200_000);
    await produce(t.logs, [
      { value: events('api-7d9f8c6b5-x2kqz', 2), partition: 0 },
      { value: events('cart-7d9f8c6b5-x2kqz', 300, true), partition: 0 },
      { value: events('web-7d9f8c6b5-x2kqz', 2), partition: 0 },
    ]);
    const registry = newRegistry();
    const service = new ScaleOutService({
      config: serviceConfig(t, {
        grouping: { groupWait: '300ms', groupInterval: '300ms' },
        scaleOut: { enabled: true, partitions: 1, topics: { signals, changelog } },
        // The broker refuses a whole producer batch larger than the topic takes: librdkafka's batch.size
        // (1 MB) against the topic's 1 MB by default, scaled down here with the topic's limit.
        kafka: { librdkafka: { 'batch.size': 150_000 } },
      }),
      log: pino({ level: 'silent' }),
      registry,
      resolver: new NamePatternResolver(),
    });
    services.push(service);
    await service.start();

    const dlq = await consumeUntil(t.dlq, (r) => r.length >= 1, 30_000);
    assert.deepEqual(
      dlq.map((r) => [r.headers[DLQ_HEADERS.offset]?.toString(), r.headers[DLQ_HEADERS.code]?.toString()]),
      [['1', 'SIGNALS_REFUSED']],
      'only the record whose signals are too large',
    );
    const contexts = await consumeUntil(t.contexts, (rs) => {
      const names = new Set(
        rs.map((r) => (JSON.parse(r.value!.toString()) as IncidentContextDoc).scope.workload.name),
      );
      return names.has('api') && names.has('web');
    });
    const names = new Set(
      contexts.map((r) => (JSON.parse(r.value!.toString()) as IncidentContextDoc).scope.workload.name),
    );
    assert.ok(names.has('api') && names.has('web'), 'the records around it reached their owner');
    assert.ok(!names.has('cart'));
    await waitFor(
      async () => (await committedOffsets(t.group, t.logs, 1)).get(0) === 3,
      15_000,
      'all committed',
    );
    await service.stop(10_000);
  });
});
