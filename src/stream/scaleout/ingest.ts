// The ingest half of scale-out: decode and normalise one input record, exactly as Pipeline.processRecord
// does, but instead of grouping here, collect what the normalisers emit per incident scope, in order.
// Each scope's ops become one record on the repartition topic, keyed by the scope.
import type { Config } from '../../core/config.ts';
import { describeError, KubetriageError } from '../../core/errors.ts';
import { AnomalyDetector } from '../anomaly.ts';
import { ManualClock } from '../clock.ts';
import { scopeKey } from '../incidents/incident.ts';
import { LogClassifier } from '../log-class.ts';
import type { NormaliseContext } from '../normalise/context.ts';
import { decodeAndNormalise } from '../normalise/record.ts';
import { type RecordFailure, type SignalTopicKind, scopeOf } from '../pipeline.ts';
import type { SignalSite } from '../signals.ts';
import type { WorkloadResolver } from '../workload.ts';
import { WORKLOAD_STATE_METRICS } from '../workload-state.ts';
import { SignalOps } from './codec.ts';

/** One incident scope's share of a record: its key on the repartition topic and its ops in order. */
export interface ScopedOps {
  key: string;
  ops: SignalOps;
}

export interface SplitResult {
  failure?: RecordFailure;
  groups: ScopedOps[];
}

export class SignalSplitter {
  readonly stats = {
    records: { logs: 0, metrics: 0, traces: 0 } as Record<SignalTopicKind, number>,
    bytes: { logs: 0, metrics: 0, traces: 0 } as Record<SignalTopicKind, number>,
    signals: 0,
    /** Signals no owner would act on (Normal events not of interest, container states an Event reported). */
    dropped: 0,
  };
  readonly #kinds = new Map<string, SignalTopicKind>();
  readonly #maxRecordBytes: number;
  readonly #ctx: NormaliseContext;
  /** Groups of the record being split, by scope key, in order of first appearance. */
  #groups = new Map<string, SignalOps>();
  /** Where the record being split is: a throw after decoding is a bug, not a bad record. */
  #stage: 'decode' | 'normalise' = 'decode';
  readonly #normalising = (): void => {
    this.#stage = 'normalise';
  };

  constructor(config: Config, resolver: WorkloadResolver) {
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
    const opsOf = (site: SignalSite): SignalOps => {
      const key = scopeKey(scopeOf(site));
      let ops = this.#groups.get(key);
      if (!ops) {
        ops = new SignalOps();
        this.#groups.set(key, ops);
      }
      return ops;
    };
    this.#ctx = {
      defaultCluster: config.cluster,
      resolver,
      recordTimeMs: 0,
      watchedMetrics: new Set([...watched, ...WORKLOAD_STATE_METRICS.keys()]),
      emit: (s) => {
        this.stats.signals++;
        // What Pipeline.#onSignal returns on at once, whatever its state, never crosses the hop: most
        // Kubernetes Events are Normal (Scheduled, Pulled, Started, Killing), and the container state an
        // Event reports is that Event's fact. Only its ignored-signal statistics differ.
        if (
          (s.type === 'event' && s.eventType !== 'Warning' && !normalReasons.has(s.reason)) ||
          (s.type === 'container' && s.via === 'event')
        ) {
          this.stats.dropped++;
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

  /** Decodes and normalises one record; a record that cannot be decoded yields a failure and no ops. */
  split(topic: string, value: Buffer | null, timestampMs: number): SplitResult {
    if (value === null)
      return {
        failure: failure('DECODE_EMPTY_RECORD', `Record with no value on topic ${topic}`),
        groups: [],
      };
    if (value.length > this.#maxRecordBytes)
      return {
        failure: failure(
          'RECORD_TOO_LARGE',
          `Record of ${value.length} bytes on topic ${topic} exceeds kafka.maxRecordBytes (${this.#maxRecordBytes})`,
        ),
        groups: [],
      };
    this.#groups = new Map();
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
      ctx.recordTimeMs = timestampMs;
      decodeAndNormalise(kind, value, topic, ctx, this.#normalising);
    } catch (err) {
      const { code, message } = describeError(err);
      if (this.#stage === 'decode') return { failure: failure(code, message), groups: [] };
      // The record decoded: whatever threw after is a bug in kubetriage, not a bad record (as in Pipeline.ingest).
      const stack = (err instanceof Error ? err.stack : undefined) ?? message;
      return {
        failure: {
          code: 'INTERNAL_ERROR',
          message: `${code}: ${message}`,
          stage: 'normalise',
          internal: { stack },
        },
        groups: [],
      };
    }
    return { groups: [...this.#groups].map(([key, ops]) => ({ key, ops })) };
  }
}

const failure = (code: string, message: string): RecordFailure => ({ code, message, stage: 'decode' });
