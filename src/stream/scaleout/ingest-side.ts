// Scale-out ingest: any replica. Consumes the input topics in the main consumer group, decodes and
// normalises, and produces what each consumed batch holds for a signals partition as one record to that
// partition (the partition each incident scope's key hashes to). An input offset is committed only once
// every signals record holding part of it is acknowledged. A signals partition has at most one record
// with the producer: one whose delivery fails is re-sent before any later one (src/stream/README.md,
// "A signals record whose delivery fails").
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import type { InRecord } from '../kafka/consumer.ts';
import { type AckedProducer, PermanentProduceError } from '../kafka/producer.ts';
import { Hold } from '../offsets.ts';
import type { RecordFailure } from '../pipeline.ts';
import { DLQ_HEADERS } from '../service.ts';
import type { WorkloadResolver } from '../workload.ts';
import { GroupSide } from './group-side.ts';
import { SignalSplitter } from './ingest.ts';
import type { ScaleOutMetrics } from './metrics.ts';

/**
 * A pending signals record is produced once it holds this many bytes, before the consumed batch ends:
 * well below the 1 MB a topic takes by default (max.message.bytes), and large enough that records
 * stay few (a 1,000-record input message adds about 3 KB per partition of 12).
 */
export const MAX_SIGNALS_RECORD_BYTES = 256 * 1024;

/** What a signals partition's pending record holds back: its input offsets, and the records for a dead letter. */
interface Pending {
  hold: Hold;
  records: InRecord[];
}

/**
 * Per signals partition, the record with the producer and those ready behind it, in order. The owner
 * skips a group at or below the last (offset, index) it absorbed from the group's input partition as a
 * re-delivery, so a record re-sent after a later one of its partition was acknowledged would be lost:
 * the next record goes to the producer only once the one before it is acknowledged (or refused).
 */
interface SendQueue {
  busy: boolean;
  ready: { value: Buffer; pending: Pending }[];
}

export class IngestSide extends GroupSide {
  readonly splitter: SignalSplitter;
  readonly #producer: AckedProducer;
  readonly #metrics: ScaleOutMetrics;
  #pending: (Pending | undefined)[] = [];
  #queues: SendQueue[] = [];

  constructor(opts: {
    config: Config;
    log: Logger;
    resolver: WorkloadResolver;
    producer: AckedProducer;
    metrics: ScaleOutMetrics;
    env?: NodeJS.ProcessEnv;
  }) {
    const t = opts.config.kafka.topics;
    super({
      config: opts.config,
      log: opts.log.child({ side: 'ingest' }),
      groupId: opts.config.kafka.groupId,
      topics: [...t.logs, ...t.metrics, ...t.traces],
      env: opts.env,
    });
    this.splitter = new SignalSplitter(opts.config, opts.resolver);
    this.#pending = new Array(this.splitter.partitions).fill(undefined);
    this.#queues = queues(this.splitter.partitions);
    this.#producer = opts.producer;
    this.#metrics = opts.metrics;
  }

  /** The signals topic's partition count, as found at start (before consuming). */
  set signalsPartitions(n: number) {
    this.splitter.partitions = n;
    this.#pending = new Array(n).fill(undefined);
    this.#queues = queues(n);
  }

  protected handle(rec: InRecord): void {
    const p = this.ledger.partition(rec.topic, rec.partition);
    const timestamp = rec.timestamp ?? Date.now();
    const failure = this.splitter.split(
      { topic: rec.topic, partition: rec.partition, offset: rec.offset, timestamp },
      rec.value,
    );
    if (failure) this.#deadLetter(rec, failure);
    else
      for (const sp of this.splitter.touched) {
        let pending = this.#pending[sp];
        if (pending && this.splitter.pendingBytes(sp) >= MAX_SIGNALS_RECORD_BYTES) {
          // This record's group took the pending record past the limit: what came before goes out
          // without it, so a group too large for the topic is refused (and dead-lettered) alone.
          this.#pending[sp] = undefined;
          this.#enqueue(sp, this.splitter.takeAllButLast(sp), pending);
          pending = undefined;
        }
        if (!pending) {
          pending = { hold: new Hold(), records: [] };
          this.#pending[sp] = pending;
        }
        pending.hold.add(p, rec.offset, timestamp);
        // Tracked from its first offset on (before `processed` below lets the ledger pass it).
        if (pending.records.length === 0) this.ledger.track(pending.hold);
        pending.records.push(rec);
        if (this.splitter.pendingBytes(sp) >= MAX_SIGNALS_RECORD_BYTES) this.#sendPending(sp);
      }
    this.ledger.processed(p, rec.offset);
  }

  /**
   * The end of a consumed batch: every pending signals record goes out, except where the partition's
   * previous record is not acknowledged yet: there it keeps growing and goes out when that one is.
   */
  protected override endBatch(): void {
    for (let sp = 0; sp < this.#pending.length; sp++)
      if (this.#pending[sp] && !this.#queues[sp]!.busy) this.#sendPending(sp);
  }

  #sendPending(partition: number): void {
    const pending = this.#pending[partition]!;
    this.#pending[partition] = undefined;
    const value = this.splitter.take(partition);
    if (value) this.#enqueue(partition, value, pending);
    else this.ledger.release(pending.hold);
  }

  #enqueue(partition: number, value: Buffer, pending: Pending): void {
    const q = this.#queues[partition]!;
    if (q.busy) q.ready.push({ value, pending });
    else this.#send(partition, value, pending);
  }

