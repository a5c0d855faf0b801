// scopeKey(scope) as one string per scope, looked up instead of concatenated per signal; and, for the
// pipeline's signals, one scope object per scope.
//
// A fresh `cluster/namespace/kind/name` is a tree of cons strings: every Map it is looked up in
// (floors, open incidents, pending updates) flattens and hashes it again. The same string object each
// time carries its hash. Looked up by the workload's name (the part that tells scopes apart), then
// compared by its other three parts, which decode hands out interned (the same objects).
import { flat } from '../flat.ts';
import type { SignalSite } from '../signals.ts';
import { type IncidentScope, scopeKey } from './incident.ts';

interface Entry {
  cluster: string;
  namespace: string;
  kind: string;
  key: string;
  /** The scope scopeOf() hands out for this key, with the environment it was last asked with. */
  scope: IncidentScope | undefined;
}

/** Names remembered; the memo starts over beyond (it only spares work, it decides nothing). */
const MAX_NAMES = 10_000;

export class ScopeKeys {
  readonly #byName = new Map<string, Entry[]>();
  /** The key of the scope scopeOf() returned last. */
  lastKey = '';

  /** scopeKey(scope), the same string object for the same scope while remembered. */
  of(scope: IncidentScope): string {
    return this.#entry(scope.cluster, scope.namespace, scope.workload.kind, scope.workload.name).key;
  }

  /**
   * scopeOf(s) (pipeline.ts), the same object for the same scope and environment while remembered, its
   * key left in lastKey. It replaced a memo by workload ref (Pipeline.#scopeOf, bff7e5e): the receiver
   * path hands out one ref per workload and payload, so that Map took an entry per ref, which lived
   * past its payload and died in the old generation: `node --expose-gc --max-semi-space-size=16
   * bench/lib/memory-child.ts 10000 2000` (10k pods, then 100k event updates) 258 → 243 MB RSS, at
   * Node's defaults 375 → 360 MB; dedup + grouping CPU unchanged within the noise.
   */
  scopeOf(s: SignalSite): IncidentScope {
    const w = s.workload;
    const kind = w === undefined ? 'Namespace' : w.kind;
    const name = w === undefined ? s.namespace || '(cluster)' : w.name;
    const e = this.#entry(s.cluster, s.namespace, kind, name);
    this.lastKey = e.key;
    const known = e.scope;
    if (
      known !== undefined &&
      known.environment === s.environment &&
      known.environmentSource === s.environmentSource
    )
      return known;
    const scope: IncidentScope = {
      cluster: s.cluster,
      namespace: s.namespace,
      workload: w ?? { kind, name },
      environment: s.environment,
      environmentSource: s.environmentSource,
    };
    e.scope = scope;
    return scope;
  }

  #entry(cluster: string, namespace: string, kind: string, name: string): Entry {
    const list = this.#byName.get(name);
    if (list !== undefined)
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (e.namespace === namespace && e.kind === kind && e.cluster === cluster) return e;
      }
    const key = flat(scopeKey({ cluster, namespace, workload: { kind, name } }));
    const entry: Entry = { cluster, namespace, kind, key, scope: undefined };
    if (list !== undefined) list.push(entry);
    else {
      if (this.#byName.size >= MAX_NAMES) this.#byName.clear();
      this.#byName.set(flat(name), [entry]);
    }
    return entry;
  }
}
