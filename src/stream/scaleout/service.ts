// `kubetriage run` with scaleOut.enabled: the ingest side (input topics → signals topic keyed by incident
// scope) and the owner side (signals topic → incidents → contexts and changelog) in one process, each
// its own consumer group, so replicas share both halves and each workload has exactly one owner.
import type { Registry } from 'prom-client';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { counterFromStats, gaugeFrom } from '../../core/metrics.ts';
import type { IncidentContextDoc } from '../incidents/document.ts';
import { scopeKey } from '../incidents/incident.ts';
import { baseClientConfig, type RdKafkaConfig, reliableProducerConfig } from '../kafka/client-config.ts';
import { AckedProducer, type ProducerClient } from '../kafka/producer.ts';
import { scopeOf } from '../pipeline.ts';
import type { WorkloadResolver } from '../workload.ts';
import { IngestSide } from './ingest-side.ts';
import { scaleOutMetrics } from './metrics.ts';
import { OwnerSide } from './owner-side.ts';
import { PartitionPipelineMetrics } from './pipeline-metrics.ts';
import { PodStatusRouter } from './pod-status-router.ts';
import { ensureScaleOutTopics } from './topics.ts';

export interface ScaleOutServiceOptions {
  config: Config;
  log: Logger;
  registry: Registry;
  resolver: WorkloadResolver;
  env?: NodeJS.ProcessEnv;
  onContext?: (doc: IncidentContextDoc) => void;
  /** The librdkafka producer client (a HighLevelProducer by default); tests wrap a real one. */
  producerClient?: (config: RdKafkaConfig) => ProducerClient;
}

