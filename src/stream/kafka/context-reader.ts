// Reads back what this service wrote, at start-up: the latest incident contexts (state restore) and,
// for the agents, the triage reports. Both topics are keyed by incident id, so they may be compacted;
// we read only what was written within the lookback.
import kafka from '@confluentinc/kafka-javascript';
import { contextShapeProblem, type RestoreSkipReason } from '../incidents/context-shape.ts';
import type { IncidentContextDoc } from '../incidents/document.ts';
import type { RdKafkaConfig } from './client-config.ts';

const { KafkaConsumer } = kafka;

function promisify<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export interface ReadBackResult {
  /** Latest revision of every incident seen. */
  latest: Map<string, IncidentContextDoc>;
  records: number;
  /** Records skipped (not a context restore can use), in all. */
  invalid: number;
  /** Skipped records by reason, and the first few of them with their coordinates (for the log). */
  skipped: Partial<Record<RestoreSkipReason, number>>;
  samples: SkippedRecord[];
}

export interface SkippedRecord {
  partition: number;
  offset: number;
  reason: RestoreSkipReason;
  detail: string;
}

/** Skipped records logged one by one; beyond them only the counts (a topic full of junk is one line). */
const SKIPPED_SAMPLES = 10;

/** The latest context of every incident written to `topic` since `sinceMs`. */
export async function readLatestContexts(
  config: RdKafkaConfig,
  topic: string,
  sinceMs: number,
  timeoutMs = 60_000,
): Promise<ReadBackResult> {
  const result: ReadBackResult = { latest: new Map(), records: 0, invalid: 0, skipped: {}, samples: [] };
  const skip = (at: RecordAt, reason: RestoreSkipReason, detail: string) => {
    result.invalid++;
    result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
    if (result.samples.length < SKIPPED_SAMPLES) result.samples.push({ ...at, reason, detail });
  };
  result.records = await readTopicSince(
    config,
    topic,
    sinceMs,
    (value, at) => {
      if (!value || value.length === 0) return skip(at, 'empty', 'no value (a tombstone)');
      let parsed: unknown;
      try {
        parsed = JSON.parse(value.toString('utf8'));
      } catch (err) {
        return skip(at, 'not_json', (err as Error).message.slice(0, 200));
      }
      const problem = contextShapeProblem(parsed);
      if (problem) return skip(at, problem.reason, problem.detail);
      const doc = parsed as IncidentContextDoc;
      const cur = result.latest.get(doc.id);
      if (!cur || doc.revision >= cur.revision) result.latest.set(doc.id, doc);
    },
    timeoutMs,
  );
  return result;
}

/** Where a record read back sits in its topic. */
export interface RecordAt {
  partition: number;
  offset: number;
}

/**
 * Reads every record written to `topic` since `sinceMs` (by record timestamp) up to the end offsets at
 * the time of the call, with a throwaway consumer (no group offsets). Returns the number of records.
 */
export async function readTopicSince(
  config: RdKafkaConfig,
  topic: string,
  sinceMs: number,
  onValue: (value: Buffer | undefined, at: RecordAt) => void,
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
        onValue(m.value ?? undefined, { partition: m.partition, offset: m.offset });
      }
    }
    if (ends.size > 0) throw new Error(`timed out reading back ${topic}`);
    return records;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
