// `kubetriage run`: Kafka in, incident contexts out, with at-least-once delivery.
// Commit rule: an offset is committed only after every context and dead-letter record derived from
// the records before it has been acknowledged by the broker (offsets.ts). On revoke and on SIGTERM,
// everything pending is flushed, awaited and committed before partitions are let go.
import { createHash } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { counterFromStats, gaugeFrom, type StreamMetrics, streamMetrics } from '../core/metrics.ts';
import { settledWithin } from '../core/settle.ts';
import { wallClock } from './clock.ts';
import { seedDedup } from './dedup-restore.ts';
import { contextJson } from './incidents/context-json.ts';
import type { IncidentContextDoc } from './incidents/document.ts';
import type { Incident } from './incidents/incident.ts';
import { baseClientConfig, consumerConfig, reliableProducerConfig } from './kafka/client-config.ts';
import { CommitError, GroupConsumer, type InRecord } from './kafka/consumer.ts';
import { readLatestContexts } from './kafka/context-reader.ts';
import { AckedProducer, type OutRecord, PermanentProduceError } from './kafka/producer.ts';
import { Hold, OffsetLedger, type UncommittedRange } from './offsets.ts';
import { Pipeline, type RecordFailure } from './pipeline.ts';
import type { WorkloadResolver } from './workload.ts';

export interface StreamServiceOptions {
  config: Config;
  log: Logger;
  registry: Registry;
  resolver: WorkloadResolver;
  env?: NodeJS.ProcessEnv;
  /**
   * Called with each context once the broker has acknowledged it: where later stages (the agents)
   * attach without the stream stage importing them.
   */
  onContext?: (doc: IncidentContextDoc) => void;
  /**
   * Called once at start-up, before consuming, with the latest context of every open incident read
   * back from the contexts topic (grouping.restore): later stages catch up on what a crash cut short.
   */
  onRestored?: (docs: IncidentContextDoc[]) => Promise<void> | void;
}

/** Headers on every dead-letter record, next to the original record's own headers. */
export const DLQ_HEADERS = {
  topic: 'kubetriage.source.topic',
  partition: 'kubetriage.source.partition',
  offset: 'kubetriage.source.offset',
  timestamp: 'kubetriage.source.timestamp',
  code: 'kubetriage.error.code',
  error: 'kubetriage.error.message',
  stage: 'kubetriage.error.stage',
  /** `full` (the original bytes) or `truncated` (the broker refused the full copy). */
  form: 'kubetriage.dlq.form',
  /** On truncated copies: the original value's size and SHA-256, and why the full copy was refused. */
  size: 'kubetriage.source.size',
  sha256: 'kubetriage.source.sha256',
  refused: 'kubetriage.dlq.refused',
  /** On a context the broker refused: which incident revision it was. */
  incident: 'kubetriage.incident.id',
  revision: 'kubetriage.incident.revision',
} as const;

/**
 * Bytes of the original value a truncated dead letter keeps: enough to recognise the payload, far
 * below any broker's max.message.bytes (1 MiB by default). The whole record stays in its source
 * topic, at the offset the headers name, until that topic's retention.
 */
export const DLQ_TRUNCATED_BYTES = 16 * 1024;

/** librdkafka's RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART. */
const UNKNOWN_TOPIC_OR_PARTITION = 3;

/** Longest stretch of record processing before the loop lets HTTP requests and timers in. */
const LOOP_SLICE_MS = 10;

/** While brokers are unreachable, how often the consumer asks one for metadata (and how long it waits). */
const BROKER_PROBE_MS = 2000;

/** What shutdown (or a revoke) managed before its time ran out. */
export interface StopReport {
  /** Everything derived from processed records acknowledged, and its offsets committed. */
  complete: boolean;
  /** Contexts and dead letters still unacknowledged when time ran out. */
  pendingOutputs: number;
  /** Per partition, the records processed but not committed: re-read after a restart (at-least-once). */
  uncommitted: UncommittedRange[];
  /** Whether the consumer left the group (skipped while brokers are unreachable: it cannot finish). */
  leftGroup: boolean;
  ms: number;
}

