// Reads one partition of a topic from its start up to an end offset with a throwaway consumer (no group
// offsets): how an owner restores a partition's changelog and rebuilds its state from the signals topic.
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

/**
 * Every record of `topic`/`partition` below `until` (default: the high watermark when called), in
 * order, to `onRecord`. Returns how many were read; throws when `timeoutMs` passes first.
 */
export async function readPartition(
  config: RdKafkaConfig,
  topic: string,
  partition: number,
  onRecord: (r: PartitionRecord) => void,
  opts: { until?: number; timeoutMs?: number } = {},
): Promise<number> {
  const consumer = new KafkaConsumer(
    {
      ...config,
      'group.id': `kubetriage-restore-${process.pid}`,
      'enable.auto.commit': false,
      'enable.partition.eof': false,
    } as never,
    {},
  );
  await call<unknown>((cb) => consumer.connect({ timeout: 30_000 } as never, cb as never));
  let n = 0;
  try {
    const w = await call<{ lowOffset: number; highOffset: number }>((cb) =>
      consumer.queryWatermarkOffsets(topic, partition, 10_000, cb as never),
    );
    const end = Math.min(opts.until ?? w.highOffset, w.highOffset);
    if (end <= w.lowOffset) return 0;
    consumer.assign([{ topic, partition, offset: w.lowOffset }]);
    consumer.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    let next = w.lowOffset;
    while (next < end) {
      if (Date.now() > deadline)
        throw new Error(`timed out reading ${topic}[${partition}] at ${next} of ${end}`);
      const msgs = await call<kafka.Message[]>((cb) => consumer.consume(1000, cb as never));
      for (const m of msgs) {
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
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
