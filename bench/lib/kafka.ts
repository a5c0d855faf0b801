// Kafka for benchmarks: the cluster in KAFKA_BROKERS, or a real single-node broker started for the run.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafka from '@confluentinc/kafka-javascript';
import { stringify } from 'yaml';
import { startKafkaBroker } from '../../test/harness/kafka-broker.ts';
import { unique } from '../../test/helpers/kafka.ts';

export async function withBroker<T>(
  log: (l: string) => void,
  fn: (brokers: string) => Promise<T>,
): Promise<T> {
  if (process.env.KAFKA_BROKERS) return fn(process.env.KAFKA_BROKERS);
  log('starting a Kafka broker for the end-to-end benchmark');
  const broker = await startKafkaBroker({ log: (l) => log(l) });
  const prev = process.env.KAFKA_BROKERS;
  process.env.KAFKA_BROKERS = broker.brokers;
  try {
    return await fn(broker.brokers);
  } finally {
    // Assigning undefined would leave the string "undefined" in the environment.
    if (prev === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = prev;
    await broker.stop();
  }
}

/**
 * A consumer group's committed offsets, read from the broker through one client kept open for the
 * whole drain. It never subscribes, so it does not join the group. The benches poll it instead of
 * the measured process's /metrics: a Prometheus scrape costs `kubetriage run` 2–5 ms of CPU, and
 * scraping every 20 ms charged it 0.45 of 1.89 CPU-s per 150k-record drain (medians of 5 interleaved
 * drains each way, 2026-12-06; a second set of 6: 1.75 vs 1.20; `node bench/run-ab.ts <dir>
 * scrape20:<dir>`), a quarter of what the bench attributed to it. A fresh client per
 * check (test/helpers/kafka.ts committedOffsets) costs a connect per poll, which is why the bench used
 * to look at the broker only after /metrics said every record was in.
 */
export class CommitWatch {
  readonly #consumer: InstanceType<typeof kafka.KafkaConsumer>;
  readonly #tps: { topic: string; partition: number }[];

  private constructor(consumer: InstanceType<typeof kafka.KafkaConsumer>, topic: string, partitions: number) {
    this.#consumer = consumer;
    this.#tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
  }

  static async open(brokers: string, group: string, topic: string, partitions: number): Promise<CommitWatch> {
    const consumer = new kafka.KafkaConsumer(
      { 'bootstrap.servers': brokers, 'group.id': group, 'enable.auto.commit': false, log_level: 3 } as never,
      {},
    );
    await new Promise<void>((resolve, reject) =>
      consumer.connect({}, (err) => (err ? reject(err) : resolve())),
    );
    return new CommitWatch(consumer, topic, partitions);
  }

  /** Every partition's committed offset at (or past) its end offset in `ends`; errors count as "not yet". */
  async allAt(ends: ReadonlyMap<number, number>): Promise<boolean> {
    const committed = await new Promise<{ partition: number; offset: number }[]>((resolve) =>
      this.#consumer.committed(this.#tps, 5000, (err, r) => resolve(err ? [] : (r as never))),
    );
    const by = new Map(committed.map((c) => [c.partition, c.offset]));
    return [...ends].every(([p, end]) => (by.get(p) ?? -1) >= end);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#consumer.disconnect(() => resolve()));
  }
}

/**
 * The config of a `kubetriage run` that drains `topic` from its start as a fresh group (the end-to-end
 * benches' common case: errors-only logs, 1 s group wait, no restore, 2000-record consume batches),
 * written into `dir`. Returns its path and the group id.
 */
export function writeDrainConfig(
  dir: string,
  brokers: string,
  topic: string,
  prefix: string,
): { config: string; group: string } {
  const group = unique(prefix);
  const config = join(dir, `${group}.yaml`);
  writeFileSync(
    config,
    stringify({
      log: { level: 'error' },
      grouping: { groupWait: '1s', groupInterval: '1s', restore: false },
      kafka: {
        brokers: brokers.split(','),
        groupId: group,
        initialOffset: 'earliest',
        topics: { logs: [topic], contexts: unique(`${prefix}-contexts`) },
        batchSize: 2000,
      },
    }),
  );
  return { config, group };
}
