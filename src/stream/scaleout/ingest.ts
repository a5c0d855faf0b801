// The ingest half of scale-out: decode and normalise one input record, exactly as Pipeline.processRecord
// does, but instead of grouping here, append what the normalisers emit to the pending signals record of
// the signals partition its incident scope hashes to (the partition the scope's key would be produced
// to): one group per input record and partition, in emission order. The caller takes a partition's
// record when it has consumed a batch (or the record grows large) and produces it to that partition.
import type { Config } from '../../core/config.ts';
import { describeError, KubetriageError } from '../../core/errors.ts';
import { AnomalyDetector } from '../anomaly.ts';
import { ManualClock } from '../clock.ts';
import { scopeKey } from '../incidents/incident.ts';
import { LogClassifier } from '../log-class.ts';
import type { NormaliseContext } from '../normalise/context.ts';
import { decodeAndNormalise } from '../normalise/record.ts';
import { type RecordFailure, type SignalTopicKind, scopeOf } from '../pipeline.ts';
import type { Signal, SignalSite } from '../signals.ts';
import type { WorkloadResolver } from '../workload.ts';
import { WORKLOAD_STATE_METRICS } from '../workload-state.ts';
import { SignalsBatchWriter } from './codec.ts';
import { keyPartitioner, type Partitioner } from './partitioner.ts';

/** The input record being split: where its groups say they come from. */
export interface SplitSource {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

/** Per incident scope seen: its signals partition, and its index in the record being split. */
interface ScopeSlot {
  partition: number;
  record: number;
  index: number;
}

/** Scopes remembered with their partition; beyond this the memo starts over (a hash per scope is cheap). */
const MAX_SCOPES = 100_000;

export class SignalSplitter {
  readonly stats = {
    records: { logs: 0, metrics: 0, traces: 0 } as Record<SignalTopicKind, number>,
    bytes: { logs: 0, metrics: 0, traces: 0 } as Record<SignalTopicKind, number>,
    signals: 0,
    /** Signals no owner would act on (Normal events not of interest, container states an Event reported). */
    dropped: 0,
    /** The same by signal type: single-process mode counts them in kubetriage_signals_total. */
    droppedByType: { event: 0, container: 0, metric: 0, span_error: 0, log: 0 } as Record<
      Signal['type'],
      number
    >,
  };
  readonly #kinds = new Map<string, SignalTopicKind>();
  readonly #maxRecordBytes: number;
  readonly #ctx: NormaliseContext;
  readonly #partitioner: Partitioner;
  #writers: SignalsBatchWriter[] = [];
  readonly #scopes = new Map<string, ScopeSlot>();
  /** The record being split (a sequence number), its source, and how many scopes it has so far. */
  #record = 0;
  #src: SplitSource = { topic: '', partition: 0, offset: 0, timestamp: 0 };
  #scopeCount = 0;
  /**
   * The cluster of the last signal (k8s.cluster.name, or the configured one): Pipeline puts pod-status
   * facts in the scope of the cluster its telemetry names, and scale-out routes them the same way.
   */
  cluster: string;
  /** Signals partitions the record being split (or the last one) wrote to, in order of first write. */
  readonly touched: number[] = [];
  /** Where the record being split is: a throw after decoding is a bug, not a bad record. */
  #stage: 'decode' | 'normalise' = 'decode';
  readonly #normalising = (): void => {
    this.#stage = 'normalise';
  };

