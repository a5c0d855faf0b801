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
  /**
   * Called before partitions are given up; resolve once everything derived is durable and committed.
   * `lost`: the group already gave them to someone else (this member's session expired, e.g. through a
   * broker outage): a commit can only be refused, so none is attempted.
   */
  onRevoke(partitions: { topic: string; partition: number }[], lost: boolean): Promise<void>;
  onAssign(partitions: { topic: string; partition: number }[]): void;
}

/** librdkafka's reason when every broker connection is down (its error code does not reach JS). */
const ALL_BROKERS_DOWN = /all broker connections are down/i;

/** An offset commit the broker refused, or left unanswered within the commit timeout. */
export class CommitError extends Error {
  readonly timedOut: boolean;
  constructor(message: string, timedOut: boolean) {
    super(message);
    this.name = 'CommitError';
    this.timedOut = timedOut;
  }
}

interface PendingCommit {
  key: string;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type CommitResult = { topic: string; partition: number; offset: number; error?: { message?: string } };

const commitKey = (offsets: readonly { topic: string; partition: number; offset: number }[]): string =>
  offsets
    .map((o) => `${o.topic}\u0000${o.partition}\u0000${o.offset}`)
    .sort()
    .join('\u0001');

/**
 * A consumer-group member with manual commits. Offsets are committed only when the caller says they
 * are safe (see offsets.ts); auto-commit and auto offset store are off. Rebalances are eager: on
 * revoke the caller drains and commits before the partitions are released.
 *
 * Nothing here blocks the event loop: commits are librdkafka's asynchronous commits whose answer
 * (offset_commit_cb) arrives through consume calls, so the caller keeps polling while it waits; the
 * synchronous commit froze the process for as long as the broker was away (issue 14, defect 3c).
 */
export class GroupConsumer {
  readonly #consumer: InstanceType<typeof KafkaConsumer>;
  readonly #handlers: RebalanceHandlers;
  #rebalance: Promise<void> = Promise.resolve();
  #assignment: { topic: string; partition: number }[] = [];
  #revoking = false;
  #awaitingAssignmentSince: number | undefined;
  #brokersDownSince: number | undefined;
  #pendingCommit: PendingCommit | undefined;
  #probeTopic = '';
  onError: (err: Error) => void = () => {};
  /** Every offset the broker acknowledged, late answers to timed-out commits included. */
  onCommitted: (offsets: TopicPartitionOffset[]) => void = () => {};
  /** Every change of broker reachability as this consumer sees it. */
  onBrokersReachable: (reachable: boolean) => void = () => {};

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
        offset_commit_cb: true,
        rebalance_cb: (err: { code: number }, assignment: { topic: string; partition: number }[]) => {
          // Records fetched from here until the revoke is handled are left for a re-read.
          if (err.code !== CODES.ERRORS.ERR__ASSIGN_PARTITIONS) this.#revoking = true;
          this.#rebalance = this.#rebalance.then(() => this.#onRebalance(err, assignment));
        },
      } as never,
      // A topic-level property: librdkafka ignores it in the global config of this binding.
      { 'auto.offset.reset': opts.initialOffset },
    );
    this.#consumer.on('event.error', (err) => {
      if (ALL_BROKERS_DOWN.test((err as unknown as Error).message ?? '')) this.#brokersDown();
      this.onError(err as unknown as Error);
    });
    this.#consumer.on('offset.commit', (err, offsets) =>
      this.#onCommitResult(err as unknown as Error | null, offsets as unknown as CommitResult[]),
    );
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
        // An assignment (even an empty one: more members than partitions) means the group works.
        this.#awaitingAssignmentSince = undefined;
        this.#brokersUp();
        this.#handlers.onAssign(this.#assignment);
      } else {
        try {
          await this.#handlers.onRevoke(this.#assignment, this.#assignmentLost());
        } finally {
          this.#assignment = [];
          this.#awaitingAssignmentSince ??= Date.now();
          this.#revoking = false;
          this.#consumer.unassign();
        }
      }
    } catch (e) {
      this.onError(e as Error);
    }
  }

  #assignmentLost(): boolean {
    try {
      return (this.#consumer as unknown as { assignmentLost(): boolean }).assignmentLost();
    } catch {
      return false;
    }
  }

  get assignment(): readonly { topic: string; partition: number }[] {
    return this.#assignment;
  }

  /** True from a revoke until its partitions are let go: records fetched meanwhile must not be processed. */
  get revoking(): boolean {
    return this.#revoking;
  }

  /** Since when this member has been waiting for partitions (after joining or a revoke); undefined once assigned. */
  get awaitingAssignmentSince(): number | undefined {
    return this.#awaitingAssignmentSince;
  }

  /** Since when every broker connection has been down; undefined while the cluster answers. */
  get brokersDownSince(): number | undefined {
    return this.#brokersDownSince;
  }

  #brokersDown(): void {
    if (this.#brokersDownSince !== undefined) return;
    this.#brokersDownSince = Date.now();
    this.onBrokersReachable(false);
  }

  #brokersUp(): void {
    if (this.#brokersDownSince === undefined) return;
    this.#brokersDownSince = undefined;
    this.onBrokersReachable(true);
  }

  /**
   * Asks a broker for the metadata of one topic (a librdkafka worker thread, not the event loop):
   * librdkafka says when all brokers are down but not when they are back, so the caller probes.
   */
  probe(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      try {
        this.#consumer.getMetadata({ topic: this.#probeTopic, timeout: timeoutMs } as never, (err) => {
          if (!err) this.#brokersUp();
          resolve(!err);
        });
      } catch {
        resolve(false);
      }
    });
  }

  /**
   * Commits explicit offsets and resolves once the group coordinator has acknowledged them; rejects
   * with CommitError when it refuses or does not answer within `timeoutMs` (an answer arriving later
   * still reaches onCommitted). One commit at a time; the answer comes through consume calls.
   */
  commit(offsets: readonly TopicPartitionOffset[], timeoutMs: number): Promise<void> {
    if (offsets.length === 0) return Promise.resolve();
    if (this.#pendingCommit) return Promise.reject(new CommitError('a commit is already in flight', false));
    const list = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }));
    const key = commitKey(list);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pendingCommit?.key === key) this.#pendingCommit = undefined;
        reject(new CommitError(`offset commit not answered within ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.#pendingCommit = { key, resolve, reject, timer };
      try {
        this.#consumer.commit(list);
      } catch (err) {
        clearTimeout(timer);
        this.#pendingCommit = undefined;
        reject(new CommitError(`offset commit refused: ${(err as Error).message}`, false));
      }
    });
  }

  #onCommitResult(err: Error | null, results: CommitResult[] | undefined): void {
    const list = results ?? [];
    const acked = err ? [] : list.filter((r) => !r.error);
    if (acked.length > 0) {
      this.#brokersUp();
      this.onCommitted(acked.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset })));
    }
    const pending = this.#pendingCommit;
    // One commit in flight at a time, so an answer without offsets can only be about it.
    if (!pending || (list.length > 0 && pending.key !== commitKey(list))) return;
    clearTimeout(pending.timer);
    this.#pendingCommit = undefined;
    const failure = err?.message ?? list.find((r) => r.error)?.error?.message;
    if (failure === undefined) pending.resolve();
    else pending.reject(new CommitError(`offset commit failed: ${failure}`, false));
  }

  /** Stops fetching the assigned partitions (shutdown): consume calls then only serve callbacks. */
  pauseAll(): void {
    try {
      if (this.#assignment.length > 0) this.#consumer.pause(this.#assignment);
    } catch {
      // Not connected any more: nothing is being fetched either.
    }
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
        this.#probeTopic = topics[0] ?? '';
        this.#awaitingAssignmentSince = Date.now();
        resolve();
      });
    });
  }

  /**
   * Up to `max` records; waits at most the consume timeout when none are ready. It keeps being called
   * while a revoke is drained (the commit's answer arrives through it): the caller leaves records
   * fetched meanwhile unprocessed (`revoking`), so they are re-read by whoever owns them next.
   */
  consume(max: number): Promise<InRecord[]> {
    return new Promise((resolve, reject) => {
      this.#consumer.consume(max, (err, messages) => {
        if (err) return reject(err);
        if (messages.length > 0) this.#brokersUp();
        resolve(messages as unknown as InRecord[]);
      });
    });
  }

  /** Waits for a rebalance in progress (so a revoke's drain finishes before shutdown continues). */
  settled(): Promise<void> {
    return this.#rebalance;
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

  /**
   * Leaves the group (librdkafka's consumer close, on a worker thread). It waits for the coordinator,
   * up to session.timeout.ms when the broker is away, and the process cannot exit meanwhile: call it
   * only while brokers answer.
   */
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
