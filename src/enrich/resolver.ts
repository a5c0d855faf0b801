// The joins, behind the stream stage's WorkloadResolver: pod → ReplicaSet → Deployment (and
// StatefulSet, DaemonSet, Job → CronJob), Services whose selector matches, the node and its
// conditions, the owning team with where it came from, and the rollout timeline from ReplicaSets.
// Pods the cache does not know fall back to NamePatternResolver. Rules (enrich.rules) apply to both.
import type { WorkloadRef } from '../stream/signals.ts';
import type { KeyValue } from '../stream/wire/otlp-model.ts';
import {
  type EventFacts,
  NamePatternResolver,
  type PersistingFault,
  type PodRevision,
  type PodStatusChange,
  resolveByName,
  type WorkloadDetails,
  type WorkloadResolver,
  type WorkloadRollout,
} from '../stream/workload.ts';
import type { Management } from './gitops.ts';
import type { Condition, Labels, OwnerRef, SlimReplicaSet, SlimWorkload, TeamTag } from './objects.ts';
import { type PodStatusFeed, podFault } from './pod-status.ts';
import type { EnrichRules } from './rules.ts';
import type { ClusterStore } from './store.ts';

export interface ClusterResolverOptions {
  store: ClusterStore;
  rules?: EnrichRules | undefined;
  /** For pods the cache does not know; NamePatternResolver by default. */
  fallback?: WorkloadResolver;
  /** Revisions kept in a timeline (newest first). */
  maxRollouts?: number;
  /** New pod-status facts (terminations, waiting reasons, unschedulable) for the stream stage. */
  feed?: PodStatusFeed | undefined;
}

export interface TeamInfo {
  team: string | null;
  teamSource: string | null;
}

/** Everything the cache can say about one pod (tests, debugging, richer contexts). */
export interface PodDetails extends TeamInfo {
  workload: WorkloadRef;
  revision: PodRevision | null;
  services: string[];
  node: { name: string; conditions: Condition[]; unschedulable: boolean; zone: string } | null;
  phase: string;
  containers: { name: string; image: string; restarts: number; waiting: string; lastTerminated: string }[];
  /** True when the pod is deleted and answered from the tombstone cache. */
  deleted: boolean;
}

// CronJob-made Jobs are `<cronjob>-<scheduled time in minutes>`.
const CRONJOB_JOB = /^(.+)-(\d{8,})$/;

export class ClusterResolver implements WorkloadResolver {
  readonly #store: ClusterStore;
  readonly #rules: EnrichRules | undefined;
  readonly #fallback: WorkloadResolver;
  readonly #maxRollouts: number;
  readonly #feed: PodStatusFeed | undefined;

  constructor(o: ClusterResolverOptions) {
    this.#store = o.store;
    this.#feed = o.feed;
    this.#rules = o.rules && !o.rules.empty ? o.rules : undefined;
    this.#fallback = o.fallback ?? new NamePatternResolver();
    this.#maxRollouts = o.maxRollouts ?? 10;
  }

