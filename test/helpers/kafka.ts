// Real-broker helpers: every test makes its own topics and group ids, and cleans up its clients.
import { randomBytes } from 'node:crypto';
import kafka from '@confluentinc/kafka-javascript';
import type { Config, ConfigInput } from '../../src/core/config.ts';
import { applyEnv, validateConfig } from '../../src/core/config.ts';

const { AdminClient, Producer, KafkaConsumer } = kafka;

export function brokers(): string {
  const b = process.env.KAFKA_BROKERS;
  if (!b)
    throw new Error('KAFKA_BROKERS is not set: run the suite with `npm test`, which starts a real broker');
  return b;
}

export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface TestTopics {
  logs: string;
  metrics: string;
  traces: string;
  contexts: string;
  dlq: string;
  group: string;
}

/** Creates the topics (`config`: topic-level settings for each) and waits until every partition has a leader. */
export async function createTopics(
  names: string[],
  partitions = 3,
  config: Record<string, string> = {},
): Promise<void> {
  const admin = AdminClient.create({ 'bootstrap.servers': brokers(), log_level: 3 } as never);
  try {
    for (const topic of names) {
      await new Promise<void>((resolve, reject) =>
        admin.createTopic(
          { topic, num_partitions: partitions, replication_factor: 1, config },
          30_000,
          (err) => (err && err.code !== 36 /* TOPIC_ALREADY_EXISTS */ ? reject(err) : resolve()),
        ),
      );
    }
  } finally {
    admin.disconnect();
  }
  await waitForLeaders(names, partitions);
}

/**
 * Waits until the broker's metadata names a leader for every partition of the topics: a create returns
 * before that, and a client that produces at once can get "Not leader for partition" (seen once under
 * load in test/e2e/collector.test.ts).
 */