export class ScaleOutService {
  readonly ingest: IngestSide;
  readonly owner: OwnerSide;
  readonly #producer: AckedProducer;
  readonly #cfg: Config;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(opts: ScaleOutServiceOptions) {
    this.#cfg = opts.config;
    this.#env = opts.env;
    this.#log = opts.log;
    const metrics = scaleOutMetrics(opts.registry);
    this.#producer = new AckedProducer(
      reliableProducerConfig(opts.config.kafka, opts.env),
      opts.producerClient,
    );
    this.#producer.onError = (err, topic, attempt) =>
      this.#log.error(
        { err: err.message, topic, attempt },
        'produce failed; retrying (offsets stay uncommitted)',
      );
    // Ingest's signals records and the owners' contexts and changelog share this producer: one rebuild
    // serves both, each send going again on the new client (ingest still one record per partition in
    // flight, the changelog still newest-last).
    this.#producer.onRebuild = (err) => {
      metrics.producerRebuilds.inc();
      this.#log.error(
        { event: 'producer_rebuilt', err: err.message, code: (err as { code?: unknown }).code },
        'producer stopped by a fatal error; replacing it and re-sending every record not acknowledged (their offsets stay uncommitted until they are)',
      );
    };
    this.#producer.onRebuildFailed = (err, attempt) =>
      this.#log.warn(
        { event: 'producer_rebuild_failed', err: err.message, attempt },
        'new producer did not connect; trying again',
      );
    const common = {
      config: opts.config,
      log: opts.log,
      resolver: opts.resolver,
      producer: this.#producer,
      metrics,
      env: opts.env,
    };
    this.ingest = new IngestSide(common);
    const pipelineMetrics = new PartitionPipelineMetrics(opts.registry, () => this.owner.heldPipelines(), {
      kubetriage_signals_total: () =>
        Object.entries(this.ingest.splitter.stats.droppedByType).map(([type, v]) => [{ type }, v]),
    });
    const podStatus = podStatusRouter(opts.resolver, this.ingest);
    this.owner = new OwnerSide({ ...common, pipelineMetrics, podStatus, onContext: opts.onContext });
    if (podStatus)
      counterFromStats(
        opts.registry,
        'kubetriage_scaleout_pod_status_total',
        'Pod-status facts from enrichment, by where they went: routed (to a partition this replica owns), elsewhere (another replica owns the workload and counts its own copy), dropped (queue full while the partition was being restored)',
        ['result'],
        () => Object.entries(podStatus.stats).map(([result, v]) => [{ result }, v]),
      );
    const remote = this.owner.remote;
    if (remote) {
      gaugeFrom(
        opts.registry,
        'kubetriage_scaleout_remote_incidents',
        "Open incidents of every signals partition, from the owners' changelog (related links across owners)",
        [],
        () => [[{}, remote.size]],
      );
      counterFromStats(
        opts.registry,
        'kubetriage_scaleout_remote_incident_updates_total',
        "Owners' changelog records followed, by result: open (an incident or a new revision of it), resolved, evicted (the view was full), invalid (no changelog entry: skipped)",
        ['result'],
        () => [
          ...Object.entries(remote.stats).map(([result, v]): [Record<string, string>, number] => [
            { result },
            v,
          ]),
          [{ result: 'invalid' }, this.owner.followed.invalid],
        ],
      );
    }
    const split = this.ingest.splitter.stats;
    counterFromStats(
      opts.registry,
      'kubetriage_records_total',
      'Kafka records consumed, by signal',
      ['signal'],
      () => Object.entries(split.records).map(([signal, v]) => [{ signal }, v]),
    );
    counterFromStats(
      opts.registry,
      'kubetriage_record_bytes_total',
      'Bytes of Kafka record values consumed, by signal',
      ['signal'],
      () => Object.entries(split.bytes).map(([signal, v]) => [{ signal }, v]),
    );
    gaugeFrom(opts.registry, 'kubetriage_incidents_open', 'Incidents currently open', [], () => [
      [{}, this.owner.openIncidents],
    ]);
  }

  async start(): Promise<void> {
    // Ingest computes each scope's partition itself: from the count the topic has.
    const partitions = await ensureScaleOutTopics(
      baseClientConfig(this.#cfg.kafka, this.#env),
      this.#cfg.scaleOut,
    );
    this.ingest.signalsPartitions = partitions;
    await this.#producer.connect();
    await this.owner.followChangelog(partitions);
    await this.owner.start();
    await this.ingest.start();
    this.#started = true;
    // Timers fire even when no records arrive (group_wait, resolve_timeout).
    this.#timer = setInterval(() => this.owner.tick(), 1000);
    this.#log.info(
      { signals: this.#cfg.scaleOut.topics.signals, group: this.#cfg.kafka.groupId },
      'consuming',
    );
  }

  /** Ingest stops first (its signals reach the owners' partitions), then the owners flush and commit. */
  async stop(graceMs = 30_000): Promise<{ complete: boolean }> {
    if (!this.#started) return { complete: true };
    const deadline = Date.now() + graceMs;
    if (this.#timer) clearInterval(this.#timer);
    const ingested = await this.ingest.stop(Math.max(0, (deadline - Date.now()) / 2 - 1000));
    const owned = await this.owner.stop(Math.max(0, deadline - Date.now() - 3000));
    await this.#producer.disconnect(Math.max(0, deadline - Date.now() - 500));
    const complete = ingested && owned;
    if (complete) this.#log.info('stopped: everything flushed and committed');
    else this.#log.warn('stopped with records not committed: they are re-read after a restart');
    return { complete };
  }

  health(): { ok: boolean; detail: Record<string, unknown> } {
    const stalled = Date.now() - Math.min(this.ingest.lastLoopAt, this.owner.lastLoopAt);
    return { ok: !this.#started || stalled < 60_000, detail: { loopStalledMs: stalled } };
  }

  readiness(): { ok: boolean; detail: Record<string, unknown> } {
    const reasons: string[] = [];
    if (!this.#started || !this.ingest.running) reasons.push('not consuming');
    if (this.ingest.draining || this.owner.draining) reasons.push('draining');
    const failing = [this.ingest.commitFailingSince, this.owner.commitFailingSince].filter(
      (x) => x !== undefined,
    );
    if (failing.some((t) => Date.now() - t > this.#cfg.kafka.readiness.commitFailureTimeout))
      reasons.push('offset commits failing');
    return {
      ok: reasons.length === 0,
      detail: { ownedPartitions: this.owner.owners.size, ...(reasons.length ? { reasons } : {}) },
    };
  }
}

/**
 * Pod-status facts go to the partition ingest sends the same scope's telemetry to: the scope as
 * Pipeline builds it for a fact (the cluster telemetry names, the pod's workload), keyed and
 * partitioned alike.
 */
function podStatusRouter(resolver: WorkloadResolver, ingest: IngestSide): PodStatusRouter | undefined {
  if (!resolver.statusChanges) return undefined;
  return new PodStatusRouter({
    take: (untilMs) => resolver.statusChanges?.(untilMs) ?? [],
    partitionOf: (c) =>
      ingest.splitter.partitionOfScope(
        scopeKey(
          scopeOf({
            cluster: ingest.splitter.cluster,
            namespace: c.namespace,
            pod: c.pod,
            node: c.node,
            workload: resolver.resolve(c.namespace, 'Pod', c.pod),
          }),
        ),
      ),
  });
}
