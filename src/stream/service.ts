// `kubetriage run`: Kafka in, incident contexts out, with at-least-once delivery.
// Commit rule: an offset is committed only after every context and dead-letter record derived from
// the records before it has been acknowledged by the broker (offsets.ts). On revoke and on SIGTERM,
// everything pending is flushed, awaited and committed before partitions are let go.
import type { Registry } from 'prom-client';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { counterFromStats, gaugeFrom, type StreamMetrics, streamMetrics } from '../core/metrics.ts';
import { redactor } from '../core/redact.ts';
import { wallClock } from './clock.ts';
import type { IncidentContextDoc } from './incidents/document.ts';
import type { Incident } from './incidents/incident.ts';
import { baseClientConfig, reliableProducerConfig } from './kafka/client-config.ts';
import { GroupConsumer, type InRecord } from './kafka/consumer.ts';
import { readLatestContexts } from './kafka/context-reader.ts';
import { AckedProducer } from './kafka/producer.ts';
import { Hold, OffsetLedger } from './offsets.ts';
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
} as const;

/** librdkafka's RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART. */
const UNKNOWN_TOPIC_OR_PARTITION = 3;

export class StreamService {
  readonly pipeline: Pipeline;
  readonly ledger = new OffsetLedger();
  readonly #cfg: Config;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #onContext: ((doc: IncidentContextDoc) => void) | undefined;
  readonly #onRestored: StreamServiceOptions['onRestored'];
  readonly #log: Logger;
  readonly #metrics: StreamMetrics;
  readonly #producer: AckedProducer;
  readonly #consumer: GroupConsumer;
  #running = false;
  #loop: Promise<void> | undefined;
  #lastLoopAt = 0;
  #lastCommitAt = 0;
  #connected = false;
  #draining = false;
  #timer: NodeJS.Timeout | undefined;
  #warnedMissingTopic = false;

