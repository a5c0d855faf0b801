// A producer that librdkafka stopped with a fatal error (an idempotent producer's unrecoverable sequence
// error, say) refuses every record from then on; AckedProducer retried on it forever. It must replace the
// client once and deliver every record not acknowledged on the new one.
//
// A real fatal error cannot be provoked on the test broker (librdkafka's rd_kafka_test_fatal_error and
// its mock cluster's error injection are not exposed to JavaScript): the first client is a real one
// behind a switch that answers as librdkafka does after a fatal error (test/helpers/fatal-producer.ts);
// the replacement clients are plain real ones, on the real broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafka from '@confluentinc/kafka-javascript';
import { validateConfig } from '../../src/core/config.ts';
import { reliableProducerConfig } from '../../src/stream/kafka/client-config.ts';
import { AckedProducer, isFatalProduceError, type ProducerClient } from '../../src/stream/kafka/producer.ts';
import { FatalSwitch, LibrdKafkaError, newRealClient } from '../helpers/fatal-producer.ts';
import { brokers, consumeUntil, createTopics, unique } from '../helpers/kafka.ts';

const { ERR__FATAL, ERR__PURGE_QUEUE } = kafka.CODES.ERRORS;

function setup() {
  const config = validateConfig({ kafka: { brokers: brokers().split(',') } });
  const clients: ProducerClient[] = [];
  let first: FatalSwitch | undefined;
  const producer = new AckedProducer(reliableProducerConfig(config.kafka), (c) => {
    if (clients.length === 0) first = new FatalSwitch(c);
    const client = clients.length === 0 ? first! : newRealClient(c);
    clients.push(client);
    return client;
  });
  const rebuilt: Error[] = [];
  producer.onRebuild = (err) => rebuilt.push(err);
  return { producer, clients, first: () => first!, rebuilt };
}

async function valuesOn(topic: string, n: number): Promise<string[]> {
  const back = await consumeUntil(topic, (rs) => rs.length >= n, 60_000);
  return back.map((r) => r.value!.toString()).sort();
}

describe('AckedProducer: a fatal producer error', () => {
  it('is what the library reports after one (code ERR__FATAL)', () => {
    const err = LibrdKafkaError.create(ERR__FATAL);
    assert.equal(err.code, -150);
    assert.equal(isFatalProduceError(err), true);
    assert.equal(isFatalProduceError(LibrdKafkaError.create(ERR__PURGE_QUEUE)), false);
    assert.equal(isFatalProduceError(LibrdKafkaError.create(-192 /* ERR__MSG_TIMED_OUT */)), false);
  });

  it('replaces the client once; queued records and later ones are delivered on the new one', {
    timeout: 120_000,
  }, async () => {
    const topic = unique('producer-fatal');
    await createTopics([topic], 1);
    const { producer, clients, first, rebuilt } = setup();
    await producer.connect();
    try {
      await Promise.all(['r0', 'r1'].map((v) => producer.send({ topic, key: null, value: Buffer.from(v) })));
      first().hold = () => true;
      const queued = ['r2', 'r3', 'r4', 'r5'].map((v) =>
        producer.send({ topic, key: null, value: Buffer.from(v) }),
      );
      first().goFatal();
      const later = producer.send({ topic, key: null, value: Buffer.from('r6') });
      const offsets = await Promise.all([...queued, later]);
      assert.ok(
        offsets.every((o) => o >= 0),
        `each acknowledged by the broker: ${offsets.join(', ')}`,
      );
      assert.equal(producer.rebuilds, 1, 'one rebuild');
      assert.equal(clients.length, 2, 'one new client');
      assert.equal(rebuilt.length, 1);
      assert.equal((rebuilt[0] as Error & { code?: number }).code, ERR__FATAL);
      assert.equal(first().closed, true, 'the fatal client is closed');
    } finally {
      await producer.disconnect(10_000);
    }
    assert.deepEqual(await valuesOn(topic, 7), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  });

  it('records refused together by the fatal client rebuild it once, not once each', {
    timeout: 120_000,
  }, async () => {
    const topic = unique('producer-fatal');
    await createTopics([topic], 1);
    const { producer, clients, first } = setup();
    await producer.connect();
    const values = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    try {
      first().hold = () => true;
      const sends = values.map((v) => producer.send({ topic, key: null, value: Buffer.from(v) }));
      // Every record answered ERR__FATAL at once (each saw the client refuse it).
      first().goFatal(ERR__FATAL);
      await Promise.all(sends);
      assert.equal(producer.rebuilds, 1);
      assert.equal(clients.length, 2);
    } finally {
      await producer.disconnect(10_000);
    }
    assert.deepEqual(await valuesOn(topic, values.length), values);
  });
});
