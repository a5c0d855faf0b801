// One signals partition's state on its owner: a whole pipeline (dedup, floors, anomalies, incidents)
// fed by the partition's records in order, plus, per input partition, the (offset, index) already
// absorbed. Groups (one input record's signals within a signals record) at or below that mark are
// re-deliveries (an ingest replica re-read its input after a crash or a rebalance and produced them
// again, batched differently): skipped group by group, so a count never grows twice. The state is a function of
// the partition's records, so an owner rebuilds it on assignment by re-reading them (muted: nothing
// is sent, nothing held) and continues the incidents' revisions from the changelog.
import type { Config } from '../../core/config.ts';
import { wallClock } from '../clock.ts';
import type { IncidentContextDoc } from '../incidents/document.ts';
import type { ContextSink } from '../incidents/grouper.ts';
import { type Hold, OffsetLedger, type PartitionState } from '../offsets.ts';
import { Pipeline } from '../pipeline.ts';
import type { PodStatusChange, WorkloadResolver } from '../workload.ts';
import type { ChangelogEntry } from './changelog.ts';
import { forEachSignalsGroup } from './codec.ts';
import type { RemoteIncidents } from './remote-incidents.ts';

export type ApplyResult = 'applied' | 'duplicate' | 'malformed';

export class PartitionOwner {
  readonly pipeline: Pipeline;
  /** The signals partition (commits and holds); a new ledger entry when the partition comes back. */
  signals: PartitionState;
  /** Input partitions, only as identities for the contexts' provenance. */
  readonly #inputs = new OffsetLedger();
  /** Per input partition, the last (offset, index) absorbed. */
  readonly #absorbed = new Map<PartitionState, { offset: number; index: number }>();
  /** Groups (one input record's signals each) applied and skipped as re-deliveries, since this owner began. */
  readonly groups = { applied: 0, duplicate: 0 };
  /** Restore only: incidents the previous owner resolved, by the signals offset they were resolved at. */
  #resolved: ChangelogEntry[] = [];
  #revisions = new Map<string, number>();
  /** Restore only: incidents restored from their context, by the signals offset the context holds up to. */
  #frozenUntil: { key: string; at: number }[] = [];

  constructor(opts: {
    config: Config;
    resolver: WorkloadResolver;
    signals: PartitionState;
    sink: ContextSink;
    trackHold: (h: Hold) => void;
    /** The other partitions' open incidents, for `related` links across owners; none when absent. */
    remote?: RemoteIncidents;
    /** This partition's pod-status facts (PodStatusRouter); none when absent. */
    podStatus?: (partition: number) => PodStatusChange[];
  }) {
    this.signals = opts.signals;
    this.pipeline = new Pipeline({
      config: partitionShare(opts.config),
      clock: wallClock,
      resolver: withPartitionPodStatus(opts.resolver, opts.podStatus, opts.signals.partition),
      sink: (doc, hold, inc) => {
        // An incident the previous owner already sent goes on from its last revision, whether it was
        // rebuilt from committed records or from records re-read live (sent, but not committed).
        const sent = this.#revisions.get(doc.id);
        if (sent !== undefined) {
          this.#revisions.delete(doc.id);
          if (doc.revision <= sent) {
            doc.revision = sent + 1;
            inc.revision = doc.revision;
          }
        }
        opts.sink(doc, hold, inc);
      },
      trackHold: opts.trackHold,
    });
    const remote = opts.remote;
    const partition = opts.signals.partition;
    if (remote)
      this.pipeline.grouper.remotePeer = (key) => {
        const r = remote.get(key);
        return r && r.partition !== partition ? r : undefined;
      };
  }

  /** Kept across a rebalance: revisions another owner may have sent meanwhile still go on from theirs. */
  continueRevisions(entries: Iterable<ChangelogEntry>): void {
    for (const e of entries) this.#revisions.set(e.id, Math.max(e.revision, this.#revisions.get(e.id) ?? 0));
  }

