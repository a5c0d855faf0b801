// scopeKey(scope) as one string per scope, looked up instead of concatenated per signal.
//
// A fresh `cluster/namespace/kind/name` is a tree of cons strings: every Map it is looked up in
// (floors, open incidents, pending updates) flattens and hashes it again. The same string object each
// time carries its hash. Looked up by the workload's name (the part that tells scopes apart), then
// compared by its other three parts, which decode hands out interned (the same objects).
import { flat } from '../flat.ts';
import { type IncidentScope, scopeKey } from './incident.ts';

interface Entry {
  cluster: string;
  namespace: string;
  kind: string;
  key: string;
}

/** Names remembered; the memo starts over beyond (it only spares work, it decides nothing). */
const MAX_NAMES = 10_000;

export class ScopeKeys {
  readonly #byName = new Map<string, Entry[]>();

  /** scopeKey(scope), the same string object for the same scope while remembered. */
  of(scope: IncidentScope): string {
    const { cluster, namespace, workload } = scope;
    const list = this.#byName.get(workload.name);
    if (list !== undefined)
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (e.namespace === namespace && e.kind === workload.kind && e.cluster === cluster) return e.key;
      }
    const key = flat(scopeKey(scope));
    const entry = { cluster, namespace, kind: workload.kind, key };
    if (list !== undefined) list.push(entry);
    else {
      if (this.#byName.size >= MAX_NAMES) this.#byName.clear();
      this.#byName.set(flat(workload.name), [entry]);
    }
    return key;
  }
}
