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
 * Broker and librdkafka error codes that no retry can fix for this record: it is too large for the
 * client's message.max.bytes or the topic's max.message.bytes (10 MSG_SIZE_TOO_LARGE, 18
 * RECORD_LIST_TOO_LARGE), or the broker rejects its content (87 INVALID_RECORD).
 */
const PERMANENT_CODES = new Set([10, 18, 87]);

/** A record the broker will never accept as it is; the caller decides what to write instead. */
export class PermanentProduceError extends Error {
  readonly code: number;
  constructor(cause: Error & { code?: number }) {
    super(cause.message, { cause });
    this.name = 'PermanentProduceError';
    this.code = cause.code ?? -1;
  }
}

/**
 * A record given up because the caller no longer wants it re-sent (`send`'s `resend` said no): a newer
 * record replaced it (src/stream/scaleout/changelog-writer.ts).
 */
export class SupersededSendError extends Error {
  constructor(cause: Error) {
    super(`superseded after a failed delivery: ${cause.message}`, { cause });
    this.name = 'SupersededSendError';
  }
}

export function isPermanentProduceError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' && PERMANENT_CODES.has(code);
}

/**
 * A producer whose `send` resolves only when the broker has acknowledged the record (acks=all), which
 * is what lets the consumer commit. librdkafka retries transient failures itself until its delivery
 * timeout; a record that still fails is retried here, never dropped, so at-least-once holds. A
 * permanent failure (the record is too large for the topic) rejects with PermanentProduceError instead:
 * retrying it forever would hold its partition's commits forever.
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

  /**
   * `onRetry`: told of each failed attempt of this record, before `onError` and the wait to re-send it.
   * `resend`: asked after each failed attempt and again after the wait, just before re-sending; false
   * gives the record up (rejects with SupersededSendError).
   */
  send(
    rec: OutRecord,
    onRetry?: (err: Error, attempt: number) => void,
    resend?: () => boolean,
  ): Promise<number> {
    this.#inFlight++;
    return this.#attempt(rec, 1, onRetry, resend).finally(() => this.#inFlight--);
  }

  async #attempt(
    rec: OutRecord,
    attempt: number,
    onRetry?: (err: Error, attempt: number) => void,
    resend?: () => boolean,
  ): Promise<number> {
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
        if (isPermanentProduceError(err)) throw new PermanentProduceError(err as Error);
        if (resend && !resend()) throw new SupersededSendError(err as Error);
        onRetry?.(err as Error, attempt);
        this.onError(err as Error, rec.topic, attempt);
        await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** Math.min(attempt, 7))));
        if (resend && !resend()) throw new SupersededSendError(err as Error);
        attempt++;
      }
    }
  }

  flush(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#producer.flush(timeoutMs, (err) => (err ? reject(err) : resolve())),
    );
  }

  /**
   * Waits at most `timeoutMs` for what is queued, then disconnects (librdkafka's own close waits up to
   * 5 s more). Sends still retrying reject from now on; what was not delivered is simply not committed.
   */
  async disconnect(timeoutMs = 30_000): Promise<void> {
    this.#closed = true;
    await this.flush(Math.max(0, timeoutMs)).catch(() => {});
    await new Promise<void>((resolve) => this.#producer.disconnect(() => resolve()));
  }
}
