// `kubectl scale --current-replicas` semantics through the deployments/scale subresource: read the
// Scale, refuse unless spec.replicas is what the proposal expected, write with the read
// resourceVersion (a 409 means someone wrote in between: re-read and re-check, never a blind write),
// then read again to verify. Dry-run sends the same write with dryRun=All: the API server runs
// authorization, admission and validation and persists nothing.
import { type ExecKube, KubeApiError, type Scale } from './kube-client.ts';

export type { Scale };

export interface ScaleRequest {
  namespace: string;
  name: string;
  expected: number;
  to: number;
  dryRun: boolean;
}

export type ScaleOutcome =
  | {
      ok: true;
      dryRun: boolean;
      from: number;
      to: number;
      resourceVersion: string;
      /** The API response to the write (spec/status/resourceVersion only). */
      response: { resourceVersion: string; specReplicas: number | undefined };
      verified: boolean;
      conflicts: number;
    }
  | {
      ok: false;
      reason: 'stale' | 'forbidden' | 'not_found' | 'conflict' | 'unverified' | 'error';
      message: string;
      observed?: number;
      status?: number;
      conflicts: number;
    };

function failure(err: unknown, conflicts: number): ScaleOutcome {
  if (err instanceof KubeApiError) {
    const reason = err.status === 403 ? 'forbidden' : err.status === 404 ? 'not_found' : 'error';
    return { ok: false, reason, message: err.message, status: err.status, conflicts };
  }
  return { ok: false, reason: 'error', message: (err as Error).message, conflicts };
}

export async function scaleDeployment(
  kube: ExecKube,
  r: ScaleRequest,
  maxConflicts = 3,
): Promise<ScaleOutcome> {
  let conflicts = 0;
  for (;;) {
    let cur: Scale;
    try {
      cur = await kube.readScale(r.namespace, r.name);
    } catch (err) {
      return failure(err, conflicts);
    }
    const observed = cur.spec.replicas ?? 0;
    if (observed !== r.expected)
      return {
        ok: false,
        reason: 'stale',
        observed,
        message: `${r.namespace}/${r.name} has ${observed} replicas, the proposal expected ${r.expected}: someone changed it since; refusing`,
        conflicts,
      };
    const body: Scale = {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: r.name, namespace: r.namespace, resourceVersion: cur.metadata.resourceVersion },
      spec: { replicas: r.to },
    };
    let written: Scale;
    try {
      written = await kube.replaceScale(body, { dryRun: r.dryRun });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409 && conflicts < maxConflicts) {
        conflicts++;
        continue;
      }
      if (err instanceof KubeApiError && err.status === 409)
        return { ok: false, reason: 'conflict', message: err.message, status: 409, conflicts };
      return failure(err, conflicts);
    }
    const response = {
      resourceVersion: written.metadata.resourceVersion,
      specReplicas: written.spec.replicas,
    };
    if (r.dryRun)
      return {
        ok: true,
        dryRun: true,
        from: observed,
        to: r.to,
        resourceVersion: cur.metadata.resourceVersion,
        response,
        verified: written.spec.replicas === r.to,
        conflicts,
      };
    let after: Scale;
    try {
      after = await kube.readScale(r.namespace, r.name);
    } catch (err) {
      return failure(err, conflicts);
    }
    if (after.spec.replicas !== r.to)
      return {
        ok: false,
        reason: 'unverified',
        observed: after.spec.replicas ?? 0,
        message: `wrote ${r.to} replicas but read back ${after.spec.replicas}`,
        conflicts,
      };
    return {
      ok: true,
      dryRun: false,
      from: observed,
      to: r.to,
      resourceVersion: cur.metadata.resourceVersion,
      response,
      verified: true,
      conflicts,
    };
  }
}
