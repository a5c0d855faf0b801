// Ingest (format 3) produces each signals record to an explicit partition it computes from the incident
// scope's key; replicas before it produced keyed records and let librdkafka's partitioner choose. Both
// must put a scope on the same partition, or an upgrade would move workloads between owners (two
// incidents for one workload). Checked against the real client and broker: keyed records, produced with
// the producer configuration ingest uses, land where keyPartitioner says, for librdkafka's default and
// for the keyed partitioners a deployment may set in kafka.librdkafka.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { reliableProducerConfig } from '../../src/stream/kafka/client-config.ts';
import { AckedProducer } from '../../src/stream/kafka/producer.ts';
import { keyPartitioner } from '../../src/stream/scaleout/partitioner.ts';
import { brokers, consumeUntil, createTopics, unique } from '../helpers/kafka.ts';

const PARTITIONS = 12;
// Scope keys as scopeKey writes them, ASCII and not, short and long.
const KEYS = [
  ...Array.from({ length: 150 }, (_, i) => `prod-eu/shop/Deployment/w${i}`),
  'c/n/Namespace/(cluster)',
  'kind-kubetriage/kube-system/DaemonSet/kube-proxy',
  'prod/zahlungen/Deployment/prüfung-✓',
  `c/n/StatefulSet/${'x'.repeat(300)}`,
];

describe('signals partition of a scope: what librdkafka picks for its key', () => {
  for (const partitioner of [undefined, 'murmur2_random', 'fnv1a_random'])
    it(`partitioner ${partitioner ?? '(librdkafka default, consistent_random)'}`, async () => {
      const topic = unique('scaleout-partitioner');
      await createTopics([topic], PARTITIONS);
      const config = validateConfig({
        kafka: { brokers: brokers().split(','), librdkafka: partitioner ? { partitioner } : {} },
      });
      const producer = new AckedProducer(reliableProducerConfig(config.kafka));
      await producer.connect();
      try {
        await Promise.all(KEYS.map((key) => producer.send({ topic, key, value: Buffer.from(key) })));
      } finally {
        await producer.disconnect(10_000);
      }
      const back = await consumeUntil(topic, (rs) => rs.length >= KEYS.length, 60_000);
      assert.equal(back.length, KEYS.length);
      const partitionOf = keyPartitioner(partitioner);
      const used = new Set<number>();
      for (const r of back) {
        const key = r.key!.toString('utf8');
        used.add(r.partition);
        assert.equal(partitionOf(key, PARTITIONS), r.partition, key);
      }
      assert.ok(used.size > PARTITIONS / 2, 'keys spread over the partitions');
    });

  it('refuses a partitioner that does not keep a key on one partition', () => {
    assert.throws(() => keyPartitioner('random'), /keyed partitioner/);
  });
});
