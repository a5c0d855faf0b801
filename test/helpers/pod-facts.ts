// Pod-status facts as src/enrich/pod-status.ts makes them from an informer's pod.
import type { PodStatusChange } from '../../src/stream/workload.ts';

/** Container `app` of `pod` (namespace shop) was OOMKilled at `atMs`, its first restart. */
export function oomKilledFact(pod: string, atMs: number): PodStatusChange {
  return {
    kind: 'terminated',
    namespace: 'shop',
    pod,
    podUid: `uid-${pod}`,
    node: 'node-1',
    container: 'app',
    reason: 'OOMKilled',
    message: '',
    exitCode: 137,
    lastTerminated: 'OOMKilled',
    restarts: 1,
    atMs,
  };
}