  /** Before a rebuild: what the changelog says about this partition's incidents. */
  beginRestore(entries: Iterable<ChangelogEntry>): void {
    const grouper = this.pipeline.grouper;
    const docs: IncidentContextDoc[] = [];
    for (const e of entries) {
      this.#revisions.set(e.id, e.revision);
      if (e.status === 'resolved') this.#resolved.push(e);
      else if (e.doc) {
        docs.push(e.doc);
        const s = e.doc.scope;
        this.#frozenUntil.push({
          key: `${s.cluster}/${s.namespace}/${s.workload.kind}/${s.workload.name}`,
          at: e.at,
        });
      }
    }
    this.#resolved.sort((a, b) => a.at - b.at);
    // Open incidents come back whole from their last context; the records it already holds are re-read
    // for the floors, baselines and dedup only (frozen until the offset the context was sent at).
    grouper.restore(docs, (topic, partition) => this.#inputs.partition(topic, partition));
    this.#frozenUntil.sort((a, b) => a.at - b.at);
    grouper.frozen = new Set(this.#frozenUntil.map((f) => f.key));
  }

  /** After a rebuild: resolved incidents stay gone. Returns how many rebuilt incidents continue. */
  endRestore(): number {
    this.#forgetResolved(Number.POSITIVE_INFINITY);
    let n = 0;
    for (const inc of this.pipeline.grouper.incidents()) if (this.#revisions.has(inc.id)) n++;
    return n;
  }

  /**
   * Applies one signals record, group by group (one group per input record; formats 1 and 2 hold
   * one). A group at or below its input partition's mark is a re-delivery and skipped; the record is
   * `duplicate` when all of its groups are. `muted` (rebuild): no holds; its outputs were already
   * acknowledged before the offset was committed. Otherwise the record holds its signals offset until
   * its incidents' next contexts are acknowledged.
   */
  apply(offset: number, value: Buffer | null, muted: boolean): ApplyResult {
    if (muted) this.#forgetResolved(offset);
    // Also live: records sent in a context but not committed before a crash are re-read live.
    if (this.#frozenUntil.length > 0) this.#thaw(offset);
    const holdAt = muted ? null : { partition: this.signals, offset };
    const groups = this.groups;
    const before = groups.applied;
    const ok = forEachSignalsGroup(value, (s, emit) => {
      const input = this.#inputs.partition(s.topic, s.partition);
      const last = this.#absorbed.get(input);
      if (last && (s.offset < last.offset || (s.offset === last.offset && s.index <= last.index))) {
        groups.duplicate++;
        return;
      }
      if (last) {
        last.offset = s.offset;
        last.index = s.index;
      } else this.#absorbed.set(input, { offset: s.offset, index: s.index });
      groups.applied++;
      this.pipeline.applyRemote({ partition: input, offset: s.offset, timestamp: s.timestamp, holdAt }, emit);
    });
    if (!ok) return 'malformed';
    return groups.applied > before ? 'applied' : 'duplicate';
  }

  #thaw(offset: number): void {
    const frozen = this.pipeline.grouper.frozen;
    while (this.#frozenUntil.length > 0 && this.#frozenUntil[0]!.at <= offset)
      frozen?.delete(this.#frozenUntil.shift()!.key);
    if (this.#frozenUntil.length === 0) this.pipeline.grouper.frozen = undefined;
  }

  #forgetResolved(upTo: number): void {
    while (this.#resolved.length > 0 && this.#resolved[0]!.at <= upTo)
      this.pipeline.grouper.forget(this.#resolved.shift()!.id);
  }
}

/**
 * A partition holds about 1/partitions of the workloads, so its pipeline gets that share of the
 * configured bounds, twice over for skew. lru-cache allocates its arrays for `max` entries up front:
 * twelve pipelines at the process-wide bounds took 1.3 s of CPU per assignment and hundreds of MB.
 */
export function partitionShare(config: Config): Config {
  const n = config.scaleOut.partitions;
  const share = (v: number, min: number) => Math.max(min, Math.ceil((2 * v) / n));
  const f = config.floors;
  return {
    ...config,
    dedup: { ...config.dedup, maxEntries: share(config.dedup.maxEntries, 1000) },
    floors: {
      ...f,
      spans: { ...f.spans, recentTraces: share(f.spans.recentTraces, 1000) },
      context: { ...f.context, maxWorkloads: share(f.context.maxWorkloads, 100) },
    },
    grouping: { ...config.grouping, maxOpenIncidents: share(config.grouping.maxOpenIncidents, 100) },
    correlation: { ...config.correlation, maxWorkloads: share(config.correlation.maxWorkloads, 100) },
  };
}

/**
 * Pod-status facts come from this process's informers for every workload, not per partition: taking
 * them from the shared feed in each partition's pipeline would drain it into whichever ticks first.
 * The pipeline takes only its own partition's share (PodStatusRouter), or none.
 */
function withPartitionPodStatus(
  resolver: WorkloadResolver,
  podStatus: ((partition: number) => PodStatusChange[]) | undefined,
  partition: number,
): WorkloadResolver {
  const statusChanges = podStatus ? () => podStatus(partition) : undefined;
  return new Proxy(resolver, {
    get(target, key) {
      if (key === 'statusChanges') return statusChanges;
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
