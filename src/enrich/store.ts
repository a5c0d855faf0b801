// The cluster cache: slim objects by kind, namespace and name, the indexes the joins need, and a short
// tombstone cache so that a pod deleted before its last signals arrive still resolves.
// Fed by exactly one method, `apply`, whether the events come from informers or from a snapshot.
import type {
  Kind,
  SlimNamespace,
  SlimNode,
  SlimObject,
  SlimPod,
  SlimReplicaSet,
  SlimService,
  SlimWorkload,
} from './objects.ts';

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreOptions {
  /** How long a deleted pod or ReplicaSet still answers lookups. */
  tombstoneTtlMs: number;
  /** Tombstones kept at most; the oldest go first. */
  maxTombstones: number;
  now?: () => number;
  /** Told of every pod added or changed (with its previous version): where pod status becomes signals. */
  onPod?: (prev: SlimPod | undefined, next: SlimPod) => void;
}

export interface StoreStats {
  objects: Record<Kind, number>;
  tombstones: number;
  /** apply() calls by phase. */
  added: number;
  modified: number;
  deleted: number;
}

interface Tombstone {
  obj: SlimPod | SlimReplicaSet;
  expiresAt: number;
}

type WorkloadKind = SlimWorkload['kind'];

const key = (ns: string, name: string): string => `${ns}/${name}`;