  constructor(opts: StreamServiceOptions) {
    this.#cfg = opts.config;
    this.#env = opts.env;
    this.#onContext = opts.onContext;
    this.#onRestored = opts.onRestored;
    this.#log = opts.log;
    const kcfg = opts.config.kafka;
    this.#metrics = streamMetrics(opts.registry);
    this.pipeline = new Pipeline({
      config: opts.config,
      clock: wallClock,
      resolver: opts.resolver,
      sink: (doc, hold, inc) => this.#sendContext(doc, hold, inc),
      trackHold: (h) => this.ledger.track(h),
    });
    this.#producer = new AckedProducer(reliableProducerConfig(kcfg, opts.env));
    this.#producer.onError = (err, topic, attempt) => {
      this.#metrics.produceRetries.inc({ topic });
      this.#log.error(
        { err: err.message, topic, attempt },
        'produce failed; retrying (offsets stay uncommitted)',
      );
    };
    this.#consumer = new GroupConsumer(
      baseClientConfig(kcfg, opts.env),
      { groupId: kcfg.groupId, initialOffset: kcfg.initialOffset },
      {
        onAssign: (parts) => this.#log.info({ partitions: parts }, 'partitions assigned'),
        onRevoke: async (parts) => {
          this.#log.info({ partitions: parts }, 'partitions revoked: draining');
          await this.#drain(30_000);
          this.ledger.forgetAll();
        },
      },
    );
    this.#consumer.onError = (err) => this.#log.warn({ err: err.message }, 'kafka consumer error');
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
    this.#lastLoopAt = Date.now();
    this.#loop = this.#run();
    // Timers fire even when no records arrive (group_wait, resolve_timeout).
    this.#timer = setInterval(() => this.pipeline.tick(), 1000);
    this.#log.info({ topics: this.inputTopics, group: this.#cfg.kafka.groupId }, 'consuming');
  }

  async #restore(): Promise<void> {
    const started = Date.now();
    const back = await readLatestContexts(
      baseClientConfig(this.#cfg.kafka, this.#env),
      this.#cfg.kafka.topics.contexts,
      started - this.#cfg.grouping.restoreLookback,
    );
    const restored = this.pipeline.grouper.restore(back.latest.values(), (t, p) =>
      this.ledger.partition(t, p),
    );
    this.#log.info(
      { restored, read: back.records, invalid: back.invalid, ms: Date.now() - started },
      'restored open incidents from the contexts topic',
    );
    await this.#onRestored?.([...back.latest.values()].filter((d) => d.status === 'open'));
  }

  async #run(): Promise<void> {
    const batch = this.#cfg.kafka.batchSize;
    while (this.#running) {
      let records: InRecord[];
      try {
        records = await this.#consumer.consume(batch);
      } catch (err) {
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
      for (const rec of records) this.#handle(rec);
      this.pipeline.tick();
      this.#maybeCommit(false);
    }
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

  #deadLetter(rec: InRecord, f: RecordFailure): void {
    this.#metrics.decodeErrors.inc({ topic: rec.topic, code: f.code });
    this.#log.warn(
      { topic: rec.topic, partition: rec.partition, offset: rec.offset, code: f.code, err: f.message },
      'dead-lettering record',
    );
    const hold = new Hold();
    hold.add(this.ledger.partition(rec.topic, rec.partition), rec.offset, rec.timestamp);
    this.ledger.track(hold);
    const headers: Record<string, string | Buffer>[] = [...(rec.headers ?? [])];
    headers.push(
      { [DLQ_HEADERS.topic]: rec.topic },
      { [DLQ_HEADERS.partition]: String(rec.partition) },
      { [DLQ_HEADERS.offset]: String(rec.offset) },
      { [DLQ_HEADERS.timestamp]: String(rec.timestamp ?? '') },
      { [DLQ_HEADERS.code]: f.code },
      { [DLQ_HEADERS.error]: f.message.slice(0, 1000) },
      { [DLQ_HEADERS.stage]: f.stage },
    );
    this.#producer
      .send({
        topic: this.#cfg.kafka.topics.dlq,
        key: rec.key ?? null,
        value: rec.value ?? Buffer.alloc(0),
        headers,
      })
      .then(() => {
        this.ledger.release(hold);
        this.#metrics.dlqRecords.inc({ topic: rec.topic, code: f.code });
      })
      .catch((err: Error) =>
        this.#log.error({ err: err.message }, 'dead-letter produce abandoned at shutdown'),
      );
  }

  /** The hold is already tracked (since its first record was absorbed); it is released on ack. */
  #sendContext(doc: IncidentContextDoc, hold: Hold | undefined, inc: Incident): void {
    if (doc.revision === 1) {
      this.#metrics.timeToFirstContext.observe(Math.max(0, (inc.firstContextAt - inc.firstSignalAt) / 1000));
    }
    this.#producer
      .send({
        topic: this.#cfg.kafka.topics.contexts,
        key: doc.id,
        // Evidence quotes log bodies and event messages: secrets in them are redacted on the way out.
        value: Buffer.from(redactor().json(doc, 'context')),
      })
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
      .catch((err: Error) =>
        this.#log.error({ err: err.message, incident: doc.id }, 'context produce abandoned at shutdown'),
      );
  }

  #maybeCommit(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastCommitAt < this.#cfg.kafka.commitInterval) return;
    this.#lastCommitAt = now;
    const offsets = this.ledger.committable();
    if (offsets.length === 0) return;
    try {
      this.#consumer.commit(offsets);
      this.ledger.markCommitted(offsets);
      this.#metrics.commits.inc({ result: 'ok' });
    } catch (err) {
      this.#metrics.commits.inc({ result: 'error' });
      this.#log.warn({ err: (err as Error).message }, 'offset commit failed; will retry');
    }
  }

  /** Emits everything pending, waits until the broker has acknowledged it all, then commits. */
  async #drain(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    try {
      this.pipeline.flushAll();
      const deadline = Date.now() + timeoutMs;
      while (this.ledger.liveHolds > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const complete = this.ledger.liveHolds === 0;
      if (!complete)
        this.#log.error(
          { pending: this.ledger.liveHolds },
          'drain timed out; uncommitted records will be re-read',
        );
      this.#maybeCommit(true);
      return complete;
    } finally {
      this.#draining = false;
    }
  }

  /** SIGTERM: stop fetching, flush, commit, disconnect. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer) clearInterval(this.#timer);
    await this.#loop;
    await this.#consumer.settled();
    await this.#drain(timeoutMs);
    await this.#consumer.disconnect();
    await this.#producer.disconnect();
    this.#connected = false;
    this.#log.info('stopped');
  }

  health(): { ok: boolean; detail: Record<string, unknown> } {
    const stalledFor = Date.now() - this.#lastLoopAt;
    // The loop turns at least every consume timeout; a long stall means it is wedged.
    const ok = !this.#running || stalledFor < 60_000;
    return { ok, detail: { loopStalledMs: stalledFor } };
  }

  readiness(): { ok: boolean; detail: Record<string, unknown> } {
    const assigned = this.#consumer.assignment.length;
    return {
      ok: this.#connected && this.#running && !this.#draining,
      detail: { connected: this.#connected, draining: this.#draining, assignedPartitions: assigned },
    };
  }

  #registerMetrics(registry: Registry): void {
    const p = this.pipeline;
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
