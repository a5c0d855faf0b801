// Scale-out owner: the second consumer group, on the signals topic. Each assigned signals partition
// gets its own PartitionOwner, rebuilt when its first record arrives: changelog partition read, then
// the signals partition re-read muted up to that record. Contexts go out with a changelog entry on the
// same partition number; a signals offset is committed once both are acknowledged.
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { contextJson } from '../incidents/context-json.ts';
import type { IncidentContextDoc } from '../incidents/document.ts';
import { baseClientConfig } from '../kafka/client-config.ts';
import type { InRecord } from '../kafka/consumer.ts';
import { type AckedProducer, PermanentProduceError } from '../kafka/producer.ts';
import type { Hold } from '../offsets.ts';
import type { Pipeline } from '../pipeline.ts';
import type { WorkloadResolver } from '../workload.ts';
import { type ChangelogEntry, changelogKey, decodeChangelog, encodeChangelog } from './changelog.ts';
import { ChangelogFollower } from './changelog-follower.ts';
import { ChangelogAbandonedError, ChangelogWriter } from './changelog-writer.ts';
import { GroupSide } from './group-side.ts';
import type { ScaleOutMetrics } from './metrics.ts';
import { PartitionOwner } from './partition-owner.ts';
import { PartitionReader } from './partition-reader.ts';
import type { PartitionPipelineMetrics } from './pipeline-metrics.ts';
import type { PodStatusRouter } from './pod-status-router.ts';
import { RemoteIncidents } from './remote-incidents.ts';

export class OwnerSide extends GroupSide {
  readonly owners = new Map<number, PartitionOwner>();
  /**
   * Partitions given up in a complete revoke, with the next offset they had committed: an eager
   * rebalance mostly hands a member its own partitions back, and when it resumes exactly there the
   * state is still right (Kafka Streams keeps its local stores the same way).
   */
  readonly #kept = new Map<number, { owner: PartitionOwner; next: number }>();
  readonly #resolver: WorkloadResolver;
  readonly #producer: AckedProducer;
  /** Changelog entries: a failed one is re-sent only while it is its incident's newest. */
  readonly #changelog: ChangelogWriter;
  readonly #metrics: ScaleOutMetrics;
  readonly #onContext: ((doc: IncidentContextDoc) => void) | undefined;
  readonly #reader: PartitionReader;
  /** The per-stage pipeline metrics of single-process mode, summed over the partitions' pipelines. */
  readonly #pipelineMetrics: PartitionPipelineMetrics | undefined;
  /** Pod-status facts of this replica's informers, for the partitions it is assigned. */
  readonly #podStatus: PodStatusRouter | undefined;
  /** Every partition's open incidents, from the changelog: `related` links across owners. */
  readonly remote: RemoteIncidents | undefined;
  readonly #follower: ChangelogFollower | undefined;

