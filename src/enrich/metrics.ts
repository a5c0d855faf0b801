// What the cluster watch does, for /metrics: an API-server outage shows as failing informers and a
// rising error count while the stream goes on with the cache it has (and name patterns).
import type { Registry } from 'prom-client';
import { counterFromStats, gaugeFrom } from '../core/metrics.ts';
import type { ClusterWatch } from './informers.ts';

export function registerEnrichMetrics(registry: Registry, cluster: ClusterWatch): void {
  counterFromStats(
    registry,
    'kubetriage_enrich_watch_errors_total',
    'Cluster list/watch failures (each followed by a retry after a backoff), by kind',
    ['kind'],
    () => {
      const byKind = new Map<string, number>();
      for (const i of cluster.informers) byKind.set(i.kind, (byKind.get(i.kind) ?? 0) + i.errors);
      return [...byKind].map(([kind, v]) => [{ kind }, v]);
    },
  );
  gaugeFrom(
    registry,
    'kubetriage_enrich_informers_failing',
    'Informers whose last list/watch failed (enrichment degraded: the cache may be stale)',
    [],
    () => [[{}, cluster.informers.filter((i) => i.lastError !== null).length]],
  );
  gaugeFrom(registry, 'kubetriage_enrich_synced', 'Whether every informer has listed once (1/0)', [], () => [
    [{}, cluster.synced ? 1 : 0],
  ]);
}
