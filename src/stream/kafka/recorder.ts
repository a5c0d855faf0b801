// `kubetriage record`: copies records from Kafka into a capture file, partition by partition, from the
// earliest (or latest) offset up to the end seen at start (or forever with `follow`). It joins no
// consumer group and commits nothing, so it never disturbs the service's offsets.
import kafka from '@confluentinc/kafka-javascript';
import type { CapturedRecord } from '../capture.ts';
import type { RdKafkaConfig } from './client-config.ts';

const { KafkaConsumer } = kafka;

export interface RecordOptions {
  topics: string[];
  from: 'earliest' | 'latest';
  follow: boolean;
  maxRecords: number;
  onRecord: (r: CapturedRecord) => void;
  onProgress?: (done: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

type Consumer = InstanceType<typeof KafkaConsumer>;

function promisify<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export async function recordTopics(config: RdKafkaConfig, opts: RecordOptions): Promise<number> {
  const consumer: Consumer = new KafkaConsumer(
    {
      ...config,
      'group.id': `kubetriage-record-${process.pid}-${Date.now()}`,
      'enable.auto.commit': false,
    } as never,
    {},
  );
  await promisify<unknown>((cb) => consumer.connect({ timeout: 30_000 } as never, cb as never));
  try {
    const meta = await promisify<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) =>
      consumer.getMetadata({ timeout: 30_000 } as never, cb as never),
    );
    const assignment: { topic: string; partition: number; offset: number }[] = [];
    const ends = new Map<string, number>();
    let total = 0;
    for (const topic of opts.topics) {
      const t = meta.topics.find((x) => x.name === topic);
      if (!t || t.partitions.length === 0) throw new Error(`topic ${topic} does not exist on the cluster`);
      for (const p of t.partitions) {
        const w = await promisify<{ lowOffset: number; highOffset: number }>((cb) =>
          consumer.queryWatermarkOffsets(topic, p.id, 10_000, cb as never),
        );
        const start = opts.from === 'earliest' ? w.lowOffset : w.highOffset;
        assignment.push({ topic, partition: p.id, offset: start });
        if (w.highOffset > start) {
          ends.set(`${topic}/${p.id}`, w.highOffset);
          total += w.highOffset - start;
        }
      }
    }
    consumer.assign(assignment);
    consumer.setDefaultConsumeTimeout(200);
    let done = 0;
    let lastProgress = 0;
    while (!opts.signal?.aborted && done < opts.maxRecords && (opts.follow || ends.size > 0)) {
      const msgs = await promisify<kafka.Message[]>((cb) => consumer.consume(500, cb as never));
      for (const m of msgs) {
        if (done >= opts.maxRecords) break;
        const key = `${m.topic}/${m.partition}`;
        const end = ends.get(key);
        if (!opts.follow && (end === undefined || m.offset >= end)) continue;
        const headers: Record<string, Buffer> = {};
        for (const h of m.headers ?? []) {
          for (const [k, v] of Object.entries(h))
            headers[k] = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
        }
        opts.onRecord({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          timestamp: m.timestamp ?? 0,
          key:
            m.key === undefined || m.key === null
              ? null
              : Buffer.isBuffer(m.key)
                ? m.key
                : Buffer.from(m.key),
          headers,
          value: m.value ?? Buffer.alloc(0),
        });
        done++;
        if (end !== undefined && m.offset + 1 >= end) ends.delete(key);
      }
      const now = Date.now();
      if (opts.onProgress && now - lastProgress > 1000) {
        lastProgress = now;
        opts.onProgress(done, opts.follow ? undefined : total);
      }
    }
    opts.onProgress?.(done, opts.follow ? undefined : total);
    return done;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
