// The open incidents of every signals partition, as their owners' changelog says (what Kafka Streams
// calls a global table): a partition's pipeline links its callers to a peer workload whose incident
// another partition owns, and takes the impact side of links other owners made to its incidents.
// Without it, `related` links (cascades) joined incidents of one partition only.
import type { RelatedDoc } from '../incidents/document.ts';
import type { IncidentScope } from '../incidents/incident.ts';
import { scopeKey } from '../incidents/incident.ts';
import type { ChangelogEntry } from './changelog.ts';

export interface RemoteIncident {
  id: string;
  /** The signals partition that owns it. */
  partition: number;
  revision: number;
  scope: IncidentScope;
  firstSignalAt: number;
  related: RelatedDoc[];
}

export interface RemoteIncidentsStats {
  /** Changelog entries taken: open (an incident and its links), resolved (removed). */
  open: number;
  resolved: number;
  /** Dropped for room (the oldest), past `maxIncidents`. */
  evicted: number;
}

export class RemoteIncidents {
  readonly stats: RemoteIncidentsStats = { open: 0, resolved: 0, evicted: 0 };
  /** Called for every open incident taken (new or a new revision). */
  onChange: ((r: RemoteIncident) => void) | undefined;
  readonly #byKey = new Map<string, RemoteIncident>();
  readonly #keyOf = new Map<string, string>();
  readonly #max: number;

  constructor(maxIncidents: number) {
    this.#max = maxIncidents;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** An incident of `scope`'s workload, whichever partition owns it. */
  get(key: string): RemoteIncident | undefined {
    return this.#byKey.get(key);
  }

  /** One changelog entry of `partition`, in the partition's order. */
  apply(partition: number, e: ChangelogEntry): void {
    if (e.status === 'resolved') {
      const key = this.#keyOf.get(e.id);
      if (key !== undefined && this.#byKey.get(key)?.id === e.id) this.#byKey.delete(key);
      this.#keyOf.delete(e.id);
      this.stats.resolved++;
      return;
    }
    const doc = e.doc;
    if (!doc) return;
    const scope: IncidentScope = {
      cluster: doc.scope.cluster,
      namespace: doc.scope.namespace,
      workload: { kind: doc.scope.workload.kind, name: doc.scope.workload.name },
    };
    const key = scopeKey(scope);
    const old = this.#byKey.get(key);
    if (old && old.id === e.id && old.revision >= e.revision) return;
    const r: RemoteIncident = {
      id: e.id,
      partition,
      revision: e.revision,
      scope,
      firstSignalAt: Date.parse(doc.timings?.firstSignal ?? doc.window.start) || Date.parse(doc.window.start),
      related: doc.related ?? [],
    };
    // Re-inserted: Map order is least recently changed first, the eviction order.
    this.#byKey.delete(key);
    this.#byKey.set(key, r);
    this.#keyOf.set(e.id, key);
    while (this.#byKey.size > this.#max) {
      const [k, oldest] = this.#byKey.entries().next().value as [string, RemoteIncident];
      this.#byKey.delete(k);
      this.#keyOf.delete(oldest.id);
      this.stats.evicted++;
    }
    this.stats.open++;
    this.onChange?.(r);
  }
}
