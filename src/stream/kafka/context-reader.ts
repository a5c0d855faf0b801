// Reads back the latest incident contexts at start-up (state restore). The contexts topic is keyed by
// incident id, so it may be compacted; we read only what was written within the lookback.
import kafka from '@confluentinc/kafka-javascript';
import { INCIDENT_CONTEXT_SCHEMA, type IncidentContextDoc } from '../incidents/document.ts';
import type { RdKafkaConfig } from './client-config.ts';

const { KafkaConsumer } = kafka;

function promisify<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export interface ReadBackResult {
  /** Latest revision of every incident seen. */
  latest: Map<string, IncidentContextDoc>;
  records: number;
  invalid: number;
}

export async function readLatestContexts(
  config: RdKafkaConfig,
  topic: string,
  sinceMs: number,
  timeoutMs = 60_000,
): Promise<ReadBackResult> {
  const result: ReadBackResult = { latest: new Map(), records: 0, invalid: 0 };
  const consumer = new KafkaConsumer(
    { ...config, 'group.id': `kubetriage-restore-${process.pid}`, 'enable.auto.commit': false } as never,
    {},
  );
  await promisify<unknown>((cb) => consumer.connect({ timeout: 30_000 } as never, cb as never));
  try {
    const meta = await promisify<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) =>
      consumer.getMetadata({ topic, timeout: 30_000 } as never, cb as never),
    );
    const t = meta.topics.find((x) => x.name === topic);
    if (!t || t.partitions.length === 0) return result;
    const ends = new Map<number, number>();
    const starts = await promisify<{ partition: number; offset: number }[]>((cb) =>
      consumer.offsetsForTimes(
        t.partitions.map((p) => ({ topic, partition: p.id, offset: sinceMs })),
        30_000,
        cb as never,
      ),
    );
    const assignment: { topic: string; partition: number; offset: number }[] = [];
    for (const p of t.partitions) {
      const w = await promisify<{ lowOffset: number; highOffset: number }>((cb) =>
        consumer.queryWatermarkOffsets(topic, p.id, 10_000, cb as never),
      );
      const s = starts.find((x) => x.partition === p.id)?.offset ?? -1;
      // offsetsForTimes answers -1 when nothing is that new.
      const start = s < 0 ? w.highOffset : Math.max(s, w.lowOffset);
      if (w.highOffset > start) {
        ends.set(p.id, w.highOffset);
        assignment.push({ topic, partition: p.id, offset: start });
      }
    }
    if (assignment.length === 0) return result;
    consumer.assign(assignment);
    consumer.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + timeoutMs;
    while (ends.size > 0 && Date.now() < deadline) {
      const msgs = await promisify<kafka.Message[]>((cb) => consumer.consume(1000, cb as never));
      for (const m of msgs) {
        const end = ends.get(m.partition);
        if (end === undefined || m.offset >= end) continue;
        if (m.offset + 1 >= end) ends.delete(m.partition);
        result.records++;
        let doc: IncidentContextDoc;
        try {
          doc = JSON.parse(m.value?.toString('utf8') ?? '');
        } catch {
          result.invalid++;
          continue;
        }
        if (
          doc?.schema !== INCIDENT_CONTEXT_SCHEMA ||
          typeof doc.id !== 'string' ||
          !Array.isArray(doc.evidence)
        ) {
          result.invalid++;
          continue;
        }
        const cur = result.latest.get(doc.id);
        if (!cur || doc.revision >= cur.revision) result.latest.set(doc.id, doc);
      }
    }
    if (ends.size > 0) throw new Error(`timed out reading back ${topic}`);
    return result;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
