// Reads back what this service wrote, at start-up: the latest incident contexts (state restore) and,
// for the agents, the triage reports. Both topics are keyed by incident id, so they may be compacted;
// we read only what was written within the lookback.
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

/** The latest context of every incident written to `topic` since `sinceMs`. */
export async function readLatestContexts(
  config: RdKafkaConfig,
  topic: string,
  sinceMs: number,
  timeoutMs = 60_000,
): Promise<ReadBackResult> {
  const result: ReadBackResult = { latest: new Map(), records: 0, invalid: 0 };
  result.records = await readTopicSince(
    config,
    topic,
    sinceMs,
    (value) => {
      let doc: IncidentContextDoc;
      try {
        doc = JSON.parse(value?.toString('utf8') ?? '');
      } catch {
        result.invalid++;
        return;
      }
      if (
        doc?.schema !== INCIDENT_CONTEXT_SCHEMA ||
        typeof doc.id !== 'string' ||
        !Array.isArray(doc.evidence)
      ) {
        result.invalid++;
        return;
      }
      const cur = result.latest.get(doc.id);
      if (!cur || doc.revision >= cur.revision) result.latest.set(doc.id, doc);
    },
    timeoutMs,
  );
  return result;
}

/**
 * Reads every record written to `topic` since `sinceMs` (by record timestamp) up to the end offsets at
 * the time of the call, with a throwaway consumer (no group offsets). Returns the number of records.
 */
export async function readTopicSince(
  config: RdKafkaConfig,
  topic: string,
  sinceMs: number,
  onValue: (value: Buffer | undefined) => void,
  timeoutMs = 60_000,
): Promise<number> {
  let records = 0;
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
    if (!t || t.partitions.length === 0) return records;
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
    if (assignment.length === 0) return records;
    consumer.assign(assignment);
    consumer.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + timeoutMs;
    while (ends.size > 0 && Date.now() < deadline) {
      const msgs = await promisify<kafka.Message[]>((cb) => consumer.consume(1000, cb as never));
      for (const m of msgs) {
        const end = ends.get(m.partition);
        if (end === undefined || m.offset >= end) continue;
        if (m.offset + 1 >= end) ends.delete(m.partition);
        records++;
        onValue(m.value ?? undefined);
      }
    }
    if (ends.size > 0) throw new Error(`timed out reading back ${topic}`);
    return records;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
