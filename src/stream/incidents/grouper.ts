import type { Config } from '../../core/config.ts';
import type { Clock } from '../clock.ts';
import type { PeerRef } from '../normalise/peer.ts';
import type { Hold, PartitionState, RecordSource } from '../offsets.ts';
import type { MetricSignal } from '../signals.ts';
import type { PersistingFault, WorkloadResolver, WorkloadRollout } from '../workload.ts';
import { type WorkloadState, WorkloadStates } from '../workload-state.ts';
import { CallGraph, type CallTarget } from './call-graph.ts';
import { type IncidentContextDoc, iso, type RelatedDoc, type RolloutDoc } from './document.ts';
import { blankUpdate, type EvidenceUpdate } from './evidence.ts';
import { Incident, type IncidentScope, scopeKey } from './incident.ts';
import { linkCaller, linkImpact, type RelationCounts } from './related.ts';
import { RolloutMemory } from './rollouts.ts';

/**
 * Scale-out: an open incident another partition's pipeline owns (src/stream/scaleout/remote-incidents.ts),
 * enough of it to link to: its id, scope, first failure and the links its owner made.
 */
export interface PeerIncident {
  id: string;
  scope: IncidentScope;
  firstSignalAt: number;
  related: readonly RelatedDoc[];
}

/** Receives each context as it is due; `hold` must be released once the context is durable. */
export type ContextSink = (doc: IncidentContextDoc, hold: Hold | undefined, incident: Incident) => void;

export interface GrouperStats {
  opened: number;
  resolved: number;
  emitted: number;
  evicted: number;
  /** Resolves put off because the fault still showed, by PersistingFault reason (once per incident and reason). */
  deferred: Record<string, number>;
}

/**
 * Groups evidence into one incident per (cluster, namespace, workload), with Alertmanager's timing:
 * the first context `group_wait` after the first signal, later revisions at most every
 * `group_interval`, and `resolved` after `resolve_timeout` without a new problem signal.
 */
export class IncidentGrouper {
  readonly stats: GrouperStats = { opened: 0, resolved: 0, emitted: 0, evicted: 0, deferred: {} };
  readonly #incidents = new Map<string, Incident>();
  readonly #rollouts: RolloutMemory;
  readonly #states = new WorkloadStates();
  readonly #cfg: Config['grouping'];
  readonly #clock: Clock;
  readonly #sink: ContextSink;
  /** Earliest time any timer can fire; tick() is a no-op before it, so calling it per record is cheap. */
  #due = Number.POSITIVE_INFINITY;

  readonly #trackHold: (h: Hold) => void;
  /** Enrichment: team and the cluster's rollout timeline, when the resolver knows the cluster. */
  readonly #describe: WorkloadResolver['describe'];
  /** Enrichment: which ReplicaSet (revision) a failing pod belongs to. */
  readonly #podRevision: WorkloadResolver['podRevision'];
  /** Failing calls between workloads (null: correlation off). */
  readonly callGraph: CallGraph | null;
  readonly #maxRelated: number;
  /** Links made, by relation (metrics). */
  readonly links: RelationCounts = { upstream: 0, impact: 0 };
  /**
   * Scale-out: incidents of the other partitions by scope key (undefined: this pipeline sees every
   * workload, as in single-process mode). Links to them are made on the caller's side only; their owner
   * takes the impact side from this pipeline's contexts (remoteChanged).
   */
  remotePeer: ((key: string) => PeerIncident | undefined) | undefined;
  /** Callers whose links may have changed (a new failing edge, or a peer incident opened). */
  readonly #staleCallers = new Set<string>();
  /** Enrichment: whether a workload's fault still shows in the cluster (a quiet incident stays open). */
  readonly #currentFault: WorkloadResolver['currentFault'];

  /** `trackHold` makes the offset ledger see an incident's unsent records (no-op in replay). */
  constructor(
    cfg: Config['grouping'],
    clock: Clock,
    sink: ContextSink,
    trackHold: (h: Hold) => void = () => {},
    resolver?: WorkloadResolver,
    correlation?: Config['correlation'],
  ) {
    this.#trackHold = trackHold;
    this.#describe = resolver?.describe?.bind(resolver);
    this.#podRevision = resolver?.podRevision?.bind(resolver);
    this.#currentFault = resolver?.currentFault?.bind(resolver);
    this.#cfg = cfg;
    this.#clock = clock;
    this.#sink = sink;
    this.#rollouts = new RolloutMemory(cfg.rolloutMemory);
    this.#maxRelated = correlation?.maxRelated ?? 20;
    this.callGraph = correlation?.enabled
      ? new CallGraph({
          ttlMs: correlation.edgeTtl,
          maxEdgesPerCaller: correlation.maxEdgesPerWorkload,
          maxCallers: correlation.maxWorkloads,
          serviceWorkloads: resolver?.serviceWorkloads?.bind(resolver),
        })
      : null;
  }