export class ClusterStore {
  /**
   * namespace → name → Pod. Nested rather than keyed by `ns/name`: pod lookups are the hot path
   * (one per resource of every record) and this avoids building a key string per lookup.
   */
  readonly #pods = new Map<string, Map<string, SlimPod>>();
  #podCount = 0;
  readonly #replicaSets = new Map<string, SlimReplicaSet>();
  readonly #workloads: Record<WorkloadKind, Map<string, SlimWorkload>> = {
    Deployment: new Map(),
    StatefulSet: new Map(),
    DaemonSet: new Map(),
    Job: new Map(),
  };
  /** namespace → name → Service: selector matching scans one namespace. */
  readonly #services = new Map<string, Map<string, SlimService>>();
  readonly #nodes = new Map<string, SlimNode>();
  readonly #namespaces = new Map<string, SlimNamespace>();
  /** `ns/deployment` → names of its ReplicaSets (the rollout timeline). */
  readonly #rsByOwner = new Map<string, Set<string>>();
  /** `Kind|ns/name` → tombstone, in insertion (≈ expiry) order. */
  readonly #tombstones = new Map<string, Tombstone>();
  readonly #ttl: number;
  readonly #maxTombstones: number;
  readonly #now: () => number;
  readonly #onPod: StoreOptions['onPod'];
  #added = 0;
  #modified = 0;
  #deleted = 0;
  /**
   * Bumped when an ownership edge may have changed (an owner object added, deleted or re-owned):
   * memoised pod → workload answers older than this are recomputed.
   */
  generation = 0;

  constructor(opts: StoreOptions) {
    this.#ttl = opts.tombstoneTtlMs;
    this.#maxTombstones = opts.maxTombstones;
    this.#now = opts.now ?? Date.now;
    this.#onPod = opts.onPod;
  }

  /** The single entry point for every change, live or from a snapshot. */
  apply(phase: WatchPhase, obj: SlimObject): void {
    if (phase === 'DELETED') this.#deleted++;
    else if (phase === 'ADDED') this.#added++;
    else this.#modified++;
    const { namespace: ns, name } = obj.metadata;
    const k = key(ns, name);
    switch (obj.kind) {
      case 'Pod': {
        let byName = this.#pods.get(ns);
        if (phase === 'DELETED') {
          if (byName?.delete(name)) {
            this.#podCount--;
            if (byName.size === 0) this.#pods.delete(ns);
            this.#bury(`Pod|${k}`, obj);
          }
          return;
        }
        if (!byName) {
          byName = new Map();
          this.#pods.set(ns, byName);
        }
        const prev = byName.get(name);
        if (!prev) this.#podCount++;
        byName.set(name, obj);
        if (this.#tombstones.size) this.#tombstones.delete(`Pod|${k}`);
        this.#onPod?.(prev, obj);
        return;
      }
      case 'ReplicaSet': {
        const prev = this.#replicaSets.get(k);
        if (prev?.owner) this.#rsByOwner.get(key(ns, prev.owner.name))?.delete(name);
        if (phase === 'DELETED') {
          if (prev) {
            this.#replicaSets.delete(k);
            this.#bury(`ReplicaSet|${k}`, obj);
            this.generation++;
          }
          return;
        }
        this.#replicaSets.set(k, obj);
        this.#tombstones.delete(`ReplicaSet|${k}`);
        if (obj.owner?.kind === 'Deployment') {
          const ok = key(ns, obj.owner.name);
          const set = this.#rsByOwner.get(ok);
          if (set) set.add(name);
          else this.#rsByOwner.set(ok, new Set([name]));
        }
        if (!prev || !sameOwner(prev.owner, obj.owner)) this.generation++;
        return;
      }
      case 'Deployment':
      case 'StatefulSet':
      case 'DaemonSet':
      case 'Job': {
        const map = this.#workloads[obj.kind];
        const prev = map.get(k);
        if (phase === 'DELETED') {
          if (map.delete(k)) this.generation++;
          return;
        }
        map.set(k, obj);
        if (!prev || !sameOwner(prev.owner, obj.owner)) this.generation++;
        return;
      }
      case 'Service': {
        const byName = this.#services.get(ns);
        if (phase === 'DELETED') {
          byName?.delete(name);
          if (byName?.size === 0) this.#services.delete(ns);
          return;
        }
        if (byName) byName.set(name, obj);
        else this.#services.set(ns, new Map([[name, obj]]));
        return;
      }
      case 'Node':
        if (phase === 'DELETED') this.#nodes.delete(name);
        else this.#nodes.set(name, obj);
        return;
      case 'Namespace':
        if (phase === 'DELETED') this.#namespaces.delete(name);
        else this.#namespaces.set(name, obj);
        return;
    }
  }

  /** A live pod, or a deleted one still within its tombstone time. */
  pod(ns: string, name: string): SlimPod | undefined {
    const live = this.#pods.get(ns)?.get(name);
    if (live || this.#tombstones.size === 0) return live;
    return this.#grave(`Pod|${key(ns, name)}`) as SlimPod | undefined;
  }

  /** True when `pod` is no longer live (answered from a tombstone). */
  isTombstone(pod: SlimPod): boolean {
    return this.#pods.get(pod.metadata.namespace)?.get(pod.metadata.name) !== pod;
  }

  replicaSet(ns: string, name: string): SlimReplicaSet | undefined {
    const k = key(ns, name);
    return this.#replicaSets.get(k) ?? (this.#grave(`ReplicaSet|${k}`) as SlimReplicaSet | undefined);
  }

  workload(kind: string, ns: string, name: string): SlimWorkload | undefined {
    const map = this.#workloads[kind as WorkloadKind] as Map<string, SlimWorkload> | undefined;
    return map?.get(key(ns, name));
  }

  /** The ReplicaSets a Deployment owns (live ones; deleted ones drop out of its timeline). */
  replicaSetsOf(ns: string, deployment: string): SlimReplicaSet[] {
    const names = this.#rsByOwner.get(key(ns, deployment));
    if (!names) return [];
    const out: SlimReplicaSet[] = [];
    for (const n of names) {
      const rs = this.#replicaSets.get(key(ns, n));
      if (rs) out.push(rs);
    }
    return out;
  }

  service(ns: string, name: string): SlimService | undefined {
    return this.#services.get(ns)?.get(name);
  }

  /** Deployments, StatefulSets and DaemonSets of a namespace (what Services put in front of). */
  *servedWorkloads(ns: string): Generator<SlimWorkload> {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const)
      for (const w of this.#workloads[kind].values()) if (w.metadata.namespace === ns) yield w;
  }

  /** The live pods of a namespace. */
  podsIn(ns: string): Iterable<SlimPod> {
    return this.#pods.get(ns)?.values() ?? [];
  }

  services(ns: string): Iterable<SlimService> {
    return this.#services.get(ns)?.values() ?? [];
  }

  node(name: string): SlimNode | undefined {
    return this.#nodes.get(name);
  }

  namespace(name: string): SlimNamespace | undefined {
    return this.#namespaces.get(name);
  }

  get stats(): StoreStats {
    let services = 0;
    for (const m of this.#services.values()) services += m.size;
    return {
      objects: {
        Namespace: this.#namespaces.size,
        Node: this.#nodes.size,
        Pod: this.#podCount,
        Service: services,
        ReplicaSet: this.#replicaSets.size,
        Deployment: this.#workloads.Deployment.size,
        StatefulSet: this.#workloads.StatefulSet.size,
        DaemonSet: this.#workloads.DaemonSet.size,
        Job: this.#workloads.Job.size,
      },
      tombstones: this.#tombstones.size,
      added: this.#added,
      modified: this.#modified,
      deleted: this.#deleted,
    };
  }

  #bury(k: string, obj: SlimPod | SlimReplicaSet): void {
    const now = this.#now();
    this.#tombstones.delete(k);
    this.#tombstones.set(k, { obj, expiresAt: now + this.#ttl });
    // Same TTL for all: insertion order is expiry order, so the front is always the oldest.
    for (const [tk, t] of this.#tombstones) {
      if (t.expiresAt > now && this.#tombstones.size <= this.#maxTombstones) break;
      this.#tombstones.delete(tk);
    }
  }

  #grave(k: string): SlimPod | SlimReplicaSet | undefined {
    const t = this.#tombstones.get(k);
    if (!t) return undefined;
    if (t.expiresAt <= this.#now()) {
      this.#tombstones.delete(k);
      return undefined;
    }
    return t.obj;
  }
}

function sameOwner(
  a: { kind: string; name: string } | null,
  b: { kind: string; name: string } | null,
): boolean {
  return a === b || (a !== null && b !== null && a.kind === b.kind && a.name === b.name);
}
