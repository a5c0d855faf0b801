// The two topics of replicated approvals, made or checked at start, and the read-back of proposal
// chains for the partitions a replica was just given. Co-partitioning is what lets the owner of a
// command partition hold every state it decides on: both topics keyed by proposal id with the same
// partition count (src/exec/partitioner.ts picks the partition for both).
import kafka from '@confluentinc/kafka-javascript';
import { KubetriageError } from '../core/errors.ts';
import type { RdKafkaConfig } from '../stream/kafka/client-config.ts';
import type { AuditEntry } from './audit.ts';
import { type DecodedProposalRecord, decodeProposalRecord, type RawTopicRecord } from './proposal-record.ts';

const { AdminClient, KafkaConsumer } = kafka;

function promisify<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

const TOPIC_ALREADY_EXISTS = 36;

async function partitionCounts(config: RdKafkaConfig, topics: string[]): Promise<Map<string, number>> {
  const consumer = new KafkaConsumer(
    { ...config, 'group.id': `kubetriage-topics-${process.pid}`, 'enable.auto.commit': false } as never,
    {},
  );
  await promisify<unknown>((cb) => consumer.connect({ timeout: 30_000 } as never, cb as never));
  try {
    const out = new Map<string, number>();
    for (const topic of topics) {
      const meta = await promisify<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) =>
        consumer.getMetadata({ topic, timeout: 30_000 } as never, cb as never),
      );
      out.set(topic, meta.topics.find((t) => t.name === topic)?.partitions.length ?? 0);
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/**
 * Creates the commands topic (delete policy) and the proposals topic (compacted) when missing, then
 * checks that both have the same partition count; returns it. Different counts would put a proposal's
 * commands and its state on different partitions (different owners): refused with what to do.
 */
export async function ensureApprovalTopics(
  config: RdKafkaConfig,
  o: { commandsTopic: string; proposalsTopic: string; partitions: number; replicationFactor: number },
): Promise<number> {
  const admin = AdminClient.create(config as never);
  try {
    const create = (topic: string, policy: 'delete' | 'compact') =>
      promisify<void>((cb) =>
        admin.createTopic(
          {
            topic,
            num_partitions: o.partitions,
            replication_factor: o.replicationFactor,
            config: { 'cleanup.policy': policy },
          },
          30_000,
          (err) => cb(err && err.code !== TOPIC_ALREADY_EXISTS ? err : null, undefined),
        ),
      );
    await create(o.commandsTopic, 'delete');
    await create(o.proposalsTopic, 'compact');
  } finally {
    admin.disconnect();
  }
  const counts = await partitionCounts(config, [o.commandsTopic, o.proposalsTopic]);
  const c = counts.get(o.commandsTopic) ?? 0;
  const p = counts.get(o.proposalsTopic) ?? 0;
  if (c === 0 || p === 0)
    throw new KubetriageError(
      'CONFIG_INVALID',
      `exec: topic ${c === 0 ? o.commandsTopic : o.proposalsTopic} has no partitions (it could not be created or read)`,
    );
  if (c !== p)
    throw new KubetriageError(
      'CONFIG_INVALID',
      `exec: ${o.commandsTopic} has ${c} partitions but ${o.proposalsTopic} has ${p}: they must be co-partitioned (same count), or a proposal's commands reach a replica that does not hold its state. Add partitions to the smaller one (kafka-topics --alter --partitions ${Math.max(c, p)}), or use new topic names`,
    );
  return c;
}

export interface RestoredPartitions {
  /** The latest valid chain of each proposal found. */
  chains: Map<string, AuditEntry[]>;
  records: number;
  /** Records skipped (foreign, malformed, a broken chain), each with where and why. */
  skipped: {
    partition: number;
    offset: number;
    reason: Exclude<DecodedProposalRecord, { ok: true }>['reason'];
    detail: string;
  }[];
}

/**
 * Reads the given partitions of the proposals topic from their start up to their end offsets at the
 * time of the call (a throwaway consumer, no group), keeping each proposal's latest valid chain.
 */
export async function readProposalPartitions(
  config: RdKafkaConfig,
  topic: string,
  partitions: readonly number[],
  timeoutMs: number,
): Promise<RestoredPartitions> {
  const out: RestoredPartitions = { chains: new Map(), records: 0, skipped: [] };
  if (partitions.length === 0) return out;
  const consumer = new KafkaConsumer(
    {
      ...config,
      'group.id': `kubetriage-proposals-restore-${process.pid}`,
      'enable.auto.commit': false,
    } as never,
    {},
  );
  await promisify<unknown>((cb) => consumer.connect({ timeout: 30_000 } as never, cb as never));
  try {
    const ends = new Map<number, number>();
    const assignment: { topic: string; partition: number; offset: number }[] = [];
    for (const partition of partitions) {
      const w = await promisify<{ lowOffset: number; highOffset: number }>((cb) =>
        consumer.queryWatermarkOffsets(topic, partition, 10_000, cb as never),
      );
      if (w.highOffset > w.lowOffset) {
        ends.set(partition, w.highOffset);
        assignment.push({ topic, partition, offset: w.lowOffset });
      }
    }
    if (assignment.length === 0) return out;
    consumer.assign(assignment);
    consumer.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + timeoutMs;
    while (ends.size > 0) {
      if (Date.now() > deadline)
        throw new Error(`timed out reading back partitions ${[...ends.keys()].join(',')} of ${topic}`);
      const msgs = await promisify<kafka.Message[]>((cb) => consumer.consume(1000, cb as never));
      for (const m of msgs) {
        const end = ends.get(m.partition);
        if (end === undefined || m.offset >= end) continue;
        if (m.offset + 1 >= end) ends.delete(m.partition);
        out.records++;
        const d = decodeProposalRecord((m.key ?? null) as Buffer | string | null, m.value ?? null);
        if (!d.ok) {
          out.skipped.push({ partition: m.partition, offset: m.offset, reason: d.reason, detail: d.detail });
          continue;
        }
        // Later records of a proposal extend earlier ones: the last valid one is its state.
        out.chains.set(d.record.proposal, d.record.entries);
      }
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** Every record of the proposals topic up to its end offsets now (`kubetriage audit verify --kafka`). */
export async function readAllProposalRecords(
  config: RdKafkaConfig,
  topic: string,
  timeoutMs = 60_000,
): Promise<RawTopicRecord[]> {
  const consumer = new KafkaConsumer(
    { ...config, 'group.id': `kubetriage-audit-verify-${process.pid}`, 'enable.auto.commit': false } as never,
    {},
  );
  await promisify<unknown>((cb) => consumer.connect({ timeout: 30_000 } as never, cb as never));
  const out: RawTopicRecord[] = [];
  try {
    const meta = await promisify<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) =>
      consumer.getMetadata({ topic, timeout: 30_000 } as never, cb as never),
    );
    const t = meta.topics.find((x) => x.name === topic);
    if (!t || t.partitions.length === 0) throw new Error(`topic ${topic} not found`);
    const ends = new Map<number, number>();
    const assignment: { topic: string; partition: number; offset: number }[] = [];
    for (const p of t.partitions) {
      const w = await promisify<{ lowOffset: number; highOffset: number }>((cb) =>
        consumer.queryWatermarkOffsets(topic, p.id, 10_000, cb as never),
      );
      if (w.highOffset > w.lowOffset) {
        ends.set(p.id, w.highOffset);
        assignment.push({ topic, partition: p.id, offset: w.lowOffset });
      }
    }
    if (assignment.length === 0) return out;
    consumer.assign(assignment);
    consumer.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + timeoutMs;
    while (ends.size > 0) {
      if (Date.now() > deadline) throw new Error(`timed out reading ${topic}`);
      const msgs = await promisify<kafka.Message[]>((cb) => consumer.consume(1000, cb as never));
      for (const m of msgs) {
        const end = ends.get(m.partition);
        if (end === undefined || m.offset >= end) continue;
        if (m.offset + 1 >= end) ends.delete(m.partition);
        out.push({
          partition: m.partition,
          offset: m.offset,
          key: (m.key ?? null) as Buffer | string | null,
          value: m.value ?? null,
        });
      }
    }
    // Offset order per partition: a later record of a proposal must extend the earlier one.
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
