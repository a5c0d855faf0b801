// Follows every partition of the owners' changelog from its start (compacted: one record per incident)
// and keeps reading as owners append, without a consumer group: every replica sees every owner's
// incidents (RemoteIncidents). A record that is not a changelog entry is counted and skipped.
import kafka from '@confluentinc/kafka-javascript';
import type { Logger } from '../../core/logger.ts';
import type { RdKafkaConfig } from '../kafka/client-config.ts';
import { decodeChangelog } from './changelog.ts';
import type { RemoteIncidents } from './remote-incidents.ts';

const { KafkaConsumer } = kafka;

/** librdkafka's logical offset: the partition's first record. */
const OFFSET_BEGINNING = -2;

function call<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export class ChangelogFollower {
  readonly stats = { records: 0, invalid: 0 };
  readonly #config: RdKafkaConfig;
  readonly #topic: string;
  readonly #view: RemoteIncidents;
  readonly #log: Logger;
  #consumer: InstanceType<typeof KafkaConsumer> | undefined;
  #loop: Promise<void> | undefined;
  #running = false;

  constructor(o: { config: RdKafkaConfig; topic: string; view: RemoteIncidents; log: Logger }) {
    this.#config = o.config;
    this.#topic = o.topic;
    this.#view = o.view;
    this.#log = o.log;
  }

  async start(partitions: number): Promise<void> {
    const c = new KafkaConsumer(
      {
        ...this.#config,
        'group.id': `kubetriage-changelog-${process.pid}`,
        'enable.auto.commit': false,
        'enable.partition.eof': false,
      } as never,
      {},
    );
    await call<unknown>((cb) => c.connect({ timeout: 30_000 } as never, cb as never));
    c.setDefaultConsumeTimeout(500);
    c.assign(
      Array.from({ length: partitions }, (_, partition) => ({
        topic: this.#topic,
        partition,
        offset: OFFSET_BEGINNING,
      })),
    );
    this.#consumer = c;
    this.#running = true;
    this.#loop = this.#run(c);
  }

  async #run(c: InstanceType<typeof KafkaConsumer>): Promise<void> {
    while (this.#running) {
      let msgs: kafka.Message[];
      try {
        msgs = await call<kafka.Message[]>((cb) => c.consume(500, cb as never));
      } catch (err) {
        this.#log.warn(
          { err: (err as Error).message, topic: this.#topic },
          'changelog read failed; retrying',
        );
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      for (const m of msgs) {
        this.stats.records++;
        const e = decodeChangelog(m.value ?? null);
        if (!e) {
          if (m.value) this.stats.invalid++;
          continue;
        }
        try {
          this.#view.apply(m.partition, e);
        } catch (err) {
          // A bug in linking must not stop the follower (or reject unhandled): reported, skipped.
          this.#log.error(
            { err: (err as Error).stack, incident: e.id },
            'internal error applying a changelog entry',
          );
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    const c = this.#consumer;
    this.#consumer = undefined;
    if (c) await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}
