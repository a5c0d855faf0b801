// Reads one partition of a topic from its start up to an end offset, without a group: how an owner
// restores a partition's changelog and rebuilds its state from the signals topic. One consumer per
// process, connected on first use and reused (a consumer per restore cost more CPU than a small
// partition's records: connections, threads, metadata).
import kafka from '@confluentinc/kafka-javascript';
import type { RdKafkaConfig } from '../kafka/client-config.ts';

const { KafkaConsumer } = kafka;

function call<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export interface PartitionRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

export class PartitionReader {
  readonly #config: RdKafkaConfig;
  readonly #connectTimeoutMs: number;
  #consumer: InstanceType<typeof KafkaConsumer> | undefined;
  #connecting: Promise<InstanceType<typeof KafkaConsumer>> | undefined;

  constructor(config: RdKafkaConfig, opts: { connectTimeoutMs?: number } = {}) {
    this.#config = config;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 30_000;
  }

  #connect(): Promise<InstanceType<typeof KafkaConsumer>> {
    this.#connecting ??= (async () => {
      const c = new KafkaConsumer(
        {
          ...this.#config,
          'group.id': `kubetriage-restore-${process.pid}`,
          'enable.auto.commit': false,
          'enable.partition.eof': false,
        } as never,
        {},
      );
      await call<unknown>((cb) => c.connect({ timeout: this.#connectTimeoutMs } as never, cb as never));
      c.setDefaultConsumeTimeout(200);
      this.#consumer = c;
      return c;
    })();
    return this.#connecting;
  }

  /**
   * Every record of `topic`/`partition` below `until` (default: the high watermark when called), in
   * order, to `onRecord`. Returns how many were read; throws when `timeoutMs` passes first.
   */
  async read(
    topic: string,
    partition: number,
    onRecord: (r: PartitionRecord) => void,
    opts: { until?: number; timeoutMs?: number } = {},
  ): Promise<number> {
    try {
      return await this.#read(await this.#connect(), topic, partition, onRecord, opts);
    } catch (err) {
      // A fresh consumer for the next try. A connect that failed was kept as the answer of every later
      // read (the owner's restore retried forever on a broker that was back), and a consumer whose
      // read failed may hold stale metadata ("Unknown partition" for 85 s was seen after a broker
      // hang). Not awaited: closing may wait on the broker that failed.
      this.close().catch(() => {});
      throw err;
    }
  }

  async #read(
    consumer: InstanceType<typeof KafkaConsumer>,
    topic: string,
    partition: number,
    onRecord: (r: PartitionRecord) => void,
    opts: { until?: number; timeoutMs?: number },
  ): Promise<number> {
    const w = await call<{ lowOffset: number; highOffset: number }>((cb) =>
      consumer.queryWatermarkOffsets(topic, partition, 10_000, cb as never),
    );
    const end = Math.min(opts.until ?? w.highOffset, w.highOffset);
    if (end <= w.lowOffset) return 0;
    let n = 0;
    consumer.assign([{ topic, partition, offset: w.lowOffset }]);
    try {
      const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
      let next = w.lowOffset;
      while (next < end) {
        if (Date.now() > deadline)
          throw new Error(`timed out reading ${topic}[${partition}] at ${next} of ${end}`);
        const msgs = await call<kafka.Message[]>((cb) => consumer.consume(1000, cb as never));
        for (const m of msgs) {
          if (m.topic !== topic || m.partition !== partition || m.offset < next) continue;
          if (m.offset >= end) {
            next = end;
            break;
          }
          next = m.offset + 1;
          n++;
          onRecord({ offset: m.offset, key: (m.key as Buffer | undefined) ?? null, value: m.value ?? null });
        }
      }
      return n;
    } finally {
      consumer.unassign();
    }
  }

  async close(): Promise<void> {
    const c = this.#consumer;
    this.#consumer = undefined;
    this.#connecting = undefined;
    if (c) await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}
