import kafka from '@confluentinc/kafka-javascript';
import type { RdKafkaConfig } from './client-config.ts';

const { HighLevelProducer } = kafka;

export interface OutRecord {
  topic: string;
  key: string | Buffer | null;
  value: Buffer;
  headers?: Record<string, string | Buffer>[];
  partition?: number;
}

/**
 * A producer whose `send` resolves only when the broker has acknowledged the record (acks=all), which
 * is what lets the consumer commit. librdkafka retries transient failures itself until its delivery
 * timeout; a record that still fails is retried here, never dropped, so at-least-once holds.
 */
export class AckedProducer {
  readonly #producer: InstanceType<typeof HighLevelProducer>;
  #inFlight = 0;
  #closed = false;
  onError: (err: Error, topic: string, attempt: number) => void = () => {};

  constructor(config: RdKafkaConfig) {
    this.#producer = new HighLevelProducer(config as never);
  }

  connect(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#producer.connect({ timeout: timeoutMs } as never, (err) => (err ? reject(err) : resolve()));
      this.#producer.setPollInterval(20);
    });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  send(rec: OutRecord): Promise<number> {
    this.#inFlight++;
    return this.#attempt(rec, 1).finally(() => this.#inFlight--);
  }

  async #attempt(rec: OutRecord, attempt: number): Promise<number> {
    for (;;) {
      try {
        return await new Promise<number>((resolve, reject) => {
          this.#producer.produce(
            rec.topic,
            rec.partition ?? null,
            rec.value,
            rec.key,
            Date.now(),
            (rec.headers ?? []) as never,
            (err: Error | null, offset?: number | null) => (err ? reject(err) : resolve(offset ?? -1)),
          );
        });
      } catch (err) {
        if (this.#closed) throw err;
        this.onError(err as Error, rec.topic, attempt);
        await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** Math.min(attempt, 7))));
        attempt++;
      }
    }
  }

  flush(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#producer.flush(timeoutMs, (err) => (err ? reject(err) : resolve())),
    );
  }

  async disconnect(): Promise<void> {
    this.#closed = true;
    await this.flush().catch(() => {});
    await new Promise<void>((resolve) => this.#producer.disconnect(() => resolve()));
  }
}