export class StreamService {
  readonly pipeline: Pipeline;
  readonly ledger = new OffsetLedger();
  readonly #cfg: Config;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #onContext: ((doc: IncidentContextDoc) => void) | undefined;
  readonly #onRestored: StreamServiceOptions['onRestored'];
  readonly #log: Logger;
  readonly #metrics: StreamMetrics;
  readonly #restoreSkipped: Counter<'topic' | 'reason'>;
  readonly #internalErrors: Counter<'stage'>;
  readonly #producer: AckedProducer;
  readonly #consumer: GroupConsumer;
  /** Records are processed (false from stop() on). */
  #running = false;
  /** The consume loop turns (until the end of stop(): commit answers arrive through it). */
  #polling = false;
  #stopDeadline: number | undefined;
  #loop: Promise<void> | undefined;
  #lastLoopAt = 0;
  #lastCommitAt = 0;
  #commitInFlight: Promise<boolean> | undefined;
  #commitFailingSince: number | undefined;
  #lastProbeAt = 0;
  #probing = false;
  #connected = false;
  #draining = false;
  #timer: NodeJS.Timeout | undefined;
  #warnedMissingTopic = false;
  /** A bug in the timers repeats every tick: its stack is logged at most once a minute. */
  #lastTickErrorLogAt = 0;
  /**
   * Seconds the loop spent awaiting consume() and handling records (yields to the event loop
   * excluded), per slice so a scrape sees them as they grow: where a core goes idle (bench/e2e.ts).
   */
  #consumeWaitSeconds = 0;
  #handleSeconds = 0;

