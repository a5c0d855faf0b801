// Policy bounds checked before a proposal is posted and again right before it is executed.
import type { Proposal } from '../agents/report.ts';
import type { ExecConfig } from '../core/config-exec.ts';

export function glob(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

/** Why the action is not allowed, or null. `lastActionAt` drives the per-workload cool-down. */
export function policyViolation(
  policy: ExecConfig['policy'],
  a: { namespace: string; from: number; to: number },
  o: { now: number; lastActionAt: number | undefined; skipCooldown?: boolean },
): string | null {
  if (!policy.namespaces.some((p) => glob(p).test(a.namespace)))
    return `namespace ${a.namespace} is not in exec.policy.namespaces`;
  if (a.to < policy.minReplicas)
    return `${a.to} replicas is below exec.policy.minReplicas (${policy.minReplicas})`;
  if (a.to > policy.maxReplicas)
    return `${a.to} replicas is above exec.policy.maxReplicas (${policy.maxReplicas})`;
  if (Math.abs(a.to - a.from) > policy.maxStep)
    return `a step of ${Math.abs(a.to - a.from)} replicas is above exec.policy.maxStep (${policy.maxStep})`;
  if (!o.skipCooldown && o.lastActionAt !== undefined && o.now - o.lastActionAt < policy.cooldown)
    return `workload is cooling down until ${new Date(o.lastActionAt + policy.cooldown).toISOString()} (exec.policy.cooldown)`;
  return null;
}

export const workloadKey = (p: Proposal) => `${p.target.namespace}/${p.target.kind}/${p.target.name}`;
