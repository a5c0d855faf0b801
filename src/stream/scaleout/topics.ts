// Creates the signals and changelog topics when they are missing, with the same partition count (the
// changelog is co-partitioned: changelog partition n holds the state of signals partition n), and
// refuses to start when existing ones disagree.
import kafka from '@confluentinc/kafka-javascript';
import type { Config } from '../../core/config.ts';
import { KubetriageError } from '../../core/errors.ts';
import type { RdKafkaConfig } from '../kafka/client-config.ts';

const { AdminClient, KafkaConsumer } = kafka;

const TOPIC_ALREADY_EXISTS = 36;

/** Returns the partition count of both topics. */
export async function ensureScaleOutTopics(client: RdKafkaConfig, cfg: Config['scaleOut']): Promise<number> {
  const admin = AdminClient.create({ ...client, log_level: 3 } as never);
  const create = (topic: string, config: Record<string, string>) =>
    new Promise<void>((resolve, reject) =>
      admin.createTopic(
        // -1: the broker's default.replication.factor.
        { topic, num_partitions: cfg.partitions, replication_factor: -1, config },
        30_000,
        (err) => (err && err.code !== TOPIC_ALREADY_EXISTS ? reject(err) : resolve()),
      ),
    );
  try {
    await create(cfg.topics.signals, { 'retention.ms': String(cfg.signalsRetentionMs) });
    await create(cfg.topics.changelog, { 'cleanup.policy': 'compact' });
  } finally {
    admin.disconnect();
  }
  // A topic created a moment ago may show no partitions in metadata yet.
  let [s, c] = [0, 0];
  for (let tries = 0; tries < 50 && (s === 0 || c === 0); tries++) {
    if (tries > 0) await new Promise((r) => setTimeout(r, 200));
    const counts = await partitionCounts(client, [cfg.topics.signals, cfg.topics.changelog]);
    [s, c] = [counts.get(cfg.topics.signals) ?? 0, counts.get(cfg.topics.changelog) ?? 0];
  }
  if (s !== c)
    throw new KubetriageError(
      'KAFKA_FATAL',
      `${cfg.topics.signals} has ${s} partitions but ${cfg.topics.changelog} has ${c}: the changelog must be co-partitioned with the signals topic`,
    );
  if (s === 0)
    throw new KubetriageError(
      'KAFKA_FATAL',
      `${cfg.topics.signals} shows no partitions in the broker's metadata`,
    );
  return s;
}

async function partitionCounts(client: RdKafkaConfig, topics: string[]): Promise<Map<string, number>> {
  const c = new KafkaConsumer({ ...client, 'group.id': `kubetriage-meta-${process.pid}` } as never, {});
  await new Promise<void>((resolve, reject) =>
    c.connect({ timeout: 30_000 } as never, (err) => (err ? reject(err) : resolve())),
  );
  try {
    const out = new Map<string, number>();
    for (const topic of topics) {
      const meta = await new Promise<{ topics: { name: string; partitions: unknown[] }[] }>(
        (resolve, reject) =>
          c.getMetadata({ topic, timeout: 30_000 } as never, (err, m) =>
            err ? reject(err) : resolve(m as never),
          ),
      );
      out.set(topic, meta.topics.find((t) => t.name === topic)?.partitions.length ?? 0);
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}
