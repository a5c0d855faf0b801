// A producer that librdkafka stopped with a fatal error (an idempotent producer's unrecoverable sequence
// error, say) refuses every record from then on; AckedProducer retried on it forever. It must replace the
// client once and deliver every record not acknowledged on the new one.
//
// A real fatal error cannot be provoked on the test broker (librdkafka's rd_kafka_test_fatal_error and
// its mock cluster's error injection are not exposed to JavaScript), so the first client is a real
// HighLevelProducer behind a switch that, once thrown, answers as librdkafka does after a fatal error:
// records still queued fail with ERR__PURGE_QUEUE (rd_kafka_set_fatal_error0 purges the queue,
// deps/librdkafka/src/rdkafka.c) and every later produce with ERR__FATAL (rd_kafka_check_produce,
// deps/librdkafka/src/rdkafka_msg.c), as the library's own LibrdKafkaError (lib/error.js, what
// lib/client.js _errorWrap throws and the HighLevelProducer passes to the delivery callback). The
// replacement clients are plain real ones, on the real broker.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import kafka from '@confluentinc/kafka-javascript';
import { validateConfig } from '../../src/core/config.ts';
import { type RdKafkaConfig, reliableProducerConfig } from '../../src/stream/kafka/client-config.ts';
import { AckedProducer, isFatalProduceError, type ProducerClient } from '../../src/stream/kafka/producer.ts';
import { brokers, consumeUntil, createTopics, unique } from '../helpers/kafka.ts';

const LibrdKafkaError = createRequire(import.meta.url)('@confluentinc/kafka-javascript/lib/error.js') as {
  create(code: number): Error & { code: number; origin: string };
};
const { ERR__FATAL, ERR__PURGE_QUEUE } = kafka.CODES.ERRORS;

type Cb = (err: Error | null, offset?: number | null) => void;

/** A real client that goes fatal when told to. */
class FatalSwitch implements ProducerClient {
  readonly real: ProducerClient;
  fatal = false;
  /** While set, records wait here (librdkafka's queue) instead of going to the broker. */
  holding = false;
  readonly held: Cb[] = [];
  closed = false;

  constructor(config: RdKafkaConfig) {
    this.real = new kafka.HighLevelProducer(config as never) as unknown as ProducerClient;
  }
  connect(opts: { timeout: number }, cb: (err: Error | null) => void) {
    return this.real.connect(opts, cb);
  }
  setPollInterval(ms: number) {
    return this.real.setPollInterval(ms);
  }
  produce(...args: Parameters<ProducerClient['produce']>) {
    const cb = args[6];
    if (this.fatal) return cb(LibrdKafkaError.create(ERR__FATAL));
    if (this.holding) return this.held.push(cb);
    return this.real.produce(...args);
  }
  flush(timeoutMs: number, cb: (err: Error | null) => void) {
    return this.real.flush(timeoutMs, cb);
  }
  disconnect(timeoutMs: number, cb: () => void) {
    this.closed = true;
    return this.real.disconnect(timeoutMs, cb);
  }
  /** The fatal error: queued records are purged, every later one is refused. */
  goFatal(heldFail = ERR__PURGE_QUEUE) {
    this.fatal = true;
    for (const cb of this.held.splice(0)) cb(LibrdKafkaError.create(heldFail));
  }
}

function setup() {
  const config = validateConfig({ kafka: { brokers: brokers().split(',') } });
  const clients: ProducerClient[] = [];
  let first: FatalSwitch | undefined;
  const producer = new AckedProducer(reliableProducerConfig(config.kafka), (c) => {
    if (clients.length === 0) first = new FatalSwitch(c);
    const client = clients.length === 0 ? first! : newReal(c);
    clients.push(client);
    return client;
  });
  const rebuilt: Error[] = [];
  producer.onRebuild = (err) => rebuilt.push(err);
  return { producer, clients, first: () => first!, rebuilt };
}

const newReal = (c: RdKafkaConfig) => new kafka.HighLevelProducer(c as never) as unknown as ProducerClient;

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
      first().holding = true;
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
      first().holding = true;
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