  constructor(opts: StreamServiceOptions) {
    this.#cfg = opts.config;
    this.#env = opts.env;
    this.#onContext = opts.onContext;
    this.#onRestored = opts.onRestored;
    this.#log = opts.log;
    const kcfg = opts.config.kafka;
    this.#metrics = streamMetrics(opts.registry);
    this.#restoreSkipped = new Counter({
      name: 'kubetriage_restore_skipped_total',
      help: 'Records read back at start-up (contexts topic) skipped as unusable, by topic and reason (empty, not_json, foreign, wrong_version, malformed, restore_failed)',
      labelNames: ['topic', 'reason'],
      registers: [opts.registry],
    });
    this.#internalErrors = new Counter({
      name: 'kubetriage_internal_errors_total',
      help: 'Bugs: exceptions inside the pipeline after a record decoded (its record is dead-lettered as INTERNAL_ERROR) or in its timers, by stage',
      labelNames: ['stage'],
      registers: [opts.registry],
    });
    this.pipeline = new Pipeline({
      config: opts.config,
      clock: wallClock,
      resolver: opts.resolver,
      sink: (doc, hold, inc) => this.#sendContext(doc, hold, inc),
      trackHold: (h) => this.ledger.track(h),
      releaseHold: (h) => this.ledger.release(h),
    });
    this.#producer = new AckedProducer(reliableProducerConfig(kcfg, opts.env));
    this.#producer.onError = (err, topic, attempt) => {
      this.#metrics.produceRetries.inc({ topic });
      this.#log.error(
        { err: err.message, topic, attempt },
        'produce failed; retrying (offsets stay uncommitted)',
      );
    };
    this.#producer.onRebuild = (err) =>
      this.#log.error(
        { event: 'producer_rebuilt', err: err.message, code: (err as { code?: unknown }).code },
        'producer stopped by a fatal error; replacing it and re-sending every record not acknowledged',
      );
    this.#consumer = new GroupConsumer(
      consumerConfig(kcfg, opts.env),
      { groupId: kcfg.groupId, initialOffset: kcfg.initialOffset },
      {
        onAssign: (parts) => this.#log.info({ partitions: parts }, 'partitions assigned'),
        onRevoke: async (parts, lost) => {
          // On shutdown everything is already drained and committed (or could not be): let go now.
          if (this.#stopDeadline === undefined) {
            this.#log.info({ partitions: parts, lost }, 'partitions revoked: draining');
            // Lost partitions are someone else's already: flush briefly, rejoin soon.
            await this.#drain(lost ? 5000 : 30_000, lost ? 'lost' : 'revoke');
          }
          this.ledger.forgetAll();
        },
      },
    );
    this.#consumer.onError = (err) => this.#log.warn({ err: err.message }, 'kafka consumer error');
    this.#consumer.onCommitted = (offsets) => this.ledger.markCommitted(offsets);
    this.#consumer.onBrokersReachable = (up) => {
      if (up) this.#log.info('kafka brokers reachable again');
      else this.#log.error('kafka brokers unreachable: not ready; records and commits wait');
    };
    this.#registerMetrics(opts.registry);
  }

  get inputTopics(): string[] {
    const t = this.#cfg.kafka.topics;
    return [...t.logs, ...t.metrics, ...t.traces];
  }

  async start(): Promise<void> {
    if (this.#cfg.grouping.restore) await this.#restore();
    await this.#producer.connect();
    await this.#consumer.connect(this.inputTopics);
    this.#connected = true;
    this.#running = true;
    this.#polling = true;
    this.#lastLoopAt = Date.now();
    this.#loop = this.#run();
    // Timers fire even when no records arrive (group_wait, resolve_timeout).
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#log.info({ topics: this.inputTopics, group: this.#cfg.kafka.groupId }, 'consuming');
  }

  async #restore(): Promise<void> {
    const started = Date.now();
    const back = await readLatestContexts(
      baseClientConfig(this.#cfg.kafka, this.#env),
      this.#cfg.kafka.topics.contexts,
      started - this.#cfg.grouping.restoreLookback,
    );
    const topic = this.#cfg.kafka.topics.contexts;
    for (const [reason, n] of Object.entries(back.skipped)) this.#restoreSkipped.inc({ topic, reason }, n);
    for (const s of back.samples)
      this.#log.warn({ topic, ...s }, 'skipped a record of the contexts topic that is no usable context');
    // One document restore still cannot use (a field the shape check let through) costs itself only.
    let restored = 0;
    const usable: IncidentContextDoc[] = [];
    for (const doc of back.latest.values()) {
      try {
        restored += this.pipeline.grouper.restore([doc], (t, p) => this.ledger.partition(t, p));
        usable.push(doc);
      } catch (err) {
        this.#restoreSkipped.inc({ topic, reason: 'restore_failed' });
        this.#log.error(
          { topic, incident: doc.id, err: (err as Error).message, stack: (err as Error).stack },
          'skipped a context restore could not use',
        );
      }
    }
    // Repeats of what the restored incidents already counted stay repeats after the restart.
    const dedupSeeded = seedDedup(this.pipeline.dedup, usable);
    this.#log.info(
      {
        restored,
        read: back.records,
        invalid: back.invalid,
        skipped: back.skipped,
        dedupSeeded,
        ms: Date.now() - started,
      },
      'restored open incidents from the contexts topic',
    );
    await this.#onRestored?.(usable.filter((d) => d.status === 'open'));
  }

  async #run(): Promise<void> {
    const batch = this.#cfg.kafka.batchSize;
    while (this.#polling) {
      let records: InRecord[];
      const waitStart = performance.now();
      try {
        records = await this.#consumer.consume(batch);
        this.#consumeWaitSeconds += (performance.now() - waitStart) / 1000;
      } catch (err) {
        this.#consumeWaitSeconds += (performance.now() - waitStart) / 1000;
        const e = err as Error & { code?: number };
        if (e.code === UNKNOWN_TOPIC_OR_PARTITION) {
          // A configured topic that does not exist (yet): the others are consumed meanwhile.
          if (!this.#warnedMissingTopic)
            this.#log.warn(
              { topics: this.inputTopics },
              'a configured input topic does not exist yet; consuming the others',
            );
          this.#warnedMissingTopic = true;
          continue;
        }
        this.#log.warn({ err: e.message }, 'consume failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      this.#lastLoopAt = Date.now();
      const handled = await this.#handleBatch(records);
      if (handled < records.length) {
        // Draining for a revoke or shutdown: not processed, not committed, re-read by the next owner.
        this.#metrics.deferredRecords.inc(records.length - handled);
      }
      // Also when idle: a context acknowledged after its records lets their offsets be committed.
      if (this.#running && !this.#consumer.revoking) {
        this.#tick();
        this.#maybeCommit(records.length === 0);
      }
      this.#maybeProbeBrokers();
    }
  }

  /**
   * Processes a batch in slices of at most LOOP_SLICE_MS, yielding to the event loop between them: a
   * catch-up after an outage (1000-record batches back to back) kept /healthz waiting up to a second.
   * Stops at a revoke or stop() seen between slices; returns how many records were processed.
   */
  async #handleBatch(records: InRecord[]): Promise<number> {
    let sliceStart = performance.now();
    for (let i = 0; i < records.length; i++) {
      if (!this.#running || this.#consumer.revoking) return i;
      this.#handle(records[i]!);
      const now = performance.now();
      if (now - sliceStart > LOOP_SLICE_MS && i + 1 < records.length) {
        this.#handleSeconds += (now - sliceStart) / 1000;
        await new Promise<void>((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
    this.#handleSeconds += (performance.now() - sliceStart) / 1000;
    return records.length;
  }

  /** librdkafka reports all brokers down but not their return: ask one, now and then, off the loop. */
  #maybeProbeBrokers(): void {
    const now = Date.now();
    if (this.#consumer.brokersDownSince === undefined || this.#probing) return;
    if (now - this.#lastProbeAt < BROKER_PROBE_MS) return;
    this.#lastProbeAt = now;
    this.#probing = true;
    void this.#consumer.probe(BROKER_PROBE_MS).finally(() => {
      this.#probing = false;
    });
  }

  #handle(rec: InRecord): void {
    const p = this.ledger.partition(rec.topic, rec.partition);
    const timestamp = rec.timestamp ?? Date.now();
    const failure = this.pipeline.ingest(rec.topic, rec.value, timestamp, {
      partition: p,
      offset: rec.offset,
      timestamp,
    });
    if (failure) this.#deadLetter(rec, failure);
    this.ledger.processed(p, rec.offset);
  }

  /** Timers (span buckets, group_wait, resolve_timeout): a bug in them is reported, never a crash. */
  #tick(): void {
    try {
      this.pipeline.tick();
    } catch (err) {
      this.#internalErrors.inc({ stage: 'tick' });
      const now = Date.now();
      if (now - this.#lastTickErrorLogAt < 60_000) return;
      this.#lastTickErrorLogAt = now;
      this.#log.error(
        { stage: 'tick', err: (err as Error)?.message, stack: (err as Error)?.stack },
        'internal error in the pipeline timers (a bug)',
      );
    }
  }

  #deadLetter(rec: InRecord, f: RecordFailure): void {
    const where = { topic: rec.topic, partition: rec.partition, offset: rec.offset, code: f.code };
    if (f.internal) {
      // A bug, not bad telemetry: counted and logged as one, the record kept in the DLQ for the report.
      this.#internalErrors.inc({ stage: f.stage });
      this.#log.error(
        { ...where, stage: f.stage, err: f.message, stack: f.internal.stack },
        'internal error in the pipeline (a bug); dead-lettering its record',
      );
    } else {
      this.#metrics.decodeErrors.inc({ topic: rec.topic, code: f.code });
      this.#log.warn({ ...where, err: f.message }, 'dead-lettering record');
    }
    const hold = new Hold();
    hold.add(this.ledger.partition(rec.topic, rec.partition), rec.offset, rec.timestamp);
    this.ledger.track(hold);
    const ours: Record<string, string | Buffer>[] = [
      { [DLQ_HEADERS.topic]: rec.topic },
      { [DLQ_HEADERS.partition]: String(rec.partition) },
      { [DLQ_HEADERS.offset]: String(rec.offset) },
      { [DLQ_HEADERS.timestamp]: String(rec.timestamp ?? '') },
      { [DLQ_HEADERS.code]: f.code },
      { [DLQ_HEADERS.error]: f.message.slice(0, 1000) },
      { [DLQ_HEADERS.stage]: f.stage },
    ];
    const value = rec.value ?? Buffer.alloc(0);
    const full: OutRecord = {
      topic: this.#cfg.kafka.topics.dlq,
      key: rec.key ?? null,
      value,
      headers: [...(rec.headers ?? []), ...ours, { [DLQ_HEADERS.form]: 'full' }],
    };
    this.#sendOrTruncate(full, value, rec.headers ?? [], ours, where, () => {
      this.ledger.release(hold);
      this.#metrics.dlqRecords.inc({ topic: rec.topic, code: f.code });
    });
  }

  /**
   * Sends `full`; when the broker refuses it for good (larger than the DLQ topic's max.message.bytes)
   * sends a truncated copy instead: the first DLQ_TRUNCATED_BYTES of `value`, the original's size and
   * SHA-256, and the headers that point back to it. `done` runs once something is acknowledged, or
   * once even the truncated copy is refused (counted and logged with its coordinates): a permanent
   * produce error never holds a partition's commits.
   */
  #sendOrTruncate(
    full: OutRecord,
    value: Buffer,
    originalHeaders: Record<string, string | Buffer>[],
    ours: Record<string, string | Buffer>[],
    where: { topic: string; partition?: number; offset?: number; code: string },
    done: () => void,
  ): void {
    const dlq = this.#cfg.kafka.topics.dlq;
    this.#producer
      .send(full)
      .catch((err: Error) => {
        if (!(err instanceof PermanentProduceError)) throw err;
        this.#metrics.dlqTruncated.inc({ topic: where.topic, code: where.code });
        this.#log.warn(
          { ...where, bytes: value.length, refusedBy: full.topic, err: err.message },
          'broker refused the whole record; dead-lettering a truncated copy',
        );
        // The record's own headers come along while they are small; ours always do.
        const headerBytes = originalHeaders.reduce(
          (n, h) => n + Object.entries(h).reduce((m, [k, v]) => m + k.length + v.length, 0),
          0,
        );
        return this.#producer.send({
          topic: dlq,
          key: full.key,
          value: value.subarray(0, DLQ_TRUNCATED_BYTES),
          headers: [
            ...(headerBytes <= DLQ_TRUNCATED_BYTES ? originalHeaders : []),
            ...ours,
            { [DLQ_HEADERS.form]: 'truncated' },
            { [DLQ_HEADERS.size]: String(value.length) },
            { [DLQ_HEADERS.sha256]: createHash('sha256').update(value).digest('hex') },
            { [DLQ_HEADERS.refused]: `${err.code} ${err.message}`.slice(0, 500) },
          ],
        });
      })
      .then(done)
      .catch((err: Error) => {
        if (err instanceof PermanentProduceError) {
          this.#metrics.dlqFailures.inc({ topic: where.topic });
          this.#log.error(
            { ...where, err: err.message },
            'broker refused even the truncated dead letter; offset released, the record stays in its source topic',
          );
          done();
          return;
        }
        this.#log.error({ ...where, err: err.message }, 'dead-letter produce abandoned at shutdown');
      });
  }

  /** The hold is already tracked (since its first record was absorbed); it is released on ack. */
  #sendContext(doc: IncidentContextDoc, hold: Hold | undefined, inc: Incident): void {
    if (doc.revision === 1) {
      this.#metrics.timeToFirstContext.observe(Math.max(0, (inc.firstContextAt - inc.firstSignalAt) / 1000));
    }
    // Evidence quotes log bodies and event messages: secrets in them are redacted on the way out.
    const value = Buffer.from(contextJson(doc));
    this.#producer
      .send({ topic: this.#cfg.kafka.topics.contexts, key: doc.id, value })
      .then(() => {
        if (hold) {
          this.ledger.release(hold);
          if (Number.isFinite(hold.oldestTimestamp)) {
            this.#metrics.contextLatency.observe(Math.max(0, (Date.now() - hold.oldestTimestamp) / 1000));
          }
        }
        this.#metrics.contextsEmitted.inc({ status: doc.status });
        this.#onContext?.(doc);
      })
      .catch((err: Error) => {
        if (!(err instanceof PermanentProduceError)) {
          this.#log.error({ err: err.message, incident: doc.id }, 'context produce abandoned at shutdown');
          return;
        }
        // A context the contexts topic refuses (too large) goes to the DLQ, not into an endless retry.
        this.#log.error(
          { err: err.message, incident: doc.id, bytes: value.length },
          'broker refused a context',
        );
        const ours: Record<string, string>[] = [
          { [DLQ_HEADERS.topic]: this.#cfg.kafka.topics.contexts },
          { [DLQ_HEADERS.code]: 'CONTEXT_REFUSED' },
          { [DLQ_HEADERS.error]: err.message.slice(0, 1000) },
          { [DLQ_HEADERS.stage]: 'emit' },
          { [DLQ_HEADERS.incident]: doc.id },
          { [DLQ_HEADERS.revision]: String(doc.revision) },
        ];
        const full = {
          topic: this.#cfg.kafka.topics.dlq,
          key: doc.id,
          value,
          headers: [...ours, { [DLQ_HEADERS.form]: 'full' }],
        };
        this.#sendOrTruncate(
          full,
          value,
          [],
          ours,
          { topic: this.#cfg.kafka.topics.contexts, code: 'CONTEXT_REFUSED' },
          () => {
            if (hold) this.ledger.release(hold);
            this.#metrics.dlqRecords.inc({ topic: this.#cfg.kafka.topics.contexts, code: 'CONTEXT_REFUSED' });
          },
        );
      });
  }

  /**
   * From the consume loop: a commit every commitInterval, never two at once, never awaited here. An
   * idle loop (the consume found nothing) commits what became committable at once, while commits
   * succeed: the interval only batches commits under load, and waiting it out when idle left the last
   * offsets of a drained topic uncommitted for up to a second (bench/e2e.ts "ingest → done").
   */
  #maybeCommit(idle = false): void {
    const now = Date.now();
    if (this.#commitInFlight) return;
    const promptly = idle && this.#commitFailingSince === undefined && this.ledger.committable().length > 0;
    if (!promptly && now - this.#lastCommitAt < this.#cfg.kafka.commitInterval) return;
    this.#lastCommitAt = now;
    void this.#commit();
  }

  /**
   * Commits what is committable now and waits for the coordinator's answer (at most commitTimeout).
   * True when everything committable was committed. A failure is counted and left for the next try:
   * a later commit carries the same offsets or newer ones.
   */
  async #commit(timeoutMs = this.#cfg.kafka.commitTimeout): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.#commitInFlight)
      if (!(await settledWithin(this.#commitInFlight, until - Date.now()))) return false;
    const offsets = this.ledger.committable();
    if (offsets.length === 0) return true;
    const attempt = (async () => {
      try {
        await this.#consumer.commit(offsets, Math.max(1, timeoutMs));
        this.ledger.markCommitted(offsets);
        this.#metrics.commits.inc({ result: 'ok' });
        if (this.#commitFailingSince !== undefined)
          this.#log.info(
            { failingForMs: Date.now() - this.#commitFailingSince },
            'offset commits succeed again',
          );
        this.#commitFailingSince = undefined;
        return true;
      } catch (err) {
        const timedOut = err instanceof CommitError && err.timedOut;
        this.#metrics.commits.inc({ result: timedOut ? 'timeout' : 'error' });
        this.#commitFailingSince ??= Date.now();
        this.#log.warn({ err: (err as Error).message }, 'offset commit failed; will retry');
        return false;
      } finally {
        this.#commitInFlight = undefined;
      }
    })();
    this.#commitInFlight = attempt;
    return attempt;
  }

  /** Commits until everything committable is committed or `deadline` (bounded retries, each bounded). */
  async #commitUntil(deadline: number): Promise<boolean> {
    for (;;) {
      if (await this.#commit(Math.min(this.#cfg.kafka.commitTimeout, deadline - Date.now()))) return true;
      if (Date.now() + 500 >= deadline) return false;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Emits everything pending, waits until the broker has acknowledged it all, then commits. */
  async #drain(timeoutMs: number, reason: 'revoke' | 'lost'): Promise<boolean> {
    this.#draining = true;
    try {
      this.pipeline.flushAll();
      // Open span buckets' records are re-read, not waited for: their holds only keep them uncommitted.
      const dropped = this.pipeline.dropOpenBuckets();
      const deadline = Date.now() + timeoutMs;
      while (this.ledger.liveHolds > dropped.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const acked = this.ledger.liveHolds === dropped.length;
      if (!acked)
        this.#log.error(
          { pending: this.ledger.liveHolds, reason },
          'drain timed out; uncommitted records will be re-read',
        );
      // The commit gets what is left of the time, but at least one commit timeout's worth. Lost
      // partitions (the session expired) cannot be committed any more: the next owner re-reads them.
      const committed =
        reason === 'lost'
          ? false
          : await this.#commitUntil(Math.max(deadline, Date.now() + this.#cfg.kafka.commitTimeout));
      for (const h of dropped) this.ledger.release(h);
      const complete = acked && committed;
      this.#metrics.drains.inc({ reason, outcome: complete ? 'complete' : 'incomplete' });
      return complete;
    } finally {
      this.#draining = false;
    }
  }

  /**
   * SIGTERM: stop processing, flush, commit, leave the group, disconnect, all within `graceMs`
   * whatever the broker does. What could not be committed is reported (and re-read after a restart).
   */
  async stop(graceMs = 30_000): Promise<StopReport> {
    const started = Date.now();
    if (!this.#running)
      return { complete: true, pendingOutputs: 0, uncommitted: [], leftGroup: false, ms: 0 };
    const deadline = started + graceMs;
    this.#stopDeadline = deadline;
    this.#running = false;
    if (this.#timer) clearInterval(this.#timer);
    this.#consumer.pauseAll();
    // Time kept back for leaving the group and closing the producer after the drain.
    const closeReserve = Math.min(6000, graceMs / 3);
    // A revoke being drained finishes first (its drain is bounded too).
    await settledWithin(this.#consumer.settled(), Math.max(0, deadline - closeReserve - Date.now()));
    this.#draining = true;
    // Acks get the time up to two seconds before the close reserve; the final commit those two seconds.
    const drainMs = Math.max(0, deadline - closeReserve - 2000 - Date.now());
    let complete = false;
    let droppedBuckets = 0;
    try {
      this.pipeline.flushAll();
      const dropped = this.pipeline.dropOpenBuckets();
      droppedBuckets = dropped.length;
      const drainDeadline = Date.now() + drainMs;
      while (this.ledger.liveHolds > dropped.length && Date.now() < drainDeadline)
        await new Promise((r) => setTimeout(r, 20));
      const committed = await this.#commitUntil(deadline - closeReserve);
      for (const h of dropped) this.ledger.release(h);
      complete = this.ledger.liveHolds === 0 && committed;
      this.#metrics.drains.inc({ reason: 'shutdown', outcome: complete ? 'complete' : 'incomplete' });
    } finally {
      this.#draining = false;
    }
    const pendingOutputs = this.ledger.liveHolds;
    const uncommitted = this.ledger.uncommitted();
    // The loop served commit answers until now; it ends within one consume timeout.
    this.#polling = false;
    await settledWithin(this.#loop ?? Promise.resolve(), 2000);
    // librdkafka's consumer close waits for the coordinator (up to session.timeout.ms) and the process
    // cannot exit while it does: leave the group only when brokers answer; otherwise the group evicts
    // this member after session.timeout.ms and its partitions move on from the last commit.
    const reachable = this.#consumer.brokersDownSince === undefined;
    let leftGroup = false;
    if (reachable)
      leftGroup = await settledWithin(this.#consumer.disconnect(), Math.max(0, deadline - 5500 - Date.now()));
    else this.#log.warn('brokers unreachable: not waiting to leave the consumer group');
    await this.#producer.disconnect(Math.max(0, deadline - 5500 - Date.now()));
    this.#connected = false;
    const report: StopReport = { complete, pendingOutputs, uncommitted, leftGroup, ms: Date.now() - started };
    if (complete)
      this.#log.info(
        { ...report, droppedBuckets },
        droppedBuckets > 0
          ? "stopped: everything flushed and committed but open span buckets' records (re-read at the next start)"
          : 'stopped: everything flushed and committed',
      );
    else
      this.#log.warn(
        report,
        'stopped with records not committed: they are re-read after a restart (at-least-once)',
      );
    return report;
  }

  health(): { ok: boolean; detail: Record<string, unknown> } {
    const stalledFor = Date.now() - this.#lastLoopAt;
    // The loop turns at least every consume timeout; a long stall means it is wedged.
    const ok = !this.#running || stalledFor < 60_000;
    return { ok, detail: { loopStalledMs: stalledFor } };
  }

  /**
   * Ready while the consumer can do its job: connected and running, not draining, brokers reachable,
   * partitions assigned within kafka.readiness.assignmentTimeout of joining or a revoke (an empty
   * assignment counts: more members than partitions), commits not failing for longer than
   * kafka.readiness.commitFailureTimeout. `reasons` says which check failed.
   */
  readiness(): { ok: boolean; detail: Record<string, unknown> } {
    const now = Date.now();
    const r = this.#cfg.kafka.readiness;
    const assigned = this.#consumer.assignment.length;
    const downSince = this.#consumer.brokersDownSince;
    const waitingSince = this.#consumer.awaitingAssignmentSince;
    const failingSince = this.#commitFailingSince;
    const reasons: string[] = [];
    if (!this.#connected || !this.#running) reasons.push('not consuming');
    if (this.#draining) reasons.push('draining');
    if (downSince !== undefined) reasons.push('kafka brokers unreachable');
    if (waitingSince !== undefined && now - waitingSince > r.assignmentTimeout)
      reasons.push('no partitions assigned');
    if (failingSince !== undefined && now - failingSince > r.commitFailureTimeout)
      reasons.push('offset commits failing');
    return {
      ok: reasons.length === 0,
      detail: {
        connected: this.#connected,
        draining: this.#draining,
        assignedPartitions: assigned,
        brokersReachable: downSince === undefined,
        ...(downSince !== undefined ? { brokersDownForMs: now - downSince } : {}),
        ...(waitingSince !== undefined ? { awaitingAssignmentForMs: now - waitingSince } : {}),
        ...(failingSince !== undefined ? { commitsFailingForMs: now - failingSince } : {}),
        ...(reasons.length > 0 ? { reasons } : {}),
      },
    };
  }

  #registerMetrics(registry: Registry): void {
    const p = this.pipeline;
    counterFromStats(
      registry,
      'kubetriage_consume_loop_seconds_total',
      'Wall seconds of the consume loop by phase: waiting for consume() to return records, handling them (yields to the event loop excluded)',
      ['phase'],
      () => [
        [{ phase: 'consume_wait' }, this.#consumeWaitSeconds],
        [{ phase: 'handle' }, this.#handleSeconds],
      ],
    );
    counterFromStats(
      registry,
      'kubetriage_records_total',
      'Kafka records consumed, by signal',
      ['signal'],
      () => Object.entries(p.stats.records).map(([signal, v]) => [{ signal }, v]),
    );
    counterFromStats(
      registry,
      'kubetriage_record_bytes_total',
      'Bytes of Kafka record values consumed, by signal',
      ['signal'],
      () => Object.entries(p.stats.bytes).map(([signal, v]) => [{ signal }, v]),
    );
    counterFromStats(
      registry,
      'kubetriage_signals_total',
      'Signals normalised from records, by type',
      ['type'],
      () => Object.entries(p.stats.signals).map(([type, v]) => [{ type }, v]),
    );
    counterFromStats(
      registry,
      'kubetriage_dedup_total',
      'Windowed dedup lookups, by result',
      ['result'],
      () => [
        [{ result: 'hit' }, p.dedup.stats.hits],
        [{ result: 'miss' }, p.dedup.stats.misses],
        [{ result: 'eviction' }, p.dedup.stats.evictions],
      ],
    );
    counterFromStats(
      registry,
      'kubetriage_duplicate_events_total',
      'Kubernetes Event updates already seen (same uid and count)',
      [],
      () => [[{}, p.stats.duplicateEvents]],
    );
    counterFromStats(registry, 'kubetriage_incidents_total', 'Incident lifecycle events', ['event'], () => [
      [{ event: 'opened' }, p.grouper.stats.opened],
      [{ event: 'resolved' }, p.grouper.stats.resolved],
      [{ event: 'evicted' }, p.grouper.stats.evicted],
    ]);
    counterFromStats(
      registry,
      'kubetriage_floor_signals_total',
      'Problem signals judged by the noise floors, by floor class and result (above opens or keeps an incident; below is background)',
      ['class', 'result'],
      () =>
        (['above', 'below'] as const).flatMap((result) =>
          Object.entries(p.floors.stats[result]).map(([cls, v]): [Record<string, string>, number] => [
            { class: cls, result },
            v,
          ]),
        ),
    );
    counterFromStats(
      registry,
      'kubetriage_floor_context_total',
      'Sub-floor updates attached as context when their workload opened an incident, or dropped (buffer full, expired)',
      ['result'],
      () => [
        [{ result: 'attached' }, p.floors.stats.attached],
        [{ result: 'dropped' }, p.floors.stats.dropped],
      ],
    );
    counterFromStats(
      registry,
      'kubetriage_floor_folded_total',
      'Failed spans and ERROR lines whose trace was already counted as a failed request of the workload (one request, one count)',
      ['signal'],
      () => [
        [{ signal: 'failed_span' }, p.floors.stats.folded.failedSpans],
        [{ signal: 'error_log' }, p.floors.stats.folded.errorLogs],
      ],
    );
    counterFromStats(
      registry,
      'kubetriage_resolve_deferred_total',
      'Quiet incidents kept open because the fault still shows (a Pending or waiting pod, replicas missing), by reason',
      ['reason'],
      () => Object.entries(p.grouper.stats.deferred).map(([reason, v]) => [{ reason }, v]),
    );
    counterFromStats(
      registry,
      'kubetriage_pod_status_signals_total',
      'Pod-status facts taken from enrichment (terminations, waiting reasons, unschedulable pods)',
      [],
      () => [[{}, p.stats.podStatus]],
    );
    gaugeFrom(registry, 'kubetriage_incidents_open', 'Incidents currently open', [], () => [
      [{}, p.grouper.open],
    ]);
    counterFromStats(
      registry,
      'kubetriage_related_links_total',
      'Links made between incidents by failing calls (upstream in the caller, impact in the peer)',
      ['relation'],
      () => Object.entries(p.grouper.links).map(([relation, v]) => [{ relation }, v]),
    );
    counterFromStats(
      registry,
      'kubetriage_call_graph_failed_calls_total',
      'Failed client calls to a workload Service recorded in the call graph',
      [],
      () => [[{}, p.grouper.callGraph?.stats.failedCalls ?? 0]],
    );
    gaugeFrom(registry, 'kubetriage_call_graph_edges', 'Caller → callee edges in the call graph', [], () => [
      [{}, p.grouper.callGraph?.stats.edges ?? 0],
    ]);
    gaugeFrom(registry, 'kubetriage_dedup_entries', 'Entries in the dedup window', [], () => [
      [{}, p.dedup.size],
    ]);
    gaugeFrom(registry, 'kubetriage_anomaly_series', 'Metric series tracked for anomalies', [], () => [
      [{}, p.anomalies.seriesCount],
    ]);
    gaugeFrom(
      registry,
      'kubetriage_kafka_brokers_reachable',
      'Whether the consumer reaches a Kafka broker (0 from librdkafka reporting all brokers down until one answers)',
      [],
      () => [[{}, this.#consumer.brokersDownSince === undefined ? 1 : 0]],
    );
    gaugeFrom(
      registry,
      'kubetriage_kafka_assigned_partitions',
      'Partitions currently assigned to this consumer',
      [],
      () => [[{}, this.#consumer.assignment.length]],
    );
    gaugeFrom(
      registry,
      'kubetriage_offset_commit_failing_seconds',
      'How long offset commits have been failing (0 while they succeed)',
      [],
      () => [
        [{}, this.#commitFailingSince === undefined ? 0 : (Date.now() - this.#commitFailingSince) / 1000],
      ],
    );
    gaugeFrom(
      registry,
      'kubetriage_pending_outputs',
      'Contexts and dead letters awaiting broker acknowledgement',
      [],
      () => [[{}, this.ledger.liveHolds]],
    );
    gaugeFrom(
      registry,
      'kubetriage_consumer_lag',
      'Records behind the partition high watermark',
      ['topic', 'partition'],
      () => {
        const out: [Record<string, string>, number][] = [];
        for (const a of this.#consumer.assignment) {
          const high = this.#consumer.highWatermark(a.topic, a.partition);
          const next = this.ledger.partition(a.topic, a.partition).next;
          if (high !== undefined && next >= 0)
            out.push([{ topic: a.topic, partition: String(a.partition) }, Math.max(0, high - next)]);
        }
        return out;
      },
    );
  }
}
