import type { WorkloadResolver } from '../stream/workload.ts';
import { NamePatternResolver } from '../stream/workload.ts';

/**
 * The resolver `demo` and `eval` use for a scenario's cluster snapshot. Until the enrichment stage's
 * snapshot mode is wired here, joins fall back to k8sattributes and controller naming patterns.
 */
export function snapshotResolver(_snapshot: unknown): WorkloadResolver {
  return new NamePatternResolver();
}
