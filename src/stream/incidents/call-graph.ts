// Who calls whom, as failing client spans show it: caller workload → callee (a Service, and the
// workloads behind it when enrichment knows the Service's selector). Only failures are recorded: an
// edge is what lets a caller's incident point at a peer's incident (related.ts). Bounded in callers
// and edges per caller, and edges expire on the record clock, so replay stays deterministic.
import type { PeerRef } from '../normalise/peer.ts';
import type { WorkloadRef } from '../signals.ts';

// Evidence items kept per edge: one per failing operation of the caller towards that callee.
const MAX_EVIDENCE_KEYS = 8;

export interface CallGraphOptions {
  /** An edge with no failed call for this long is forgotten. */
  ttlMs: number;
  maxEdgesPerCaller: number;
  maxCallers: number;
  /**
   * The workloads behind a Service (enrichment); undefined when the Service is not known, in which
   * case the Service name is taken as the workload name (Deployment `inventory` behind Service `inventory`).
   */
  serviceWorkloads?: ((namespace: string, service: string) => WorkloadRef[] | undefined) | undefined;
}

export interface CallTarget {
  namespace: string;
  service: string;
  /** Exact workloads behind the Service, or null: match any workload named like the Service. */
  workloads: WorkloadRef[] | null;
}

export interface CallEdge {
  target: CallTarget;
  firstFailMs: number;
  lastFailMs: number;
  failures: number;
  /** Keys of the caller's evidence items for these failed calls (its span_errors items). */
  evidenceKeys: string[];
}

export interface CallGraphStats {
  edges: number;
  failedCalls: number;
  /** Edges dropped for room (per-caller or caller bound) or expired. */
  dropped: number;
}

export class CallGraph {
  readonly stats: CallGraphStats = { edges: 0, failedCalls: 0, dropped: 0 };
  /** caller scope key → `ns/service` → edge; Map order is least recently failed first. */
  readonly #byCaller = new Map<string, Map<string, CallEdge>>();
  /** `cluster/ns/workload name` → callers with an edge that may reach it. */
  readonly #byTarget = new Map<string, Set<string>>();
  readonly #cluster = new Map<string, string>();
  readonly #o: CallGraphOptions;

  constructor(o: CallGraphOptions) {
    this.#o = o;
  }

  /**
   * A failed call from `caller` (scope key, in `cluster`) to `peer`, recorded in the caller's
   * evidence item `evidenceKey`. Returns true when the graph learnt something a link could use
   * (a new edge or a new evidence item on it).
   */
  note(caller: string, cluster: string, peer: PeerRef, evidenceKey: string, now: number): boolean {
    this.stats.failedCalls++;
    let edges = this.#byCaller.get(caller);
    if (edges) {
      // Most recently failing callers last: the first one is the eviction candidate.
      this.#byCaller.delete(caller);
      this.#byCaller.set(caller, edges);
    } else {
      if (this.#byCaller.size >= this.#o.maxCallers) {
        const oldest = this.#byCaller.keys().next().value;
        if (oldest !== undefined) this.#dropCaller(oldest);
      }
      edges = new Map();
      this.#byCaller.set(caller, edges);
      this.#cluster.set(caller, cluster);
    }
    const tk = `${peer.namespace}/${peer.service}`;
    let edge = edges.get(tk);
    if (edge && now - edge.lastFailMs > this.#o.ttlMs) {
      this.#dropEdge(caller, edges, tk, edge);
      edge = undefined;
    }
    if (!edge) {
      if (edges.size >= this.#o.maxEdgesPerCaller) {
        const [oldKey, old] = edges.entries().next().value as [string, CallEdge];
        this.#dropEdge(caller, edges, oldKey, old);
      }
      const workloads = this.#o.serviceWorkloads?.(peer.namespace, peer.service);
      edge = {
        target: { namespace: peer.namespace, service: peer.service, workloads: workloads ?? null },
        firstFailMs: now,
        lastFailMs: now,
        failures: 0,
        evidenceKeys: [],
      };
      this.stats.edges++;
      for (const name of targetNames(edge.target)) {
        const k = `${cluster}/${peer.namespace}/${name}`;
        let set = this.#byTarget.get(k);
        if (!set) {
          set = new Set();
          this.#byTarget.set(k, set);
        }
        set.add(caller);
      }
    } else edges.delete(tk);
    edges.set(tk, edge);
    edge.failures++;
    if (now > edge.lastFailMs) edge.lastFailMs = now;
    if (now < edge.firstFailMs) edge.firstFailMs = now;
    const fresh = edge.failures === 1;
    if (!edge.evidenceKeys.includes(evidenceKey) && edge.evidenceKeys.length < MAX_EVIDENCE_KEYS) {
      edge.evidenceKeys.push(evidenceKey);
      return true;
    }
    return fresh;
  }

  /** The caller's live edges (expired ones are dropped on the way). */
  edgesOf(caller: string, now: number): CallEdge[] {
    const edges = this.#byCaller.get(caller);
    if (!edges) return [];
    const out: CallEdge[] = [];
    for (const [k, e] of edges) {
      if (now - e.lastFailMs > this.#o.ttlMs) this.#dropEdge(caller, edges, k, e);
      else out.push(e);
    }
    if (edges.size === 0) this.#dropCaller(caller);
    return out;
  }

  /** Callers that have an edge to a Service or workload of this name in the namespace. */
  callersOf(cluster: string, namespace: string, workloadName: string): readonly string[] {
    const set = this.#byTarget.get(`${cluster}/${namespace}/${workloadName}`);
    return set ? [...set] : [];
  }

  #dropCaller(caller: string): void {
    const edges = this.#byCaller.get(caller);
    if (edges) for (const [k, e] of [...edges]) this.#dropEdge(caller, edges, k, e);
    this.#byCaller.delete(caller);
    this.#cluster.delete(caller);
  }

  #dropEdge(caller: string, edges: Map<string, CallEdge>, key: string, edge: CallEdge): void {
    edges.delete(key);
    this.stats.edges--;
    this.stats.dropped++;
    const cluster = this.#cluster.get(caller) ?? '';
    for (const name of targetNames(edge.target)) {
      // Another edge of this caller may reach a workload of the same name (two Services, one Deployment).
      let still = false;
      for (const e of edges.values())
        if (e.target.namespace === edge.target.namespace && targetNames(e.target).includes(name))
          still = true;
      if (still) continue;
      const k = `${cluster}/${edge.target.namespace}/${name}`;
      const set = this.#byTarget.get(k);
      set?.delete(caller);
      if (set?.size === 0) this.#byTarget.delete(k);
    }
  }
}

/** Names an incident of the callee may carry: its workloads' and the Service's (an OTel service name). */
function targetNames(t: CallTarget): string[] {
  if (!t.workloads) return [t.service];
  const names = t.workloads.map((w) => w.name);
  return names.includes(t.service) ? names : [...names, t.service];
}