  /** `partitions`: the signals topic's partition count (what the topic has, not only what config asks). */
  constructor(config: Config, resolver: WorkloadResolver, partitions = config.scaleOut.partitions) {
    this.#partitioner = keyPartitioner(config.kafka.librdkafka.partitioner as string | undefined);
    this.partitions = partitions;
    this.cluster = config.cluster;
    for (const t of config.kafka.topics.logs) this.#kinds.set(t, 'logs');
    for (const t of config.kafka.topics.metrics) this.#kinds.set(t, 'metrics');
    for (const t of config.kafka.topics.traces) this.#kinds.set(t, 'traces');
    this.#maxRecordBytes = config.kafka.maxRecordBytes;
    // Only for the set of metric names the rules watch: the owners run the detectors.
    const watched = new AnomalyDetector(config.anomalies, {
      maxSeries: 1,
      ttlMs: 1,
      clock: new ManualClock(),
    }).watchedMetrics;
    const logClasses = new LogClassifier(config.floors.logPatterns);
    const normalReasons = new Set(config.normalReasonsOfInterest);
    const opsOf = (site: SignalSite): SignalsBatchWriter => {
      const key = scopeKey(scopeOf(site));
      let slot = this.#scopes.get(key);
      if (!slot) {
        slot = { partition: this.#partitioner(key, this.#writers.length), record: -1, index: 0 };
        this.#scopes.set(key, slot);
      }
      const w = this.#writers[slot.partition]!;
      if (slot.record !== this.#record) {
        slot.record = this.#record;
        slot.index = this.#scopeCount++;
        if (!w.open) {
          w.begin(this.#src);
          this.touched.push(slot.partition);
        }
        w.scope(slot.index);
      }
      return w;
    };
    this.#ctx = {
      defaultCluster: config.cluster,
      resolver,
      recordTimeMs: 0,
      watchedMetrics: new Set([...watched, ...WORKLOAD_STATE_METRICS.keys()]),
      emit: (s) => {
        this.stats.signals++;
        this.cluster = s.cluster;
        // What Pipeline.#onSignal returns on at once, whatever its state, never crosses the hop: most
        // Kubernetes Events are Normal (Scheduled, Pulled, Started, Killing), and the container state an
        // Event reports is that Event's fact. Only its ignored-signal statistics differ.
        if (
          (s.type === 'event' && s.eventType !== 'Warning' && !normalReasons.has(s.reason)) ||
          (s.type === 'container' && s.via === 'event')
        ) {
          this.stats.dropped++;
          this.stats.droppedByType[s.type]++;
          return;
        }
        opsOf(s).signal(s);
      },
      observeServerSpan: (site, service, atMs, durationMs, failed) =>
        opsOf(site).serverSpan(site, service, atMs, durationMs, failed),
      observeSpan: (site, atMs, failed, traceId) => opsOf(site).span(site, atMs, failed, traceId),
      classifyLog: (body) => logClasses.classify(body),
    };
  }

  set partitions(n: number) {
    if (this.#writers.some((w) => w.groups > 0 || w.open))
      throw new Error('signals partitions changed with records pending');
    this.#writers = Array.from({ length: n }, () => new SignalsBatchWriter());
    this.#scopes.clear();
  }

  /** The signals partition of a scope key, as this splitter picks it for the scope's signals. */
  partitionOfScope(key: string): number {
    return this.#partitioner(key, this.#writers.length);
  }

  get partitions(): number {
    return this.#writers.length;
  }

  /**
   * Decodes and normalises one record, appending its ops to the pending records of their signals
   * partitions (`touched` lists them). A record that cannot be decoded, or whose normalising throws,
   * yields a failure and leaves nothing of itself in any pending record.
   */
  split(src: SplitSource, value: Buffer | null): RecordFailure | undefined {
    const topic = src.topic;
    this.touched.length = 0;
    if (value === null) return failure('DECODE_EMPTY_RECORD', `Record with no value on topic ${topic}`);
    if (value.length > this.#maxRecordBytes)
      return failure(
        'RECORD_TOO_LARGE',
        `Record of ${value.length} bytes on topic ${topic} exceeds kafka.maxRecordBytes (${this.#maxRecordBytes})`,
      );
    // Only between records: a scope's index within a record must not change halfway through it.
    if (this.#scopes.size >= MAX_SCOPES) this.#scopes.clear();
    this.#record++;
    this.#src = src;
    this.#scopeCount = 0;
    this.#stage = 'decode';
    try {
      const kind = this.#kinds.get(topic);
      if (!kind)
        throw new KubetriageError(
          'UNKNOWN_TOPIC',
          `Record from topic ${topic}, which no signal is configured for`,
        );
      this.stats.records[kind]++;
      this.stats.bytes[kind] += value.length;
      const ctx = this.#ctx;
      ctx.recordTimeMs = src.timestamp;
      decodeAndNormalise(kind, value, topic, ctx, this.#normalising);
    } catch (err) {
      for (const p of this.touched) this.#writers[p]!.rollback();
      this.touched.length = 0;
      const { code, message } = describeError(err);
      if (this.#stage === 'decode') return failure(code, message);
      // The record decoded: whatever threw after is a bug in kubetriage, not a bad record (as in Pipeline.ingest).
      const stack = (err instanceof Error ? err.stack : undefined) ?? message;
      return {
        code: 'INTERNAL_ERROR',
        message: `${code}: ${message}`,
        stage: 'normalise',
        internal: { stack },
      };
    }
    for (const p of this.touched) this.#writers[p]!.end();
    return undefined;
  }

  /** About the bytes pending for a signals partition. */
  pendingBytes(partition: number): number {
    return this.#writers[partition]!.byteLength;
  }

  /** The pending record of a signals partition without the last record's group, which stays pending. */
  takeAllButLast(partition: number): Buffer {
    return this.#writers[partition]!.takeAllButLast();
  }

  /** The pending record of a signals partition, encoded (undefined when nothing is pending); it starts over. */
  take(partition: number): Buffer | undefined {
    const w = this.#writers[partition]!;
    return w.groups > 0 ? w.take() : undefined;
  }
}

const failure = (code: string, message: string): RecordFailure => ({ code, message, stage: 'decode' });
