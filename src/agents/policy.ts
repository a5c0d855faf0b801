// The executor's policy: which Deployments may be scaled, and how far. The rules executor drafts only
// candidates that pass it; a model may pick one of those candidates (or none) and a replica count in
// the candidate's range, never anything else.
import type { AgentsConfig } from '../core/config.ts';
import { PatternSet } from './patterns.ts';

export interface ScalePolicy {
  allowedNamespaces: PatternSet;
  forbiddenWorkloads: PatternSet;
  canaries: PatternSet;
  minReplicas: number;
  maxReplicas: number;
  maxStep: number;
  canaryFloor: number;
  canaryScaleDown: boolean;
  capacityScaleUp: boolean;
  scaleUpFactor: number;
  ttlMs: number;
}

export function compilePolicy(p: AgentsConfig['policy']): ScalePolicy {
  return {
    allowedNamespaces: new PatternSet(p.allowedNamespaces),
    forbiddenWorkloads: new PatternSet(p.forbiddenWorkloads),
    canaries: new PatternSet(p.canaryPatterns),
    minReplicas: p.minReplicas,
    maxReplicas: p.maxReplicas,
    maxStep: p.maxStep,
    canaryFloor: p.canaryFloor,
    canaryScaleDown: p.canaryScaleDown,
    capacityScaleUp: p.capacityScaleUp,
    scaleUpFactor: p.scaleUpFactor,
    ttlMs: p.proposalTtl,
  };
}

export interface ScaleTarget {
  namespace: string;
  kind: 'Deployment';
  name: string;
}

/** One action policy allows, with the inclusive range of replica counts it may go to. */
export interface ScaleCandidate {
  kind: 'canary_scale_down' | 'capacity_scale_up';
  target: ScaleTarget;
  fromReplicas: number;
  minTo: number;
  maxTo: number;
  /** The rules engine's choice within [minTo, maxTo]. */
  toReplicas: number;
  /** Why this action helps, without the numbers (reasonFor adds them for whichever count is chosen). */
  why: string;
}

export function reasonFor(c: ScaleCandidate, toReplicas: number): string {
  return `${c.why}: scale ${c.target.namespace}/${c.target.name} ${c.fromReplicas} → ${toReplicas}; rollback restores ${c.fromReplicas}`;
}

/** Why the policy refuses to scale this workload at all, or null when it may be scaled. */
export function targetRefusal(
  policy: ScalePolicy,
  kind: string,
  namespace: string,
  name: string,
): string | null {
  if (kind !== 'Deployment')
    return `only Deployments are scaled (RBAC grants deployments/scale only); this is a ${kind}`;
  if (!policy.allowedNamespaces.matches(namespace))
    return `policy: namespace ${namespace} is not in agents.policy.allowedNamespaces`;
  if (policy.forbiddenWorkloads.matches(`${namespace}/${name}`))
    return `policy: ${namespace}/${name} matches agents.policy.forbiddenWorkloads`;
  return null;
}

export type ActionCheck = { ok: true; candidate: ScaleCandidate } | { ok: false; reason: string };

/** Checks an action someone else (a model) chose against the candidates policy allowed. */
export function checkAction(
  candidates: readonly ScaleCandidate[],
  action: { namespace: string; name: string; toReplicas: number },
): ActionCheck {
  const c = candidates.find((k) => k.target.namespace === action.namespace && k.target.name === action.name);
  if (!c)
    return {
      ok: false,
      reason: `${action.namespace}/${action.name} is not a workload policy allows scaling for this incident`,
    };
  if (!Number.isInteger(action.toReplicas) || action.toReplicas < c.minTo || action.toReplicas > c.maxTo)
    return {
      ok: false,
      reason: `toReplicas ${action.toReplicas} is outside the allowed ${c.minTo}..${c.maxTo} for ${action.namespace}/${action.name}`,
    };
  return { ok: true, candidate: c };
}
