// What the ingest and owner halves of scale-out share: a consumer-group member that processes records,
// tracks what each depends on in an offset ledger, and commits only offsets whose outputs the broker
// has acknowledged (every commitInterval, on revoke and on stop).
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { settledWithin } from '../../core/settle.ts';
import { consumerConfig } from '../kafka/client-config.ts';
import { GroupConsumer, type InRecord } from '../kafka/consumer.ts';
import { OffsetLedger } from '../offsets.ts';

/** librdkafka's RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART. */
const UNKNOWN_TOPIC_OR_PARTITION = 3;

export abstract class GroupSide {
  readonly ledger = new OffsetLedger();
  protected readonly cfg: Config;
  protected readonly log: Logger;
  protected readonly consumer: GroupConsumer;
  readonly #topics: string[];
  #running = false;
  #polling = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #lastCommitAt = 0;
  #commitInFlight: Promise<boolean> | undefined;
  lastLoopAt = 0;
  commitFailingSince: number | undefined;
  draining = false;

  constructor(opts: {
    config: Config;
    log: Logger;
    groupId: string;
    topics: string[];
    env?: NodeJS.ProcessEnv;
  }) {
    this.cfg = opts.config;
    this.log = opts.log;
    this.#topics = opts.topics;
    this.consumer = new GroupConsumer(
      consumerConfig(opts.config.kafka, opts.env),
      { groupId: opts.groupId, initialOffset: opts.config.kafka.initialOffset },
      {
        onAssign: (parts) => {
          this.log.info({ partitions: parts }, 'partitions assigned');
          this.assigned(parts.map((p) => p.partition));
        },
        onRevoke: async (parts, lost) => {
          if (!this.#stopping) {
            this.log.info({ partitions: parts, lost }, 'partitions revoked: draining');
            const complete = await this.drain(lost ? 5000 : 30_000, lost);
            this.revoked(complete);
          } else this.revoked(false);
          this.ledger.forgetAll();
        },
      },
    );
    this.consumer.onError = (err) => this.log.warn({ err: err.message }, 'kafka consumer error');
    this.consumer.onCommitted = (offsets) => this.ledger.markCommitted(offsets);
  }

  /** Processes one record (the ledger's `processed` is the caller's). May await (an owner's restore). */
  protected abstract handle(rec: InRecord): void | Promise<void>;
  /** Everything derived and pending is sent now (revoke, stop). */
  protected abstract flush(): void;
  /** Timers: called every loop turn and every second. */
  abstract tick(): void;
  /** After each consumed batch (what it derived may go out together). */
  protected endBatch(): void {}
  protected assigned(_partitions: number[]): void {}
  /** After a revoke; `complete`: everything derived was acknowledged and committed. */
  protected revoked(_complete: boolean): void {}

  async start(): Promise<void> {
    await this.consumer.connect(this.#topics);
    this.#running = true;
    this.#polling = true;
    this.lastLoopAt = Date.now();
    this.#loop = this.#run();
  }

  get running(): boolean {
    return this.#running;
  }

  /** The partitions the group assigned this member now (empty while it waits for an assignment). */
  get assignedPartitions(): number[] {
    return this.consumer.assignment.map((a) => a.partition);
  }

  async #run(): Promise<void> {
    while (this.#polling) {
      let records: InRecord[];
      try {
        records = await this.consumer.consume(this.cfg.kafka.batchSize);
      } catch (err) {
        const e = err as Error & { code?: number };
        if (e.code !== UNKNOWN_TOPIC_OR_PARTITION) {
          this.log.warn({ err: e.message }, 'consume failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
        }
        continue;
      }
      this.lastLoopAt = Date.now();
      let sliceStart = performance.now();
      for (const rec of records) {
        // Records fetched during a revoke or stop stay uncommitted: whoever owns them next re-reads them.
        if (!this.#running || this.consumer.revoking) break;
        try {
          // Most records are handled synchronously: no await (and no microtask turn) for them.
          const pending = this.handle(rec);
          if (pending) await pending;
        } catch (err) {
          // A bug, not bad input (that is dead-lettered or counted as malformed): reported with where it
          // happened, and the loop goes on (stopping here would wedge the partition on the same record).
          this.log.error(
            {
              err: (err as Error).stack ?? String(err),
              stage: this.constructor.name,
              topic: rec.topic,
              partition: rec.partition,
              offset: rec.offset,
            },
            'internal error handling a record: a bug, please report it',
          );
        }
        if (performance.now() - sliceStart > 10) {
          await new Promise<void>((r) => setImmediate(r));
          sliceStart = performance.now();
        }
      }
      this.endBatch();
      if (this.#running && !this.consumer.revoking) {
        this.tick();
        this.#maybeCommit();
      }
    }
  }

  #maybeCommit(): void {
    const now = Date.now();
    if (this.#commitInFlight || now - this.#lastCommitAt < this.cfg.kafka.commitInterval) return;
    this.#lastCommitAt = now;
    void this.commit();
  }

  /** Commits what the ledger says is safe; true when nothing committable is left uncommitted. */
  async commit(timeoutMs = this.cfg.kafka.commitTimeout): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.#commitInFlight)
      if (!(await settledWithin(this.#commitInFlight, until - Date.now()))) return false;
    const offsets = this.ledger.committable();
    if (offsets.length === 0) return true;
    const attempt = (async () => {
      try {
        await this.consumer.commit(offsets, Math.max(1, until - Date.now()));
        this.ledger.markCommitted(offsets);
        this.commitFailingSince = undefined;
        return true;
      } catch (err) {
        this.commitFailingSince ??= Date.now();
        this.log.warn({ err: (err as Error).message }, 'offset commit failed; will retry');
        return false;
      } finally {
        this.#commitInFlight = undefined;
      }
    })();
    this.#commitInFlight = attempt;
    return attempt;
  }

  /**
   * Flushes, waits for acknowledgements, then commits: only what was acknowledged (the ledger holds the
   * rest back), also when the wait times out. Lost partitions are not committed (the group moved on).
   */
  async drain(timeoutMs: number, lost: boolean): Promise<boolean> {
    this.draining = true;
    try {
      this.flush();
      const deadline = Date.now() + timeoutMs;
      while (this.ledger.liveHolds > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const acked = this.ledger.liveHolds === 0;
      if (!acked)
        this.log.error(
          { pending: this.ledger.liveHolds },
          'drain timed out; unacknowledged records will be re-read',
        );
      if (lost) return false;
      for (;;) {
        if (await this.commit(Math.max(1000, Math.min(this.cfg.kafka.commitTimeout, deadline - Date.now()))))
          return acked;
        if (Date.now() + 500 >= deadline) return false;
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Stops processing, drains and commits within `ms`, leaves the group. */
  async stop(ms: number): Promise<boolean> {
    if (!this.#running) return true;
    const deadline = Date.now() + ms;
    this.#stopping = true;
    this.#running = false;
    this.consumer.pauseAll();
    await settledWithin(this.consumer.settled(), Math.max(0, (deadline - Date.now()) / 2));
    const complete = await this.drain(Math.max(0, deadline - Date.now() - 3000), false);
    this.#polling = false;
    await settledWithin(this.#loop ?? Promise.resolve(), 2000);
    if (this.consumer.brokersDownSince === undefined)
      await settledWithin(this.consumer.disconnect(), Math.max(0, deadline - Date.now()));
    return complete;
  }
}
