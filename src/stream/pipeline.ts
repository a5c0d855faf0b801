// One record in, incident contexts out: decode → normalise → dedup → anomaly → group.
// Shared by `run` (Kafka) and `replay` (capture files), so both take exactly the same path.
import type { Config } from '../core/config.ts';
import { describeError, KubetriageError } from '../core/errors.ts';
import { AnomalyDetector, type AnomalyFinding } from './anomaly.ts';
import type { Clock } from './clock.ts';
import { WindowDedup } from './dedup.ts';
import { type FloorClass, NoiseFloors } from './floors.ts';
import type { EvidenceUpdate } from './incidents/evidence.ts';
import {
  fromContainer,
  fromEvent,
  fromFinding,
  fromLog,
  fromPodStatus,
  fromSpanError,
} from './incidents/from-signal.ts';
import { type ContextSink, IncidentGrouper } from './incidents/grouper.ts';
import type { IncidentScope } from './incidents/incident.ts';
import { ScopeKeys } from './incidents/scope-keys.ts';
import { LogClassifier } from './log-class.ts';
import type { NormaliseContext } from './normalise/context.ts';
import { containerOf, containerReasonOf } from './normalise/events.ts';
import { decodeAndNormalise, type SignalTopicKind } from './normalise/record.ts';
import type { Hold, RecordSource } from './offsets.ts';
import type { Signal, SignalSite } from './signals.ts';
import { type BucketSources, ERROR_RATE, SpanStats } from './span-stats.ts';
import type { EventFacts, PodStatusChange, WorkloadResolver } from './workload.ts';
import { WORKLOAD_STATE_METRICS } from './workload-state.ts';

export type { SignalTopicKind } from './normalise/record.ts';

export interface PipelineStats {
  records: Record<SignalTopicKind, number>;
  bytes: Record<SignalTopicKind, number>;
  signals: Record<Signal['type'], number>;
  /** Events whose (uid, count) was already seen: re-deliveries and receiver re-emits. */
  duplicateEvents: number;
  /** Signals that say nothing is wrong (Normal events, healthy samples). */
  ignored: number;
  /** Pod-status facts taken from enrichment (terminations, waiting reasons, unschedulable pods). */
  podStatus: number;
}

/** Where processing a record failed: decoding its bytes, or after (normalise, then dedup/floors/grouping). */
export type RecordStage = 'decode' | 'normalise' | 'group';

/** Why a record goes to the dead-letter topic instead of the pipeline. */
export interface RecordFailure {
  code: string;
  message: string;
  stage: RecordStage;
  /**
   * A bug, not bad input: the record decoded, and then the pipeline threw (code INTERNAL_ERROR). It is
   * still dead-lettered (not lost), but reported as an internal error, with the stack.
   */
  internal?: { stack: string };
}

export interface PipelineOptions {
  config: Config;
  clock: Clock;
  resolver: WorkloadResolver;
  sink: ContextSink;
  /** Registers an incident's pending records with the offset ledger (run mode only). */
  trackHold?: (h: Hold) => void;
  /** Lets go of a hold whose records' outputs are settled (an open span bucket's, once it closed). */
  releaseHold?: (h: Hold) => void;
}

