import kafka from '@confluentinc/kafka-javascript';
import type { TopicPartitionOffset } from '../offsets.ts';
import type { RdKafkaConfig } from './client-config.ts';

const { KafkaConsumer, CODES } = kafka;

export interface InRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>[];
  size: number;
}

export interface RebalanceHandlers {
  /** Called before partitions are given up; resolve once everything derived is durable and committed. */
  onRevoke(partitions: { topic: string; partition: number }[]): Promise<void>;
  onAssign(partitions: { topic: string; partition: number }[]): void;
}

/**
 * A consumer-group member with manual commits. Offsets are committed only when the caller says they
 * are safe (see offsets.ts); auto-commit and auto offset store are off. Rebalances are eager: on
 * revoke the caller drains and commits before the partitions are released.
 */
export class GroupConsumer {
  readonly #consumer: InstanceType<typeof KafkaConsumer>;
  readonly #handlers: RebalanceHandlers;
  #rebalance: Promise<void> = Promise.resolve();
  #assignment: { topic: string; partition: number }[] = [];
  onError: (err: Error) => void = () => {};

  constructor(
    config: RdKafkaConfig,
    opts: { groupId: string; initialOffset: 'earliest' | 'latest' },
    handlers: RebalanceHandlers,
  ) {
    this.#handlers = handlers;
    this.#consumer = new KafkaConsumer(
      {
        ...config,
        'group.id': opts.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'partition.assignment.strategy': 'range,roundrobin',
        rebalance_cb: (err: { code: number }, assignment: { topic: string; partition: number }[]) => {
          this.#rebalance = this.#rebalance.then(() => this.#onRebalance(err, assignment));
        },
      } as never,
      // A topic-level property: librdkafka ignores it in the global config of this binding.
      { 'auto.offset.reset': opts.initialOffset },
    );
    this.#consumer.on('event.error', (err) => this.onError(err as unknown as Error));
    if (process.env.KT_DEBUG_KAFKA)
      this.#consumer.on('event.log', (l) => console.error('rdkafka', JSON.stringify(l)));
  }

  async #onRebalance(
    err: { code: number },
    assignment: { topic: string; partition: number }[],
  ): Promise<void> {
    try {
      if (err.code === CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
        this.#consumer.assign(assignment);
        this.#assignment = assignment.map((a) => ({ topic: a.topic, partition: a.partition }));
        this.#handlers.onAssign(this.#assignment);
      } else {
        try {
          await this.#handlers.onRevoke(this.#assignment);
        } finally {
          this.#assignment = [];
          this.#consumer.unassign();
        }
      }
    } catch (e) {
      this.onError(e as Error);
    }
  }

  get assignment(): readonly { topic: string; partition: number }[] {
    return this.#assignment;
  }

  connect(topics: string[], timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#consumer.connect({ timeout: timeoutMs } as never, (err) => {
        if (err) return reject(err);
        this.#consumer.setDefaultConsumeTimeout(200);
        // Wait for the first record only, then take what is already fetched: otherwise a steady
        // trickle keeps one consume call open until the batch fills, and latency grows to seconds.
        (
          this.#consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
        ).setDefaultIsTimeoutOnlyForFirstMessage(true);
        this.#consumer.subscribe(topics);
        resolve();
      });
    });
  }

  /** Up to `max` records; waits at most the consume timeout when none are ready. */
  async consume(max: number): Promise<InRecord[]> {
    // Never fetch while a rebalance is being handled: revoked partitions must be drained first.
    await this.#rebalance;
    return new Promise((resolve, reject) => {
      this.#consumer.consume(max, (err, messages) => {
        if (err) return reject(err);
        resolve(messages as unknown as InRecord[]);
      });
    });
  }

  /** Waits for a rebalance in progress (so a revoke's drain finishes before shutdown continues). */
  settled(): Promise<void> {
    return this.#rebalance;
  }

  commit(offsets: readonly TopicPartitionOffset[]): void {
    if (offsets.length === 0) return;
    this.#consumer.commitSync(
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
    );
  }

  /** High watermark per partition as last seen by the fetcher (no broker round trip). */
  highWatermark(topic: string, partition: number): number | undefined {
    try {
      const w = this.#consumer.getWatermarkOffsets(topic, partition);
      return w.highOffset >= 0 ? w.highOffset : undefined;
    } catch {
      return undefined;
    }
  }

  disconnect(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#consumer.disconnect(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
