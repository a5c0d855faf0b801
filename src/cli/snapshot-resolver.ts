import { type EnrichConfig, validateConfig } from '../core/config.ts';
import { createEnrichment, loadSnapshotObject } from '../enrich/index.ts';
import type { WorkloadResolver } from '../stream/workload.ts';

/**
 * The resolver `demo` and `eval` use for a scenario's cluster snapshot: the enrichment stage's cache
 * loaded from the snapshot (a v1/List), so joins, team and rollout timelines are the live code path.
 * Without a snapshot it still answers, from k8sattributes and controller naming patterns.
 */
export function snapshotResolver(
  snapshot: unknown,
  enrich: EnrichConfig = validateConfig({}).enrich,
): WorkloadResolver {
  const e = createEnrichment(enrich);
  if (snapshot !== undefined && snapshot !== null) loadSnapshotObject(e, snapshot, 'scenario snapshot');
  return e.resolver;
}