  get open(): number {
    return this.#incidents.size;
  }

  incidents(): IterableIterator<Incident> {
    return this.#incidents.values();
  }

  /** Whether the scope has an open incident (sub-floor signals join it; alone they open none). */
  isOpen(scope: IncidentScope): boolean {
    return this.#incidents.has(scopeKey(scope));
  }

  /** The scope's open incident, if any; `key`: its scopeKey, when the caller has it already. */
  find(scope: IncidentScope, key = scopeKey(scope)): Incident | undefined {
    return this.#incidents.get(key);
  }

  /**
   * Scale-out restore: scopes whose incident was restored from a context that already holds the
   * records now being re-read; their evidence is not absorbed twice (floors and baselines still are).
   */
  frozen: Set<string> | undefined;

  /**
   * A problem signal's evidence: opens the scope's incident or adds to it. `key`: the scope's scopeKey
   * when the caller has it (the pipeline builds it once per signal, not once per lookup); `open`: the
   * scope's open incident when the caller just found it (find), so it is not looked up again. Returns
   * the incident it went to (undefined when the scope is frozen).
   */
  absorb(
    scope: IncidentScope,
    u: EvidenceUpdate,
    src: RecordSource | undefined,
    key = scopeKey(scope),
    open?: Incident,
  ): Incident | undefined {
    const now = this.#clock.now();
    if (this.frozen?.has(key)) return undefined;
    let inc = open ?? this.#incidents.get(key);
    if (!inc) {
      if (this.#incidents.size >= this.#cfg.maxOpenIncidents) this.#evictOldest();
      inc = new Incident(scope, u.atMs, now, this.#cfg.groupWait);
      this.#incidents.set(inc.key, inc);
      this.stats.opened++;
      this.#attachRollouts(inc);
      inc.workloadState = this.#states.get(key);
      if (this.callGraph) {
        // Callers already failing towards this workload get their upstream link; its own calls too.
        this.#staleCallers.add(inc.key);
        for (const c of this.callGraph.callersOf(scope.cluster, scope.namespace, scope.workload.name))
          this.#staleCallers.add(c);
      }
    }
    if (u.pod && !u.revision && this.#podRevision) u.revision = this.#podRevision(scope.namespace, u.pod);
    // The telemetry's deployment.environment, unless the namespace's labels said otherwise (attachRollouts).
    if (
      scope.environment &&
      !inc.environmentSource?.startsWith('label') &&
      !inc.environmentSource?.startsWith('annotation')
    ) {
      if (inc.environment !== scope.environment) inc.dirty = true;
      inc.environment = scope.environment;
      inc.environmentSource = scope.environmentSource ?? 'resource';
    }
    inc.absorb(u, this.#cfg.maxEvidence);
    if (u.context) return inc;
    if (u.atMs < inc.firstSignalAt) inc.firstSignalAt = u.atMs;
    // Background below its noise floor is recorded, but does not keep an incident from resolving.
    if (!u.subFloor) inc.lastProblemAt = now;
    inc.lastUpdateAt = now;
    if (src) this.#source(inc, src);
    if (inc.pending && inc.nextEmitAt < this.#due) this.#due = inc.nextEmitAt;
    return inc;
  }

  /**
   * Takes over open incidents from their latest contexts (read back at start-up), so that records
   * re-read after a restart continue the same incidents: same ids, revisions counting on.
   */
  restore(
    docs: Iterable<IncidentContextDoc>,
    partitionOf: (topic: string, partition: number) => PartitionState,
  ): number {
    const now = this.#clock.now();
    let n = 0;
    for (const doc of docs) {
      if (doc.status !== 'open') continue;
      const inc = Incident.fromDoc(doc, now, this.#cfg.groupInterval, partitionOf);
      if (this.#incidents.has(inc.key)) continue;
      this.#incidents.set(inc.key, inc);
      n++;
    }
    this.#due = Math.min(this.#due, this.nextDue());
    return n;
  }

  /** Scale-out restore: an incident the previous owner resolved leaves the rebuilt state, unsent. */
  forget(id: string): boolean {
    for (const [key, inc] of this.#incidents)
      if (inc.id === id) {
        this.#incidents.delete(key);
        return true;
      }
    return false;
  }

  /** A failed client call of `scope`'s workload to `peer`, recorded in its evidence item `evidenceKey`. */
  noteCall(scope: IncidentScope, peer: PeerRef, evidenceKey: string): void {
    if (!this.callGraph) return;
    const key = scopeKey(scope);
    if (this.callGraph.note(key, scope.cluster, peer, evidenceKey, this.#clock.now()))
      this.#staleCallers.add(key);
  }

  /** Links stale callers' incidents to their peers' open incidents; linked incidents owe a revision. */
  #relink(): void {
    const graph = this.callGraph;
    if (!graph) return;
    const now = this.#clock.now();
    // Sorted: the order links are made in decides ties (calls both ways), so replay stays byte-stable.
    const callers = [...this.#staleCallers].sort();
    this.#staleCallers.clear();
    for (const key of callers) {
      const inc = this.#incidents.get(key);
      if (!inc) continue;
      const edges = graph.edgesOf(key, now);
      if (edges.length === 0) continue;
      const changed = linkCaller(
        inc,
        edges,
        (t) => this.#peersOf(inc.scope.cluster, t),
        this.#maxRelated,
        this.links,
      );
      for (const c of changed) {
        // A shadow of another partition's incident: its owner links its own side.
        if (this.#incidents.get(c.key) === c) this.#relinked(c, now);
      }
    }
  }

  /** Its links changed: it owes a revision. */
  #relinked(inc: Incident, now: number): void {
    inc.dirty = true;
    inc.pending = true;
    inc.lastUpdateAt = now;
    if (inc.nextEmitAt < this.#due) this.#due = inc.nextEmitAt;
  }

  /** Open incidents of the workloads behind a call target. */
  #peersOf(cluster: string, t: CallTarget): Incident[] {
    const out: Incident[] = [];
    const at = (kind: string, name: string) => {
      const key = scopeKey({ cluster, namespace: t.namespace, workload: { kind, name } });
      const inc = this.#incidents.get(key) ?? this.#shadow(this.remotePeer?.(key));
      if (inc && !out.some((o) => o.id === inc.id)) out.push(inc);
    };
    if (t.workloads) {
      for (const w of t.workloads) at(w.kind, w.name);
      // A peer whose telemetry lacks k8s attributes groups under its OTel service name.
      if (out.length === 0)
        for (const name of [t.service, ...t.workloads.map((w) => w.name)]) at('Service', name);
    }
    // Without the Service's selector: the workload (or OTel service) named like the Service.
    else for (const kind of PEER_KINDS) at(kind, t.service);
    return out;
  }

  /** An Incident standing in for another partition's, for linkCaller; never emitted or kept. */
  #shadow(r: PeerIncident | undefined): Incident | undefined {
    if (!r) return undefined;
    const inc = new Incident(r.scope, r.firstSignalAt, this.#clock.now(), 0, r.id);
    for (const rel of r.related) inc.related.set(`${rel.relation}|${rel.incident}`, rel);
    return inc;
  }

  /**
   * Scale-out: another partition's incident opened or changed. Callers here failing towards its
   * workload may link it now; links its owner made to an incident here as upstream get their impact
   * side here (each owner emits only its own incidents).
   */
  remoteChanged(r: PeerIncident): void {
    if (!this.callGraph) return;
    for (const c of this.callGraph.callersOf(r.scope.cluster, r.scope.namespace, r.scope.workload.name))
      this.#staleCallers.add(c);
    let caller: Incident | undefined;
    for (const rel of r.related) {
      if (rel.relation !== 'upstream') continue;
      // The link names the peer's workload: its incident here, if it is still the one linked.
      const mine = this.#incidents.get(
        scopeKey({ cluster: r.scope.cluster, namespace: rel.namespace, workload: rel.workload }),
      );
      if (mine?.id !== rel.incident) continue;
      caller ??= this.#shadow(r)!;
      if (linkImpact(mine, caller, rel.evidence, this.#maxRelated, this.links))
        this.#relinked(mine, this.#clock.now());
    }
  }

  /** Replica counts of a workload (k8s_cluster); attached to its incident's next context. */
  noteWorkloadState(scope: IncidentScope, s: MetricSignal): boolean {
    const key = scopeKey(scope);
    if (!this.#states.note(key, s)) return false;
    const inc = this.#incidents.get(key);
    if (inc) inc.workloadState = this.#states.get(key);
    return true;
  }

  /** A ScalingReplicaSet event: remembered for the workload, attached to its incident if one is open. */
  noteScaling(scope: IncidentScope, message: string, atMs: number, src: RecordSource | undefined): boolean {
    const key = scopeKey(scope);
    if (!this.#rollouts.note(key, message, atMs)) return false;
    const inc = this.#incidents.get(key);
    if (inc && this.#attachRollouts(inc)) {
      inc.lastUpdateAt = this.#clock.now();
      if (src) this.#source(inc, src);
      if (inc.nextEmitAt < this.#due) this.#due = inc.nextEmitAt;
    }
    return true;
  }

  /** Records behind evidence already absorbed (a span bucket's): the scope's open incident holds them. */
  holdRecords(scope: IncidentScope, records: Iterable<RecordSource>): void {
    const inc = this.#incidents.get(scopeKey(scope));
    if (!inc) return;
    for (const src of records) this.#source(inc, src);
  }

  #source(inc: Incident, src: RecordSource): void {
    const fresh = inc.source(src);
    if (fresh) this.#trackHold(fresh);
  }

  /**
   * Rollouts seen before (or during) the incident become its timeline and `rollout` evidence. With an
   * enriching resolver, the cluster's revisions (images, change cause) join the ScalingReplicaSet
   * events, and the team is (re)read: both may change while the incident is open.
   */
  #attachRollouts(inc: Incident): boolean {
    const until = Math.max(inc.windowEnd, this.#clock.now());
    const seen = this.#rollouts.rollouts(inc.key, until);
    const details = this.#describe?.(inc.scope.namespace, inc.scope.workload);
    let changed = false;
    if (details && (details.team !== inc.team || details.teamSource !== inc.teamSource)) {
      inc.team = details.team;
      inc.teamSource = details.teamSource;
      changed = true;
    }
    const env = details?.environment;
    if (env && (env.value !== inc.environment || env.source !== inc.environmentSource)) {
      inc.environment = env.value;
      inc.environmentSource = env.source;
      changed = true;
    }
    const managedBy = details?.managedBy ?? null;
    if (details && JSON.stringify(managedBy) !== JSON.stringify(inc.managedBy)) {
      inc.managedBy = managedBy;
      changed = true;
    }
    const list = details ? mergeRollouts(details.rollouts, seen, until) : seen;
    for (const r of list) {
      // Older revisions stay in the timeline; only recent ones are evidence (they widen the window).
      if (details && r.atMs < until - this.#cfg.rolloutMemory) continue;
      const key = `rollout|${r.replicaSet}`;
      if (inc.evidence.has(key)) continue;
      const u = blankUpdate(
        'rollout',
        key,
        r.atMs,
        r.revision === null
          ? `rollout: ReplicaSet ${r.replicaSet} scaled up while the previous one was scaled down`
          : `rollout: revision ${r.revision} of ${inc.scope.workload.kind}/${inc.scope.workload.name}, ReplicaSet ${r.replicaSet}${r.images.length ? ` (${r.images.join(', ')})` : ''}${r.changeCause ? `: ${r.changeCause}` : ''}`,
      );
      u.object = { kind: 'ReplicaSet', name: r.replicaSet, uid: '' };
      inc.absorb(u, this.#cfg.maxEvidence);
      changed = true;
    }
    if (changed || (details && timelineKey(list) !== timelineKey(inc.rollouts))) {
      inc.rollouts = list.map(({ atMs: _atMs, ...r }) => r);
      inc.dirty = true;
      changed = true;
    }
    return changed;
  }

  /** Emits every context that is due and resolves quiet incidents. Call on each clock tick. */
  tick(): void {
    if (this.#staleCallers.size) this.#relink();
    const now = this.#clock.now();
    if (now < this.#due) return;
    for (const inc of this.#incidents.values()) {
      if (
        inc.status === 'open' &&
        now - inc.lastProblemAt >= this.#cfg.resolveTimeout &&
        now >= inc.resolveCheckAt &&
        !this.#deferResolve(inc, now)
      ) {
        inc.status = 'resolved';
        inc.persisting = null;
        inc.resolvedAt = now;
        inc.dirty = true;
        inc.pending = true;
        this.stats.resolved++;
        this.#emit(inc, now);
        this.#incidents.delete(inc.key);
        continue;
      }
      if (inc.pending && now >= inc.nextEmitAt) this.#emit(inc, now);
    }
    this.#due = this.nextDue();
  }

  /** Emits every pending change now, whatever the timers say (end of replay, revoke, shutdown). */
  flushAll(): void {
    if (this.#staleCallers.size) this.#relink();
    const now = this.#clock.now();
    for (const inc of this.#incidents.values()) if (inc.pending) this.#emit(inc, now);
  }

  /** The next time a timer fires (for schedulers); Infinity when nothing is pending. */
  nextDue(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const inc of this.#incidents.values()) {
      if (inc.pending && inc.nextEmitAt < t) t = inc.nextEmitAt;
      const r = Math.max(inc.lastProblemAt + this.#cfg.resolveTimeout, inc.resolveCheckAt);
      if (r < t) t = r;
    }
    return t;
  }

  /**
   * Signals went quiet, but is the fault over? Asks the cluster (enrichment), else the last replica
   * counts the metrics showed. While it persists the incident stays open, says why, and is asked
   * again after resolveRecheck.
   */
  #deferResolve(inc: Incident, now: number): boolean {
    // null: the cluster shows the workload healthy; undefined: it does not know it (metrics decide).
    const cluster = this.#currentFault?.(inc.scope.namespace, inc.scope.workload, now);
    const fault =
      cluster !== undefined ? cluster : faultFromState(inc.workloadState, now, this.#cfg.resolveTimeout);
    if (!fault) return false;
    inc.resolveCheckAt = now + this.#cfg.resolveRecheck;
    if (inc.persisting?.reason !== fault.reason || inc.persisting.detail !== fault.detail) {
      if (inc.persisting?.reason !== fault.reason)
        this.stats.deferred[fault.reason] = (this.stats.deferred[fault.reason] ?? 0) + 1;
      inc.persisting = { reason: fault.reason, detail: fault.detail, checkedAt: iso(now) };
      inc.dirty = true;
      inc.pending = true;
    }
    return true;
  }

  /** Sends the incident's state; only a material change makes a new revision. */
  #emit(inc: Incident, now: number): void {
    // The cluster may have rolled out (or relabelled) since the last context.
    if (this.#describe && inc.status === 'open') this.#attachRollouts(inc);
    if (inc.dirty || inc.revision === 0) inc.revision++;
    if (!inc.firstContextAt) inc.firstContextAt = now;
    inc.dirty = false;
    inc.pending = false;
    inc.nextEmitAt = now + this.#cfg.groupInterval;
    this.stats.emitted++;
    this.#sink(inc.toDocument(now), inc.takeHold(), inc);
  }

  #evictOldest(): void {
    let oldest: Incident | undefined;
    for (const inc of this.#incidents.values())
      if (!oldest || inc.lastUpdateAt < oldest.lastUpdateAt) oldest = inc;
    if (!oldest) return;
    if (oldest.pending) this.#emit(oldest, this.#clock.now());
    this.#incidents.delete(oldest.key);
    this.stats.evicted++;
  }
}

/** Kinds a Service name may stand for when no selector is known (`Service`: an OTel service without k8s attributes). */
const PEER_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Service'] as const;

/**
 * The cluster's revisions up to `until` (later ones are the future in a replay), joined with the
 * rollouts ScalingReplicaSet events showed: an event's time wins when later (a rollback re-activates
 * an old ReplicaSet), and rollouts only events know of (ReplicaSet since deleted) are kept. Newest first.
 */
export function mergeRollouts(
  cluster: readonly WorkloadRollout[],
  seen: readonly (RolloutDoc & { atMs: number })[],
  until: number,
): (RolloutDoc & { atMs: number })[] {
  const fromEvents = new Map(seen.map((r) => [r.replicaSet, r]));
  const out: (RolloutDoc & { atMs: number })[] = [];
  for (const c of cluster) {
    const e = fromEvents.get(c.replicaSet);
    fromEvents.delete(c.replicaSet);
    const r = e && e.atMs > c.atMs ? { ...c, at: e.at, atMs: e.atMs } : { ...c };
    if (r.atMs <= until) out.push(r);
  }
  out.push(...fromEvents.values());
  // Revisions order a Deployment's history (a rollback re-uses an old, early-created ReplicaSet);
  // time orders what has no revision.
  return out.sort((a, b) =>
    a.revision !== null && b.revision !== null ? b.revision - a.revision : b.atMs - a.atMs,
  );
}

/**
 * Without enrichment: fewer replicas available than desired, as the last k8s_cluster sample showed,
 * provided that sample is recent (a workload whose metrics stopped is not held open forever).
 */
export function faultFromState(
  ws: WorkloadState | null,
  now: number,
  maxAgeMs: number,
): PersistingFault | null {
  if (!ws || ws.desiredReplicas === null || ws.availableReplicas === null) return null;
  if (ws.availableReplicas >= ws.desiredReplicas || now - Date.parse(ws.at) > maxAgeMs) return null;
  return {
    reason: 'unavailable',
    detail: `${ws.availableReplicas} of ${ws.desiredReplicas} replicas available (k8s_cluster metrics at ${ws.at})`,
  };
}

function timelineKey(list: readonly RolloutDoc[]): string {
  return JSON.stringify(list.map((r) => [r.replicaSet, r.revision, r.at, r.images, r.changeCause]));
}