export class Pipeline {
  readonly stats: PipelineStats = {
    records: { logs: 0, metrics: 0, traces: 0 },
    bytes: { logs: 0, metrics: 0, traces: 0 },
    signals: { event: 0, container: 0, metric: 0, span_error: 0, log: 0 },
    duplicateEvents: 0,
    ignored: 0,
    podStatus: 0,
  };
  readonly dedup: WindowDedup;
  readonly anomalies: AnomalyDetector;
  readonly grouper: IncidentGrouper;
  readonly floors: NoiseFloors;
  readonly #spans: SpanStats;
  /** scopeKey per signal, one string per scope (scope-keys.ts). */
  readonly #keys = new ScopeKeys();
  readonly #clock: Clock;
  readonly #maxRecordBytes: number;
  readonly #topicKinds = new Map<string, SignalTopicKind>();
  readonly #normalReasons: ReadonlySet<string>;
  readonly #ctx: NormaliseContext;
  /** How far the record being processed got: a throw after decoding is ours (an internal error). */
  #stage: RecordStage = 'decode';
  /** Bound once: called by decodeAndNormalise between decoding and normalising (no closure per record). */
  readonly #normalising = (): void => {
    this.#stage = 'normalise';
  };
  /** The record being processed; signals derived from it hold its offset. */
  #src: RecordSource | undefined;
  /** The records behind the span bucket being closed: a finding it yields holds them all. */
  #bucketFrom: BucketSources | undefined;
  /** Enrichment rules: known-benign events are dropped (counted in stats.ignored). */
  readonly #ignoreEvent: ((e: EventFacts) => string | undefined) | undefined;
  /** The container state an ignored event reports is emitted right after it: dropped with it. */
  #ignoredEvent = false;
  /** Enrichment's pod-status facts (informers and snapshots alike), taken as the clock reaches them. */
  readonly #statusChanges: ((untilMs: number) => PodStatusChange[]) | undefined;
  /**
   * The cluster the telemetry names (k8s.cluster.name, else `cluster`): pod status joins the incidents
   * of the same cluster. One cluster per process, as enrichment watches one.
   */
  #cluster: string;

  constructor(opts: PipelineOptions) {
    const { config, clock } = opts;
    this.#clock = clock;
    this.#maxRecordBytes = config.kafka.maxRecordBytes;
    for (const t of config.kafka.topics.logs) this.#topicKinds.set(t, 'logs');
    for (const t of config.kafka.topics.metrics) this.#topicKinds.set(t, 'metrics');
    for (const t of config.kafka.topics.traces) this.#topicKinds.set(t, 'traces');
    this.#normalReasons = new Set(config.normalReasonsOfInterest);
    this.dedup = new WindowDedup({
      windowMs: config.dedup.window,
      maxEntries: config.dedup.maxEntries,
      clock,
    });
    this.anomalies = new AnomalyDetector(config.anomalies, {
      maxSeries: config.dedup.maxEntries,
      ttlMs: Math.max(config.grouping.resolveTimeout * 6, 3_600_000),
      clock,
    });
    const { trackHold, releaseHold } = opts;
    this.#spans = new SpanStats(
      config.spanBucket,
      config.spanMinSamples,
      undefined,
      trackHold && releaseHold ? { track: trackHold, release: releaseHold } : undefined,
    );
    this.grouper = new IncidentGrouper(
      config.grouping,
      clock,
      opts.sink,
      opts.trackHold,
      opts.resolver,
      config.correlation,
    );
    this.#ignoreEvent = opts.resolver.ignoreEvent?.bind(opts.resolver);
    this.floors = new NoiseFloors(config.floors);
    const floors = this.floors;
    const logClasses = new LogClassifier(config.floors.logPatterns);
    this.#statusChanges = opts.resolver.statusChanges?.bind(opts.resolver);
    this.#cluster = config.cluster;
    const onSignal = (s: Signal) => this.#onSignal(s);
    const onBucket = (s: Signal, from: BucketSources | undefined) => this.#onBucketSignal(s, from);
    this.#ctx = {
      defaultCluster: config.cluster,
      resolver: opts.resolver,
      recordTimeMs: 0,
      watchedMetrics: new Set([...this.anomalies.watchedMetrics, ...WORKLOAD_STATE_METRICS.keys()]),
      emit: onSignal,
      dropEvent: (cluster, eventType, reason) => this.#dropEvent(cluster, eventType, reason),
      observeServerSpan: (site, _service, atMs, durationMs, failed) =>
        this.#spans.observe(site, atMs, durationMs, failed, onBucket, this.#src),
      classifyLog: (body) => logClasses.classify(body),
      observeSpan: (site, atMs, failed, traceId) =>
        floors.observeSpan(this.#keys.of(scopeOf(site)), atMs, failed, traceId),
    };
  }

  topicKind(topic: string): SignalTopicKind | undefined {
    return this.#topicKinds.get(topic);
  }

  /**
   * Processes one Kafka record. Throws a KubetriageError (permanent) for a record that cannot be
   * decoded: the caller dead-letters it. Nothing is absorbed from a record that fails to decode.
   */
  processRecord(topic: string, value: Uint8Array, timestampMs: number, src?: RecordSource): void {
    const kind = this.#topicKinds.get(topic);
    if (!kind)
      throw new KubetriageError(
        'UNKNOWN_TOPIC',
        `Record from topic ${topic}, which no signal is configured for`,
      );
    this.stats.records[kind]++;
    this.stats.bytes[kind] += value.length;
    // Decode fully before normalising, so a corrupt tail never leaves half a record absorbed.
    const ctx = this.#ctx;
    ctx.recordTimeMs = timestampMs;
    this.#src = src;
    this.#stage = 'decode';
    try {
      decodeAndNormalise(kind, value, topic, ctx, this.#normalising);
    } finally {
      this.#src = undefined;
    }
  }

  /**
   * The entry point for both `run` and `replay`: processes a record, or says why it must be
   * dead-lettered (oversized, empty, undecodable). Never throws for bad input.
   */
  ingest(
    topic: string,
    value: Uint8Array | null,
    timestampMs: number,
    src?: RecordSource,
  ): RecordFailure | undefined {
    if (value === null) {
      return {
        code: 'DECODE_EMPTY_RECORD',
        message: `Record with no value on topic ${topic}`,
        stage: 'decode',
      };
    }
    if (value.length > this.#maxRecordBytes) {
      return {
        code: 'RECORD_TOO_LARGE',
        message: `Record of ${value.length} bytes on topic ${topic} exceeds kafka.maxRecordBytes (${this.#maxRecordBytes})`,
        stage: 'decode',
      };
    }
    this.#stage = 'decode';
    try {
      this.processRecord(topic, value, timestampMs, src);
      return undefined;
    } catch (err) {
      const stage = this.#stage;
      const { code, message } = describeError(err);
      if (stage === 'decode') return { code, message, stage };
      // The record decoded: whatever threw after is a bug in kubetriage, not a bad record.
      const stack = (err instanceof Error ? err.stack : undefined) ?? message;
      return { code: 'INTERNAL_ERROR', message: `${code}: ${message}`, stage, internal: { stack } };
    }
  }

  /**
   * Scale-out owners (stream/scaleout): what another replica's normalisers emitted for one record, applied
   * here as if this pipeline had decoded it, its signals holding `src`.
   */
  applyRemote(src: RecordSource | undefined, apply: (ctx: NormaliseContext) => void): void {
    this.#src = src;
    try {
      apply(this.#ctx);
    } finally {
      this.#src = undefined;
    }
  }

  /** Closes span buckets and fires grouping timers that are due at the clock's current time. */
  tick(): void {
    this.#takePodStatus();
    this.#spans.flush(this.#clock.now(), (s, from) => this.#onBucketSignal(s, from));
    this.grouper.tick();
  }

  /**
   * Pod status as the kubelet and scheduler wrote it (OOMKilled in lastState.terminated, a container
   * waiting in CrashLoopBackOff, a pod unschedulable), in the status's own time order. No Kafka record
   * carries these: they hold no offset.
   */
  #takePodStatus(): void {
    if (!this.#statusChanges) return;
    const now = this.#clock.now();
    for (const c of this.#statusChanges(now)) {
      this.stats.podStatus++;
      const rule = this.#ignoreEvent?.({
        namespace: c.namespace,
        reason: c.reason,
        objectKind: 'Pod',
        objectName: c.pod,
        message: c.message,
      });
      if (rule !== undefined) {
        this.stats.ignored++;
        continue;
      }
      const workload = this.#ctx.resolver.resolve(c.namespace, 'Pod', c.pod);
      const scope = scopeOf({
        cluster: this.#cluster,
        namespace: c.namespace,
        pod: c.pod,
        node: c.node,
        workload,
      });
      // The same fact through k8s_cluster's status metrics later is then a repeat, not a second count.
      if (c.container)
        this.dedup.seen(`c|${scope.cluster}|${c.namespace}|${c.pod}|${c.container}|${c.reason}`);
      // Through the same floors as telemetry: a pod that restarted once (lastState.terminated: Error)
      // is background; OOMKilled, a back-off, a config error or an unschedulable pod open at once.
      const u = fromPodStatus(c, now);
      const key = this.#keys.of(scope);
      if (c.kind === 'unschedulable' || this.floors.isDecisiveContainerReason(c.reason))
        this.#admit(scope, key, u, undefined, 'decisive', true);
      else {
        const series = `${key}|${c.pod}|${c.container}`;
        this.#admit(scope, key, u, undefined, 'restarts', this.floors.restartsAbove(series, u.atMs, 1));
      }
    }
  }

  /** End of input (replay) or shutdown/revoke (run): everything pending is emitted now. */
  flushAll(): void {
    this.grouper.flushAll();
  }

  /**
   * Revoke or shutdown (run): open span buckets are dropped and their records left to be re-read.
   * The returned holds still block those records' commit; the caller releases them after committing.
   */
  dropOpenBuckets(): Hold[] {
    return this.#spans.dropOpen();
  }

  #onBucketSignal(s: Signal, from: BucketSources | undefined): void {
    this.#bucketFrom = from;
    try {
      this.#onSignal(s);
    } finally {
      this.#bucketFrom = undefined;
    }
  }

  #onSignal(s: Signal): void {
    const outer = this.#stage;
    this.#stage = 'group';
    this.#route(s);
    this.#stage = outer;
  }

  /**
   * NormaliseContext.dropEvent: what #route does with a Normal Event nothing acts on, with the same
   * counts. An ignore rule would only count it as ignored too, and the flag it sets (#ignoredEvent) is
   * for the container signal that follows an Event, which a dropped one never has: the rules are not
   * asked. `kubetriage run` over the e2e bench topic: 1.45× records per CPU-second with this and the
   * scope keys of #scopeOf (bench/run-ab.ts, 7 interleaved rounds, median of the per-round ratios).
   */
  #dropEvent(cluster: string, eventType: string, reason: string): boolean {
    if (eventType === 'Warning' || this.#normalReasons.has(reason)) return false;
    this.stats.signals.event++;
    this.#cluster = cluster;
    this.#ignoredEvent = false;
    this.stats.ignored++;
    return true;
  }

  #route(s: Signal): void {
    this.#cluster = s.cluster;
    const src = this.#src;
    const floors = this.floors;
    const counts = this.stats.signals;
    // Counted per case by name: `counts[s.type]++`, a keyed load and store per signal, was the line of
    // #route with the most samples (~1 % of dedup + grouping in a CPU profile of bench/pipeline.ts's
    // stream at 0 % repeats, its normalised signals replayed).
    switch (s.type) {
      case 'event': {
        counts.event++;
        this.#ignoredEvent = false;
        if (this.#ignoreEvent?.(s) !== undefined) {
          this.#ignoredEvent = true;
          this.stats.ignored++;
          return;
        }
        // A Normal Event nothing acts on (Scheduled, Pulled, Started, …: most Events) is dropped before
        // dedup, as the scale-out ingest drops it (scaleout/ingest.ts): remembering its uid only filled
        // the window, and a re-delivery of it now counts as ignored, not as a duplicate. Two thirds of
        // bench/pipeline.ts's records; the dedup lookups were ~10 % of its dedup + grouping CPU profile.
        if (s.eventType !== 'Warning' && !this.#normalReasons.has(s.reason)) {
          this.stats.ignored++;
          return;
        }
        const delta = s.eventUid ? this.dedup.eventDelta(s.eventUid, s.count) : s.count;
        if (s.eventUid && delta === 0) {
          this.stats.duplicateEvents++;
          // A re-delivered or re-ordered update adds nothing, but its record is still part of an open
          // incident's provenance (and holds its offset until that incident's next context is durable).
          // One scope and one key for the lookup and the absorb (it was two scopes and three keys): half
          // of the bench topic's Warnings are re-deliveries, into open incidents (scopeOf, scopeKey and
          // isOpen were 8 % of `kubetriage run`'s allocated bytes over it, bench/lib/profile-child.ts).
          if (s.eventType === 'Warning') {
            const scope = this.#scopeOf(s);
            const key = this.#scopeKey;
            const open = this.grouper.find(scope, key);
            if (open) {
              const dup = fromEvent(s);
              dup.subFloor = true;
              this.grouper.absorb(scope, dup, src, key, open);
            }
          }
          return;
        }
        if (s.eventType !== 'Warning') {
          if (this.#normalReasons.has(s.reason) && s.workload) {
            this.grouper.noteScaling(scopeOf(s), s.message, s.atMs, src);
          } else this.stats.ignored++;
          return;
        }
        const scope = this.#scopeOf(s);
        const key = this.#scopeKey;
        const derived = s.objectKind === 'Pod' ? containerReasonOf(s.reason, s.message) : undefined;
        const u = fromEvent(
          s,
          derived ? { reason: derived, container: containerOf(s.fieldPath) } : undefined,
        );
        if (floors.isDecisiveEvent(s.reason) || (derived && floors.isDecisiveContainerReason(derived)))
          this.#admit(scope, key, u, src, 'decisive', true);
        else if (s.reason === 'Unhealthy' || s.reason === 'ProbeWarning')
          this.#admit(scope, key, u, src, 'probes', floors.probesAbove(key, s.atMs, delta));
        else this.#admit(scope, key, u, src, 'events', floors.eventsAbove(key, s.reason, s.atMs, delta));
        return;
      }
      case 'container': {
        counts.container++;
        // A container state an Event reported is that Event's fact: it joined the Event's item.
        if (s.via === 'event') {
          if (this.#ignoredEvent) this.stats.ignored++;
          this.#ignoredEvent = false;
          return;
        }
        const family = PULL_STATES.has(s.reason) ? 'ErrImagePull' : s.reason;
        const repeat = this.dedup.seen(`c|${s.cluster}|${s.namespace}|${s.pod}|${s.container}|${family}`);
        const scope = this.#scopeOf(s);
        const key = this.#scopeKey;
        const u = fromContainer(s, repeat, family);
        if (floors.isDecisiveContainerReason(s.reason)) this.#admit(scope, key, u, src, 'decisive', true);
        else {
          const series = `${key}|${s.pod}|${s.container}`;
          this.#admit(scope, key, u, src, 'restarts', floors.restartsAbove(series, s.atMs, repeat ? 0 : 1));
        }
        return;
      }
      case 'metric': {
        counts.metric++;
        // Replica counts are context for the incident; they may also feed an anomaly rule below.
        if (s.workload) this.grouper.noteWorkloadState(scopeOf(s), s);
        let found = false;
        this.anomalies.observe(s, (f) => {
          found = true;
          const scope = scopeOf(f.signal);
          const [cls, above] = this.#findingFloor(scope, f);
          this.#admit(scope, this.#keys.of(scope), fromFinding(f), src, cls, above);
          // A span bucket's finding holds every record of the bucket, not only the one that closed it.
          if (this.#bucketFrom) this.grouper.holdRecords(scope, this.#bucketFrom.records());
        });
        if (!found) this.stats.ignored++;
        return;
      }
      case 'span_error': {
        counts.span_error++;
        const u = fromSpanError(s);
        this.dedup.seen(`${s.cluster}|${s.namespace}|${u.key}`);
        const scope = this.#scopeOf(s);
        const key = this.#scopeKey;
        this.#admit(scope, key, u, src, 'spans', floors.spansAbove(key, s.atMs));
        if (s.callee && s.workload) this.grouper.noteCall(scope, s.callee, u.key);
        return;
      }
      case 'log': {
        counts.log++;
        const u = fromLog(s);
        this.dedup.seen(`${s.cluster}|${s.namespace}|${u.key}`);
        const scope = this.#scopeOf(s);
        const key = this.#scopeKey;
        floors.observeLog(key, s.atMs, s.traceId);
        this.#admit(scope, key, u, src, 'logs', floors.logsAbove(key, s.atMs));
        return;
      }
    }
  }

  /**
   * A signal's scopeOf(s), one object per scope (ScopeKeys.scopeOf), its scopeKey (flat) left in
   * #scopeKey: a key is built and hashed once per scope, not three times per signal (each lookup
   * hashed a fresh concatenation: grouper.find alone was 4.9 % self time of an in-process profile of
   * the bench topic's pipeline).
   */
  #scopeOf(s: SignalSite): IncidentScope {
    const scope = this.#keys.scopeOf(s);
    this.#scopeKey = this.#keys.lastKey;
    return scope;
  }

  /** The key of the scope #scopeOf returned last. */
  #scopeKey = '';

  /** Which floor an anomaly finding answers to, and whether it is above it. */
  #findingFloor(scope: IncidentScope, f: AnomalyFinding): [FloorClass, boolean] {
    const floors = this.floors;
    const at = f.signal.atMs;
    if (f.rule.detect === 'increase') {
      // A correction (a late sample moved restarts to another termination reason) adds none: it joins
      // what the finding it corrects joined, and never opens an incident itself.
      if (f.increase !== undefined && f.increase <= 0) return ['restarts', false];
      // A restart whose last termination was decisive (OOMKilled) is that fact, not background.
      if (f.rule.evidence === 'restart' && floors.isDecisiveContainerReason(f.signal.detail))
        return ['decisive', true];
      return [
        'restarts',
        floors.restartsAbove(f.seriesKey, at, f.increase ?? Math.max(1, Math.round(f.observed - f.expected))),
      ];
    }
    if (f.rule.detect === 'below_ratio') return ['persist', floors.persistAbove(f.seriesKey, at)];
    // The error-rate series is the spans' own rate: the same test as failed spans decides.
    if (f.signal.name === ERROR_RATE) return ['spans', floors.spansAbove(this.#keys.of(scope), at)];
    return ['findings', floors.findingsAbove(f.seriesKey, at)];
  }

  /**
   * The noise floors' gate before grouping. Above its floor, a signal opens its workload's incident (or
   * adds to it), and what was held below the floor is attached: the same departure's earlier signals as
   * evidence, the rest as context. Below it, a signal joins an open incident without keeping it open,
   * or is held (bounded, without its offsets: background must never block a commit).
   * `key` is scopeKey(scope), built once by the caller: a fresh concatenation was built and hashed three
   * times per signal (floors, find, absorb), ~1 % of a CPU profile of bench/pipeline.ts's stream.
   */
  #admit(
    scope: IncidentScope,
    key: string,
    u: EvidenceUpdate,
    src: RecordSource | undefined,
    cls: FloorClass,
    above: boolean,
  ): void {
    const floors = this.floors;
    const grouper = this.grouper;
    if (!floors.enabled) {
      grouper.absorb(scope, u, src, key);
      return;
    }
    (above ? floors.stats.above : floors.stats.below)[cls]++;
    const open = grouper.find(scope, key);
    if (open) {
      u.subFloor = !above;
      // Background from before the incident is context whether it arrived before or after it opened:
      // topics and partitions interleave differently live and in replay, the outcome must not.
      if (!above && open.openedBy) u.context = this.#isContext(u, cls, open.openedBy);
      // The incident just found: absorb does not look it up again (one Map lookup per signal fewer).
      grouper.absorb(scope, u, src, key, open);
      return;
    }
    if (!above) {
      floors.hold(key, u, cls);
      return;
    }
    const inc = grouper.absorb(scope, u, src, key);
    const opened = { cls, atMs: u.atMs };
    if (inc) inc.openedBy = opened;
    for (const h of floors.takeHeld(key, u.atMs)) {
      h.u.context = this.#isContext(h.u, h.cls, opened);
      h.u.subFloor = true;
      grouper.absorb(scope, h.u, undefined, key, inc);
    }
  }

  /**
   * Whether a sub-floor update is context for an incident opened by `opened`: it is evidence when it
   * happened at or after the opening, belongs to the same departure (same floor class, within its
   * window), or is the log line that explains a failing container (decisive fact or restarts).
   */
  #isContext(u: EvidenceUpdate, cls: FloorClass, opened: { cls: string; atMs: number }): boolean {
    if (u.atMs >= opened.atMs) return false;
    const floors = this.floors;
    const oc = opened.cls as FloorClass;
    if (cls === oc && u.atMs >= opened.atMs - floors.windowOf(oc)) return false;
    const explains = oc === 'decisive' || oc === 'restarts';
    return !(
      explains &&
      EXPLAINING_LOG.has(u.logClass) &&
      u.atMs >= opened.atMs - floors.windowOf('restarts')
    );
  }
}

// Log classes (floors.logPatterns) that say why a container failed.
const EXPLAINING_LOG = new Set(['config_error', 'crash']);
// An image's pull failures, whichever of the two states a status sample caught: one item, one count.
const PULL_STATES = new Set(['ErrImagePull', 'ImagePullBackOff']);

/** Signals with no identifiable workload still count: they group per namespace. */
export function scopeOf(s: SignalSite): IncidentScope {
  return {
    cluster: s.cluster,
    namespace: s.namespace,
    workload: s.workload ?? { kind: 'Namespace', name: s.namespace || '(cluster)' },
    environment: s.environment,
    environmentSource: s.environmentSource,
  };
}