  constructor(opts: {
    config: Config;
    log: Logger;
    resolver: WorkloadResolver;
    producer: AckedProducer;
    metrics: ScaleOutMetrics;
    pipelineMetrics?: PartitionPipelineMetrics;
    podStatus?: PodStatusRouter;
    env?: NodeJS.ProcessEnv;
    onContext?: (doc: IncidentContextDoc) => void;
  }) {
    const so = opts.config.scaleOut;
    super({
      config: opts.config,
      log: opts.log.child({ side: 'owner' }),
      groupId: so.ownerGroupId ?? `${opts.config.kafka.groupId}-owners`,
      topics: [so.topics.signals],
      env: opts.env,
    });
    this.#resolver = opts.resolver;
    this.#producer = opts.producer;
    this.#metrics = opts.metrics;
    this.#changelog = new ChangelogWriter({
      send: (rec, onRetry, resend) => this.#producer.send(rec, onRetry, resend),
      onFailure: (key, err, attempt) => {
        this.#metrics.changelogSendFailures.inc();
        this.log.warn(
          { event: 'changelog_send_failed', key, attempt, err: err.message },
          'changelog entry not delivered; re-sending it while it is the newest of its incident',
        );
      },
      onSuperseded: (key) => {
        this.#metrics.changelogSuperseded.inc();
        this.log.info(
          { event: 'changelog_entry_superseded', key },
          'changelog entry not delivered and a newer revision of its incident was produced: not re-sent',
        );
      },
    });
    this.#onContext = opts.onContext;
    this.#pipelineMetrics = opts.pipelineMetrics;
    this.#podStatus = opts.podStatus;
    if (opts.config.correlation.enabled) {
      const remote = new RemoteIncidents(opts.config.grouping.maxOpenIncidents);
      remote.onChange = (r) => {
        for (const [p, o] of this.owners) if (p !== r.partition) o.pipeline.grouper.remoteChanged(r);
      };
      this.remote = remote;
      this.#follower = new ChangelogFollower({
        config: baseClientConfig(opts.config.kafka, opts.env),
        topic: so.topics.changelog,
        view: remote,
        log: this.log,
      });
    }
    this.#reader = new PartitionReader(baseClientConfig(opts.config.kafka, opts.env));
  }

  protected handle(rec: InRecord): void | Promise<void> {
    const owner = this.owners.get(rec.partition);
    if (owner) this.#apply(owner, rec);
    // The partition's first record: its state is resumed or rebuilt first.
    else
      return (async () => {
        const o =
          (await this.#resume(rec.partition, rec.offset)) ??
          (await this.#restoreRetrying(rec.partition, rec.offset));
        this.#apply(o, rec);
      })();
  }

  #apply(owner: PartitionOwner, rec: InRecord): void {
    const { applied, duplicate } = owner.groups;
    const result = owner.apply(rec.offset, rec.value, false);
    this.#metrics.ownerRecords.inc({ result });
    if (owner.groups.applied > applied)
      this.#metrics.ownerGroups.inc({ result: 'applied' }, owner.groups.applied - applied);
    if (owner.groups.duplicate > duplicate)
      this.#metrics.ownerGroups.inc({ result: 'duplicate' }, owner.groups.duplicate - duplicate);
    if (result === 'malformed')
      this.log.warn({ partition: rec.partition, offset: rec.offset }, 'skipping a malformed signals record');
    this.ledger.processed(owner.signals, rec.offset);
  }

  /** The partition's kept state when this record is exactly where it stopped; undefined otherwise. */
  async #resume(partition: number, offset: number): Promise<PartitionOwner | undefined> {
    const kept = this.#kept.get(partition);
    this.#kept.delete(partition);
    if (!kept) return undefined;
    if (kept.next !== offset) {
      this.#pipelineMetrics?.retire(kept.owner.pipeline);
      return undefined;
    }
    const entries: ChangelogEntry[] = [];
    try {
      await this.#reader.read(this.cfg.scaleOut.topics.changelog, partition, (r) => {
        const e = decodeChangelog(r.value);
        if (e) entries.push(e);
      });
    } catch {
      this.#pipelineMetrics?.retire(kept.owner.pipeline);
      return undefined;
    }
    kept.owner.continueRevisions(entries);
    kept.owner.signals = this.ledger.partition(this.cfg.scaleOut.topics.signals, partition);
    this.owners.set(partition, kept.owner);
    this.#metrics.ownedPartitions.set(this.owners.size);
    this.log.info({ partition, offset }, 'resumed partition state kept across the rebalance');
    return kept.owner;
  }

  /** A restore that fails (broker away, a read timing out) is retried: skipping would lose the record. */
  async #restoreRetrying(partition: number, upTo: number): Promise<PartitionOwner> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#restore(partition, upTo);
      } catch (err) {
        if (!this.running) throw err;
        this.log.warn(
          { partition, attempt, err: (err as Error).message },
          'partition restore failed; retrying',
        );
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * attempt)));
      }
    }
  }

  /** Rebuilds a partition's state from the changelog and the signals records before `upTo`. */
  async #restore(partition: number, upTo: number): Promise<PartitionOwner> {
    const started = Date.now();
    const { topics } = this.cfg.scaleOut;
    const entries = new Map<string, ChangelogEntry>();
    let invalid = 0;
    await this.#reader.read(topics.changelog, partition, (r) => {
      const e = decodeChangelog(r.value);
      if (e) entries.set(e.id, e);
      else if (r.value) invalid++;
    });
    const signals = this.ledger.partition(topics.signals, partition);
    const owner = new PartitionOwner({
      config: this.cfg,
      resolver: this.#resolver,
      signals,
      sink: (doc, hold) => this.#send(owner, doc, hold),
      trackHold: (h) => this.ledger.track(h),
      podStatus: this.#podStatus && ((p) => this.#podStatus!.takeFor(p)),
      ...(this.remote ? { remote: this.remote } : {}),
    });
    owner.beginRestore(entries.values());
    let replayed = 0;
    let skipped = 0;
    await this.#reader.read(
      topics.signals,
      partition,
      (r) => {
        replayed++;
        if (owner.apply(r.offset, r.value, true) !== 'applied') skipped++;
      },
      { until: upTo },
    );
    const continued = owner.endRestore();
    this.owners.set(partition, owner);
    this.#pipelineMetrics?.live(owner.pipeline);
    this.#metrics.restores.inc();
    this.#metrics.restoreSeconds.observe((Date.now() - started) / 1000);
    this.#metrics.ownedPartitions.set(this.owners.size);
    this.log.info(
      {
        partition,
        changelog: entries.size,
        invalid,
        replayed,
        skipped,
        continued,
        upTo,
        ms: Date.now() - started,
      },
      'restored partition state',
    );
    return owner;
  }

  /** A context and its changelog entry; the hold is released once the broker has both. */
  #send(owner: PartitionOwner, doc: IncidentContextDoc, hold: Hold | undefined): void {
    const json = contextJson(doc);
    const value = Buffer.from(json);
    const open = doc.status !== 'resolved';
    const entry = encodeChangelog(
      {
        id: doc.id,
        revision: doc.revision,
        status: open ? 'open' : 'resolved',
        at: Math.max(0, owner.signals.next),
      },
      open ? json : undefined,
    );
    Promise.all([
      this.#producer.send({ topic: this.cfg.kafka.topics.contexts, key: doc.id, value }),
      this.#changelog.write({
        topic: this.cfg.scaleOut.topics.changelog,
        key: changelogKey(doc.id),
        value: entry,
        partition: owner.signals.partition,
      }),
    ]).then(
      () => {
        if (hold) this.ledger.release(hold);
        this.#metrics.contexts.inc({ status: doc.status });
        this.#onContext?.(doc);
      },
      (err: Error) => {
        if (!(err instanceof PermanentProduceError)) {
          this.log.error(
            { err: err.message, incident: doc.id },
            err instanceof ChangelogAbandonedError
              ? 'changelog entry given up after the revoke; its records stay uncommitted'
              : 'context not sent at shutdown; its records stay uncommitted',
          );
          return;
        }
        // Larger than the topic takes: retrying forever would hold the partition's commits forever.
        this.#metrics.contexts.inc({ status: 'refused' });
        this.log.error(
          { err: err.message, incident: doc.id, revision: doc.revision, bytes: value.length },
          'broker refused a context or its changelog entry; its records are committed without it',
        );
        if (hold) this.ledger.release(hold);
      },
    );
  }

  /** Changelog records the follower read, and those that were no changelog entry (skipped). */
  get followed(): { records: number; invalid: number } {
    return this.#follower?.stats ?? { records: 0, invalid: 0 };
  }

  /** Follows every changelog partition (`related` links across owners), when correlation is on. */
  async followChangelog(partitions: number): Promise<void> {
    await this.#follower?.start(partitions);
  }

  override async stop(ms: number): Promise<boolean> {
    const done = await super.stop(ms);
    await this.#follower?.stop();
    await this.#reader.close();
    return done;
  }

  protected flush(): void {
    for (const o of this.owners.values()) o.pipeline.flushAll();
  }

  tick(): void {
    // The pipelines' clock in scale-out mode is the wall clock (partition-owner.ts).
    this.#podStatus?.route(Date.now());
    for (const o of this.owners.values()) o.pipeline.tick();
  }

  /**
   * Every pipeline whose state this replica holds: those of owned partitions and those kept after a
   * complete revoke until their partition's next record resumes or drops them (a rebalance would
   * otherwise read the state gauges as 0 while the memory is still held).
   */
  *heldPipelines(): Iterable<Pipeline> {
    for (const o of this.owners.values()) yield o.pipeline;
    for (const k of this.#kept.values()) yield k.owner.pipeline;
  }

  protected override assigned(partitions: number[]): void {
    this.#podStatus?.assigned(partitions);
    // State kept for partitions that went to another member is stale from now on.
    for (const [p, kept] of this.#kept)
      if (!partitions.includes(p)) {
        this.#kept.delete(p);
        this.#pipelineMetrics?.retire(kept.owner.pipeline);
      }
  }

  protected override revoked(complete: boolean): void {
    this.#podStatus?.revoked();
    // The new owners rebuild from what was committed and send newer entries of the same incidents:
    // ours, re-sent after theirs, would be what compaction keeps.
    if (!complete) {
      const abandoned = this.#changelog.abandonAll();
      if (abandoned > 0)
        this.log.warn(
          { event: 'changelog_entries_abandoned', entries: abandoned },
          'changelog entries not delivered before the revoke: not re-sent; their records stay uncommitted',
        );
    }
    for (const kept of this.#kept.values()) this.#pipelineMetrics?.retire(kept.owner.pipeline);
    this.#kept.clear();
    for (const [p, owner] of this.owners)
      if (complete) this.#kept.set(p, { owner, next: owner.signals.next });
      else this.#pipelineMetrics?.retire(owner.pipeline);
    // The next owner rebuilds from what was committed; nothing of ours may linger (or emit) here.
    this.owners.clear();
    this.#metrics.ownedPartitions.set(0);
  }

  get openIncidents(): number {
    let n = 0;
    for (const o of this.owners.values()) n += o.pipeline.grouper.open;
    return n;
  }
}
