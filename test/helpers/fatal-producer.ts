// A real librdkafka producer client behind a switch that, once thrown, answers as librdkafka does after
// a fatal error (the test broker cannot be made to raise one): records still queued fail with
// ERR__PURGE_QUEUE (rd_kafka_set_fatal_error0 purges the queue, deps/librdkafka/src/rdkafka.c) and every
// later produce with ERR__FATAL (rd_kafka_check_produce, deps/librdkafka/src/rdkafka_msg.c), as the
// library's own LibrdKafkaError (lib/error.js: what lib/client.js _errorWrap throws from produce and the
// HighLevelProducer hands to the delivery callback).
import { createRequire } from 'node:module';
import kafka from '@confluentinc/kafka-javascript';
import type { RdKafkaConfig } from '../../src/stream/kafka/client-config.ts';
import type { ProducerClient } from '../../src/stream/kafka/producer.ts';

export const LibrdKafkaError = createRequire(import.meta.url)(
  '@confluentinc/kafka-javascript/lib/error.js',
) as {
  create(code: number): Error & { code: number; origin: string };
};
const { ERR__FATAL, ERR__PURGE_QUEUE } = kafka.CODES.ERRORS;

type Cb = (err: Error | null, offset?: number | null) => void;

/** A real client that goes fatal when told to. */
export class FatalSwitch implements ProducerClient {
  readonly real: ProducerClient;
  fatal = false;
  /** Records of the topics it says yes to wait here (librdkafka's queue) instead of going to the broker. */
  hold: (topic: string) => boolean = () => false;
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
    if (this.hold(args[0])) return this.held.push(cb);
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

export const newRealClient = (c: RdKafkaConfig): ProducerClient =>
  new kafka.HighLevelProducer(c as never) as unknown as ProducerClient;