  resolve(
    namespace: string,
    objectKind: string,
    objectName: string,
    resourceAttrs?: readonly KeyValue[],
  ): WorkloadRef | undefined {
    const ref =
      this.#fromCluster(namespace, objectKind, objectName) ??
      this.#fallback.resolve(namespace, objectKind, objectName, resourceAttrs);
    if (!ref || !this.#rules) return ref;
    return this.#rules.groupAs({ namespace, kind: ref.kind, name: ref.name }) ?? ref;
  }

  describe(namespace: string, workload: WorkloadRef): WorkloadDetails | undefined {
    const { team, teamSource } = this.team(namespace, workload);
    const rollouts = workload.kind === 'Deployment' ? this.rollouts(namespace, workload.name) : [];
    const env = this.#store.namespace(namespace)?.environment[0];
    const m = this.management(namespace, workload);
    if (team === null && rollouts.length === 0 && !env && !m?.tool) return undefined;
    const details: WorkloadDetails = { team, teamSource, rollouts };
    if (m?.tool)
      details.managedBy = {
        tool: m.tool,
        app: m.app,
        fluxKind: m.fluxKind,
        appNamespace: m.appNamespace,
        replicaManagers: [...m.replicaManagers],
      };
    if (env)
      details.environment = { value: env.value, source: `${env.from}:${env.key} on Namespace/${namespace}` };
    return details;
  }

  /**
   * Who manages a workload (Argo CD, Flux, Helm, field managers of spec.replicas), from the cache;
   * undefined when the cache does not hold it. The exec stage reads the live object before acting.
   */
  management(namespace: string, workload: WorkloadRef): Management | undefined {
    if (
      workload.kind !== 'Deployment' &&
      workload.kind !== 'StatefulSet' &&
      workload.kind !== 'DaemonSet' &&
      workload.kind !== 'Job'
    )
      return undefined;
    return this.#store.workload(workload.kind, namespace, workload.name)?.management;
  }

  statusChanges(untilMs: number): PodStatusChange[] {
    return this.#feed ? this.#feed.take(untilMs) : [];
  }

  /**
   * The workload's fault as the cluster shows it at `atMs`: a pod Pending or unschedulable, a container
   * waiting in CrashLoopBackOff / ImagePullBackOff / CreateContainerConfigError…, or fewer replicas
   * available than desired. Undefined when the cache knows neither the workload nor any of its pods.
   */
  currentFault(namespace: string, workload: WorkloadRef, atMs: number): PersistingFault | null | undefined {
    let known = false;
    for (const pod of this.#store.podsIn(namespace)) {
      const owner = this.resolve(namespace, 'Pod', pod.metadata.name);
      if (owner?.kind !== workload.kind || owner.name !== workload.name) continue;
      known = true;
      if (pod.createdMs > atMs) continue;
      const fault = podFault(pod, atMs);
      if (fault) return fault;
    }
    const w = this.#store.workload(workload.kind, namespace, workload.name);
    if (w) {
      known = true;
      if (
        (w.kind === 'Deployment' || w.kind === 'StatefulSet') &&
        w.available !== null &&
        w.available < w.replicas
      )
        return {
          reason: 'unavailable',
          detail: `${w.available} of ${w.replicas} replicas of ${w.kind}/${w.metadata.name} available`,
        };
    }
    return known ? null : undefined;
  }

  podRevision(namespace: string, pod: string): PodRevision | undefined {
    const p = this.#store.pod(namespace, pod);
    if (!p?.owner) return undefined;
    const { kind, name } = p.owner;
    if (kind === 'ReplicaSet') {
      const rs = this.#store.replicaSet(namespace, name);
      if (!rs) return undefined;
      let latest = rs.revision;
      if (rs.owner?.kind === 'Deployment') {
        for (const s of this.#store.replicaSetsOf(namespace, rs.owner.name))
          if (s.revision !== null && (latest === null || s.revision > latest)) latest = s.revision;
      }
      return { replicaSet: name, revision: rs.revision, isLatest: rs.revision === latest };
    }
    if (kind === 'StatefulSet' || kind === 'DaemonSet') {
      const hash = p.labels['controller-revision-hash'];
      const w = this.#store.workload(kind, namespace, name);
      if (!hash || !w?.updateRevision) return undefined;
      return { replicaSet: hash, revision: null, isLatest: hash === w.updateRevision };
    }
    return undefined;
  }

  ignoreEvent(event: EventFacts): string | undefined {
    return this.#rules?.ignore(event);
  }

  /**
   * Owner team: a rule, then the configured labels and annotations on the workload (in the order
   * configured), then the same on its namespace.
   */
  team(namespace: string, workload: WorkloadRef): TeamInfo {
    const byRule = this.#rules?.team({ namespace, kind: workload.kind, name: workload.name });
    if (byRule) return { team: byRule.team, teamSource: byRule.source };
    const tags = this.#teamTags(namespace, workload);
    const own = tags[0];
    if (own) return found(own, `${workload.kind}/${workload.name}`);
    const ns = this.#store.namespace(namespace)?.team[0];
    if (ns) return found(ns, `Namespace/${namespace}`);
    return { team: null, teamSource: null };
  }

  /** A Deployment's revisions from its ReplicaSets, newest first (at most maxRollouts). */
  rollouts(namespace: string, deployment: string): WorkloadRollout[] {
    const rss = this.#store.replicaSetsOf(namespace, deployment);
    if (rss.length === 0) return [];
    rss.sort(
      (a, b) =>
        (b.revision ?? -1) - (a.revision ?? -1) ||
        b.createdMs - a.createdMs ||
        (a.metadata.name < b.metadata.name ? -1 : 1),
    );
    const dep = this.#store.workload('Deployment', namespace, deployment);
    return rss.slice(0, this.#maxRollouts).map((rs, i) => rolloutOf(rs, i === 0 ? dep : undefined));
  }

  /** Services in the namespace whose selector matches these labels, sorted by name. */
  services(namespace: string, labels: Labels): string[] {
    const out: string[] = [];
    for (const svc of this.#store.services(namespace))
      if (selects(svc.selector, labels)) out.push(svc.metadata.name);
    return out.sort();
  }

  serviceWorkloads(namespace: string, service: string): WorkloadRef[] | undefined {
    const svc = this.#store.service(namespace, service);
    if (!svc) return undefined;
    const out: WorkloadRef[] = [];
    if (svc.selector)
      for (const w of this.#store.servedWorkloads(namespace))
        if (selects(svc.selector, w.templateLabels)) {
          const ref = { kind: w.kind, name: w.metadata.name };
          // Grouping rules put a workload's incidents elsewhere: the call graph must point there too.
          out.push(this.#rules?.groupAs({ namespace, ...ref }) ?? ref);
        }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : 1));
  }

  /** The Services in front of a workload (selector against its pod template, or a bare pod's labels). */
  workloadServices(namespace: string, workload: WorkloadRef): string[] {
    const labels =
      workload.kind === 'Pod'
        ? this.#store.pod(namespace, workload.name)?.labels
        : this.#store.workload(workload.kind, namespace, workload.name)?.templateLabels;
    return labels ? this.services(namespace, labels) : [];
  }

  describePod(namespace: string, name: string): PodDetails | undefined {
    const p = this.#store.pod(namespace, name);
    if (!p) return undefined;
    const workload = this.resolve(namespace, 'Pod', name) ?? { kind: 'Pod', name };
    const node = p.node ? this.#store.node(p.node) : undefined;
    return {
      workload,
      ...this.team(namespace, workload),
      revision: this.podRevision(namespace, name) ?? null,
      services: this.services(namespace, p.labels),
      node: p.node
        ? {
            name: p.node,
            conditions: node ? node.conditions.map((c) => ({ ...c })) : [],
            unschedulable: node?.unschedulable ?? false,
            zone: node?.zone ?? '',
          }
        : null,
      phase: p.phase,
      containers: p.containers.map((c) => ({
        name: c.name,
        image: c.image,
        restarts: c.restarts,
        waiting: c.waiting,
        lastTerminated: c.lastTerminated,
      })),
      deleted: this.#store.isTombstone(p),
    };
  }

  #fromCluster(ns: string, kind: string, name: string): WorkloadRef | undefined {
    if (!name) return undefined;
    const store = this.#store;
    switch (kind) {
      case 'Pod': {
        const pod = store.pod(ns, name);
        if (!pod) return undefined;
        if (pod.memoGen !== store.generation) {
          pod.memo = this.#owned(ns, pod.owner) ?? { kind: 'Pod', name };
          pod.memoGen = store.generation;
        }
        return pod.memo;
      }
      case 'ReplicaSet': {
        const rs = store.replicaSet(ns, name);
        return rs ? fromReplicaSet(rs) : undefined;
      }
      case 'Job':
        return store.workload('Job', ns, name) ? this.#owned(ns, { kind: 'Job', name }) : undefined;
      default:
        return undefined;
    }
  }

  /** The workload at the top of an owner chain that starts at `owner`. */
  #owned(ns: string, owner: OwnerRef | null): WorkloadRef | undefined {
    if (!owner) return undefined;
    switch (owner.kind) {
      case 'ReplicaSet': {
        const rs = this.#store.replicaSet(ns, owner.name);
        return rs ? fromReplicaSet(rs) : resolveByName('ReplicaSet', owner.name);
      }
      case 'Job': {
        const job = this.#store.workload('Job', ns, owner.name);
        if (job)
          return job.owner
            ? { kind: job.owner.kind, name: job.owner.name }
            : { kind: 'Job', name: owner.name };
        const m = CRONJOB_JOB.exec(owner.name);
        return m ? { kind: 'CronJob', name: m[1]! } : { kind: 'Job', name: owner.name };
      }
      default:
        return { kind: owner.kind, name: owner.name };
    }
  }

  #teamTags(ns: string, w: WorkloadRef): readonly TeamTag[] {
    switch (w.kind) {
      case 'Deployment':
      case 'StatefulSet':
      case 'DaemonSet':
      case 'Job':
        return this.#store.workload(w.kind, ns, w.name)?.team ?? [];
      case 'Pod':
        return this.#store.pod(ns, w.name)?.team ?? [];
      default:
        return [];
    }
  }
}

function found(tag: TeamTag, on: string): TeamInfo {
  return { team: tag.value, teamSource: `${tag.from}:${tag.key} on ${on}` };
}

function fromReplicaSet(rs: SlimReplicaSet): WorkloadRef {
  return rs.owner
    ? { kind: rs.owner.kind, name: rs.owner.name }
    : { kind: 'ReplicaSet', name: rs.metadata.name };
}

function selects(selector: Labels | null, labels: Labels): boolean {
  if (!selector) return false;
  let any = false;
  for (const k in selector) {
    if (labels[k] !== selector[k]) return false;
    any = true;
  }
  return any;
}

/** One timeline entry; field order is fixed by construction (byte-stable documents). */
function rolloutOf(rs: SlimReplicaSet, newestOf: SlimWorkload | undefined): WorkloadRollout {
  const base = {
    revision: rs.revision,
    // A ReplicaSet without creationTimestamp rolled out at an unknown time, not at the epoch.
    at: rs.createdMs > 0 ? new Date(rs.createdMs).toISOString() : null,
    images: [...rs.images],
    changeCause:
      rs.changeCause ?? (newestOf && newestOf.revision === rs.revision ? newestOf.changeCause : null),
    replicaSet: rs.metadata.name,
    source: 'cluster',
  };
  if (!newestOf) return { ...base, atMs: rs.createdMs };
  return {
    ...base,
    // managedFields keeps the latest writer of spec.template: it made the newest revision.
    changedBy: newestOf.templateManager?.manager ?? null,
    conditions: newestOf.conditions.map((c) => ({ ...c })),
    atMs: rs.createdMs,
  };
}