  /**
   * The partition's previous record is acknowledged or refused: the next ready one goes to the producer.
   * What is still pending waits for the end of the consumed batch (at least every consume timeout, 200
   * ms): sent at each acknowledgement instead, it made more and smaller records than one per batch.
   */
  #next(partition: number): void {
    const q = this.#queues[partition]!;
    q.busy = false;
    const next = q.ready.shift();
    if (next) this.#send(partition, next.value, next.pending);
  }

  #send(partition: number, value: Buffer, pending: Pending): void {
    const q = this.#queues[partition]!;
    q.busy = true;
    this.#metrics.signalBytes.inc(value.length);
    let failures = 0;
    const onRetry = (err: Error, attempt: number): void => {
      failures++;
      this.#metrics.signalSendFailures.inc();
      // Which input records wait on it: they stay uncommitted, and the partition's later records wait.
      this.log.warn(
        {
          event: 'signals_send_failed',
          err: err.message,
          code: (err as { code?: unknown }).code,
          partition,
          attempt,
          inputs: [...pending.hold.min].map(([p, offset]) => ({
            topic: p.topic,
            partition: p.partition,
            from: offset,
          })),
          waiting: q.ready.length,
        },
        'signals record not delivered; re-sending it before any later record of its partition',
      );
    };
    this.#producer
      .send({ topic: this.cfg.scaleOut.topics.signals, key: null, value, partition }, onRetry)
      .then(
        () => {
          this.#metrics.signalRecords.inc();
          this.ledger.release(pending.hold);
          if (failures > 0)
            this.log.info(
              { event: 'signals_send_recovered', partition, attempts: failures + 1, waiting: q.ready.length },
              'signals record delivered after failed attempts; its partition goes on in order',
            );
          this.#next(partition);
        },
        (err: Error) => {
          if (!(err instanceof PermanentProduceError)) {
            // The producer is closing: nothing behind it may go out before it (that would pass its groups
            // on the owner); all of them stay uncommitted and are re-read after a restart.
            this.log.error(
              { err: err.message, partition, waiting: q.ready.length },
              'signals produce abandoned at shutdown',
            );
            q.ready.length = 0;
            return;
          }
          // Larger than the topic takes (its max.message.bytes is below what this record grew to): every
          // input record it holds a part of is dead-lettered, as a record too large for the hop.
          for (const rec of pending.records)
            this.#deadLetter(rec, { code: 'SIGNALS_REFUSED', message: err.message, stage: 'decode' });
          this.ledger.release(pending.hold);
          this.#next(partition);
        },
      );
  }

  #deadLetter(rec: InRecord, f: RecordFailure): void {
    this.#metrics.deadLetters.inc({ code: f.code });
    if (f.internal) {
      this.#metrics.internalErrors.inc({ stage: f.stage });
      this.log.error(
        {
          topic: rec.topic,
          partition: rec.partition,
          offset: rec.offset,
          stage: f.stage,
          err: f.message,
          stack: f.internal.stack,
        },
        'internal error in the scale-out ingest (a bug); dead-lettering its record',
      );
    }
    this.log.warn(
      { topic: rec.topic, partition: rec.partition, offset: rec.offset, code: f.code, err: f.message },
      'dead-lettering record',
    );
    const hold = new Hold();
    hold.add(this.ledger.partition(rec.topic, rec.partition), rec.offset, rec.timestamp);
    this.ledger.track(hold);
    this.#producer
      .send({
        topic: this.cfg.kafka.topics.dlq,
        key: rec.key ?? null,
        value: rec.value ?? Buffer.alloc(0),
        headers: [
          ...(rec.headers ?? []),
          { [DLQ_HEADERS.topic]: rec.topic },
          { [DLQ_HEADERS.partition]: String(rec.partition) },
          { [DLQ_HEADERS.offset]: String(rec.offset) },
          { [DLQ_HEADERS.timestamp]: String(rec.timestamp ?? '') },
          { [DLQ_HEADERS.code]: f.code },
          { [DLQ_HEADERS.error]: f.message.slice(0, 1000) },
          { [DLQ_HEADERS.stage]: f.stage },
          { [DLQ_HEADERS.form]: 'full' },
        ],
      })
      .catch((err: Error) => {
        // Too large for the DLQ too: the record stays in its source topic at the offset logged here.
        if (err instanceof PermanentProduceError)
          this.log.error(
            { topic: rec.topic, partition: rec.partition, offset: rec.offset, err: err.message },
            'broker refused the dead letter',
          );
        else throw err;
      })
      .then(
        () => this.ledger.release(hold),
        (err: Error) => this.log.error({ err: err.message }, 'dead-letter produce abandoned at shutdown'),
      );
  }

  /** Revoke or stop: every pending record goes out, behind its partition's unacknowledged one. */
  protected flush(): void {
    for (let sp = 0; sp < this.#pending.length; sp++) if (this.#pending[sp]) this.#sendPending(sp);
  }

  tick(): void {}
}

const queues = (n: number): SendQueue[] => Array.from({ length: n }, () => ({ busy: false, ready: [] }));
