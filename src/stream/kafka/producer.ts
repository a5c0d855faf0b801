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
 * librdkafka's ERR__FATAL: an idempotent producer that hit an unrecoverable error (e.g. a sequence
 * error it cannot repair) refuses every produce from then on with this code (rd_kafka_check_produce,
 * deps/librdkafka/src/rdkafka_msg.c), which the library throws as LibrdKafkaError.create(-150)
 * (lib/producer.js produce → lib/client.js _errorWrap) and the HighLevelProducer hands to the delivery
 * callback. Records still queued when it happened fail with ERR__PURGE_QUEUE and reach it on their retry.
 */
const ERR__FATAL = kafka.CODES.ERRORS.ERR__FATAL;

export function isFatalProduceError(err: unknown): boolean {
  const e = err as { code?: unknown; isFatal?: unknown } | null | undefined;
  return e?.code === ERR__FATAL || e?.isFatal === true;
}

/** What AckedProducer uses of a librdkafka producer (HighLevelProducer). */
export interface ProducerClient {
  connect(opts: { timeout: number }, cb: (err: Error | null) => void): unknown;
  setPollInterval(ms: number): unknown;
  produce(
    topic: string,
    partition: number | null,
    value: Buffer,
    key: string | Buffer | null,
    timestamp: number,
    headers: unknown,
    cb: (err: Error | null, offset?: number | null) => void,
  ): unknown;
  flush(timeoutMs: number, cb: (err: Error | null) => void): unknown;
  /** Flushes for up to `timeoutMs`, then closes. */
  disconnect(timeoutMs: number, cb: () => void): unknown;
}

const newHighLevelProducer = (config: RdKafkaConfig): ProducerClient =>
  new HighLevelProducer(config as never) as unknown as ProducerClient;

/** How long a producer that hit a fatal error may finish what it has in flight before it is closed. */
const FATAL_DRAIN_MS = 10_000;

const backOff = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** Math.min(attempt, 7))));

/**
 * A producer whose `send` resolves only when the broker has acknowledged the record (acks=all), which
 * is what lets the consumer commit. librdkafka retries transient failures itself until its delivery
 * timeout; a record that still fails is retried here, never dropped, so at-least-once holds. A
 * permanent failure (the record is too large for the topic) rejects with PermanentProduceError instead:
 * retrying it forever would hold its partition's commits forever. A fatal error (the client refuses
 * everything from then on) replaces the client with a new one, once, and the records not acknowledged
 * go again on it.
 */
export class AckedProducer {
  readonly #config: RdKafkaConfig;
  readonly #create: (config: RdKafkaConfig) => ProducerClient;
  #producer: ProducerClient;
  /** Bumped at each rebuild: a fatal error seen on an older client does not rebuild again. */
  #generation = 0;
  /** While a rebuild runs: every send waits for the new client. */
  #rebuilding: Promise<void> | undefined;
  #connectTimeoutMs = 30_000;
  #inFlight = 0;
  #closed = false;
  /** Clients replaced after a fatal error. */
  rebuilds = 0;
  onError: (err: Error, topic: string, attempt: number) => void = () => {};
  /** A fatal error: the client is being replaced. */
  onRebuild: (err: Error) => void = () => {};
  /** The replacement client did not connect; it is tried again after a back-off. */
  onRebuildFailed: (err: Error, attempt: number) => void = () => {};

  /** `create`: the librdkafka client (a HighLevelProducer); tests wrap a real one. */
  constructor(
    config: RdKafkaConfig,
    create: (config: RdKafkaConfig) => ProducerClient = newHighLevelProducer,
  ) {
    this.#config = config;
    this.#create = create;
    this.#producer = create(config);
  }

  connect(timeoutMs = 30_000): Promise<void> {
    this.#connectTimeoutMs = timeoutMs;
    return connectClient(this.#producer, timeoutMs);
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
      if (this.#rebuilding) await this.#rebuilding;
      const producer = this.#producer;
      const generation = this.#generation;
      try {
        return await new Promise<number>((resolve, reject) => {
          producer.produce(
            rec.topic,
            rec.partition ?? null,
            rec.value,
            rec.key,
            Date.now(),
            rec.headers ?? [],
            (err: Error | null, offset?: number | null) => (err ? reject(err) : resolve(offset ?? -1)),
          );
        });
      } catch (err) {
        if (this.#closed) throw err;
        if (isPermanentProduceError(err)) throw new PermanentProduceError(err as Error);
        if (resend && !resend()) throw new SupersededSendError(err as Error);
        onRetry?.(err as Error, attempt);
        this.onError(err as Error, rec.topic, attempt);
        // A client in a fatal state refuses every record for good: the record goes again, at once, on a
        // new one. Anything else is librdkafka giving a record up (e.g. the broker away): back off.
        if (isFatalProduceError(err)) {
          await this.#rebuild(generation, err as Error);
          if (this.#closed) throw err;
        } else await backOff(attempt);
        if (resend && !resend()) throw new SupersededSendError(err as Error);
        attempt++;
      }
    }
  }

  /**
   * Replaces the client after a fatal error seen on client `generation` (once per client: the other
   * sends that saw it wait for the same rebuild). The old client first finishes what it has in flight
   * (its queue was purged; requests already sent complete) and closes, so nothing re-sent on the new
   * one can pass a record the old one still delivers. What it did not deliver fails there and is sent
   * again by its own `send`, which is what re-sends everything not acknowledged; nothing resolved
   * without an acknowledgement, so nothing was committed without one.
   */
  #rebuild(generation: number, err: Error): Promise<void> {
    if (generation !== this.#generation) return this.#rebuilding ?? Promise.resolve();
    this.#generation++;
    this.rebuilds++;
    this.onRebuild(err);
    const old = this.#producer;
    this.#rebuilding = (async () => {
      await closeClient(old, FATAL_DRAIN_MS);
      for (let attempt = 1; !this.#closed; attempt++) {
        const next = this.#create(this.#config);
        try {
          await connectClient(next, this.#connectTimeoutMs);
          this.#producer = next;
          return;
        } catch (e) {
          this.onRebuildFailed(e as Error, attempt);
          await closeClient(next, 0);
          await backOff(attempt);
        }
      }
    })().finally(() => {
      this.#rebuilding = undefined;
    });
    return this.#rebuilding;
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
    // A rebuild under way stops at its next step (the old client is already closing).
    await this.#rebuilding;
    await this.flush(Math.max(0, timeoutMs)).catch(() => {});
    await closeClient(this.#producer, 5000);
  }
}

function connectClient(client: ProducerClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: timeoutMs }, (err) => (err ? reject(err) : resolve()));
    client.setPollInterval(20);
  });
}

/** Flushes for up to `timeoutMs`, then closes; a client that is not connected (any more) is left as it is. */
function closeClient(client: ProducerClient, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      client.disconnect(timeoutMs, () => resolve());
    } catch {
      resolve();
    }
  });
}