async function waitForLeaders(names: string[], partitions: number, timeoutMs = 30_000): Promise<void> {
  const producer = new Producer({ 'bootstrap.servers': brokers(), log_level: 3 } as never);
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 30_000 } as never, (err) => (err ? reject(err) : resolve())),
  );
  try {
    const deadline = Date.now() + timeoutMs;
    for (const topic of names) {
      for (;;) {
        const meta = await new Promise<{
          topics: { name: string; partitions: { id: number; leader: number }[] }[];
        }>((resolve, reject) =>
          producer.getMetadata(
            { topic, timeout: 10_000 } as never,
            ((err: unknown, m: never) => (err ? reject(err) : resolve(m))) as never,
          ),
        );
        const parts = meta.topics.find((t) => t.name === topic)?.partitions ?? [];
        if (parts.length === partitions && parts.every((p) => p.leader >= 0)) break;
        if (Date.now() > deadline)
          throw new Error(`topic ${topic}: no leader for every partition after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

/** Fresh topics and group for one test, created up front (3 partitions each). */
export async function testTopics(partitions = 3): Promise<TestTopics> {
  const t = {
    logs: unique('logs'),
    metrics: unique('metrics'),
    traces: unique('spans'),
    contexts: unique('contexts'),
    dlq: unique('dlq'),
    group: unique('group'),
  };
  await createTopics([t.logs, t.metrics, t.traces, t.contexts, t.dlq], partitions);
  return t;
}

export function serviceConfig(t: TestTopics, extra: ConfigInput = {}): Config {
  const c = validateConfig({
    ...extra,
    kafka: {
      brokers: brokers().split(','),
      groupId: t.group,
      topics: { logs: [t.logs], metrics: [t.metrics], traces: [t.traces], contexts: t.contexts, dlq: t.dlq },
      commitInterval: '200ms',
      ...(extra.kafka ?? {}),
    },
  });
  return applyEnv(c, {});
}

export interface RawRecord {
  value: Buffer | null;
  key?: Buffer | string | null;
  partition?: number;
  headers?: Record<string, string | Buffer>[];
  timestamp?: number;
}

/** Produces records as the Collector's exporter would (nil key unless given), with a batch compression codec. */
export async function produce(
  topic: string,
  records: RawRecord[],
  opts: { compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' } = {},
): Promise<void> {
  const producer = new Producer({
    'bootstrap.servers': brokers(),
    'compression.codec': opts.compression ?? 'none',
    'linger.ms': 5,
    'message.max.bytes': 20_000_000,
    'queue.buffering.max.messages': 1_000_000,
    dr_cb: true,
    log_level: 3,
  } as never);
  await new Promise<void>((resolve, reject) =>
    producer.connect({}, (err) => (err ? reject(err) : resolve())),
  );
  let pending = 0;
  let failed: Error | undefined;
  producer.on('delivery-report', (err) => {
    pending--;
    if (err) failed = err as unknown as Error;
  });
  producer.setPollInterval(10);
  for (const r of records) {
    for (;;) {
      try {
        producer.produce(
          topic,
          r.partition ?? null,
          r.value,
          r.key ?? null,
          r.timestamp ?? Date.now(),
          undefined,
          r.headers as never,
        );
        pending++;
        break;
      } catch (err) {
        // Local queue full: let deliveries drain.
        if ((err as { code?: number }).code !== -184) throw err;
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  }
  await new Promise<void>((resolve, reject) =>
    producer.flush(60_000, (err) => (err ? reject(err) : resolve())),
  );
  while (pending > 0) await new Promise((res) => setTimeout(res, 10));
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  if (failed) throw failed;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

/**
 * Reads a topic from the beginning (no group) until `done(records)` says so or the timeout passes.
 * Returns everything read.
 */
export async function consumeUntil(
  topic: string,
  done: (records: ConsumedRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<ConsumedRecord[]> {
  const consumer = new KafkaConsumer(
    {
      'bootstrap.servers': brokers(),
      'group.id': unique('reader'),
      'enable.auto.commit': false,
      log_level: 3,
    } as never,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({}, (err) => (err ? reject(err) : resolve())),
  );
  const out: ConsumedRecord[] = [];
  try {
    consumer.subscribe([topic]);
    consumer.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + timeoutMs;
    while (!done(out)) {
      if (Date.now() > deadline) break;
      const msgs = await new Promise<kafka.Message[]>((resolve, reject) =>
        consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))),
      );
      for (const m of msgs) {
        const headers: Record<string, Buffer> = {};
        for (const h of m.headers ?? [])
          for (const [k, v] of Object.entries(h))
            headers[k] = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
        out.push({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          key: m.key == null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key),
          value: m.value ?? null,
          headers,
        });
      }
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/**
 * Everything `topic` holds now: each partition's end offset first, then every record up to those ends
 * (rejects when it cannot read that far in `timeoutMs`). For "what was written": a read for a fixed time
 * instead returns only part of the topic when the reader's group join or fetch is slow under load.
 */
export async function consumeAll(topic: string, timeoutMs = 60_000): Promise<ConsumedRecord[]> {
  const ends = await partitionEnds(topic);
  const readToEnds = (records: ConsumedRecord[]) => {
    const last = new Map<number, number>();
    for (const r of records) last.set(r.partition, Math.max(last.get(r.partition) ?? -1, r.offset));
    return [...ends].every(([p, { low, high }]) => high <= low || (last.get(p) ?? -1) >= high - 1);
  };
  const out = await consumeUntil(topic, readToEnds, timeoutMs);
  if (!readToEnds(out))
    throw new Error(
      `${topic}: ${out.length} records read in ${timeoutMs} ms, short of the partition ends ${JSON.stringify([...ends])}`,
    );
  return out;
}

/** Low and high watermark of every partition of `topic`. */
async function partitionEnds(topic: string): Promise<Map<number, { low: number; high: number }>> {
  const consumer = new KafkaConsumer(
    { 'bootstrap.servers': brokers(), 'group.id': unique('ends'), log_level: 3 } as never,
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 } as never, (err) => (err ? reject(err) : resolve())),
  );
  try {
    const meta = await new Promise<{ topics: { name: string; partitions: { id: number }[] }[] }>(
      (resolve, reject) =>
        consumer.getMetadata(
          { topic, timeout: 10_000 } as never,
          ((err: unknown, m: never) => (err ? reject(err) : resolve(m))) as never,
        ),
    );
    const partitions = meta.topics.find((t) => t.name === topic)?.partitions ?? [];
    if (partitions.length === 0) throw new Error(`${topic}: no partitions in the broker's metadata`);
    const out = new Map<number, { low: number; high: number }>();
    for (const { id } of partitions) {
      const w = await new Promise<{ lowOffset: number; highOffset: number }>((resolve, reject) =>
        consumer.queryWatermarkOffsets(topic, id, 10_000, (err, o) => (err ? reject(err) : resolve(o))),
      );
      out.set(id, { low: w.lowOffset, high: w.highOffset });
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** Committed offsets of a consumer group for a topic's partitions. */
export async function committedOffsets(
  group: string,
  topic: string,
  partitions: number,
): Promise<Map<number, number>> {
  const consumer = new KafkaConsumer(
    { 'bootstrap.servers': brokers(), 'group.id': group, 'enable.auto.commit': false, log_level: 3 } as never,
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({}, (err) => (err ? reject(err) : resolve())),
  );
  try {
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    const res = await new Promise<{ partition: number; offset: number }[]>((resolve, reject) =>
      consumer.committed(tps, 10_000, (err, r) => (err ? reject(err) : resolve(r as never))),
    );
    return new Map(res.map((r) => [r.partition, r.offset]));
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** Polls until `cond` holds; errors from `cond` (a coordinator not ready yet…) count as "not yet". */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
