// Executor agent, rules engine: drafts at most one reversible action, a Deployment scale, when policy
// allows one that helps. Which causes a scale helps (and which it does not) is spelled out below.
//
// Bad rollouts: the "stable previous version" of a Deployment is an older ReplicaSet of the same
// Deployment. No scale of the Deployment brings it back (a rollback is `kubectl rollout undo`, not a
// scale), and scaling mid-rollout resizes old and new ReplicaSets proportionally. So for a bad rollout
// of a plain Deployment no action is drafted and the reason says what to do instead. When the failing
// version runs as its own canary Deployment (`<app>-canary`), scaling that canary down is the
// reversible action. Scaling a separate stable Deployment up needs its replica count, which the context
// does not carry (it only has the incident workload's): left to a later stage.
import { createHash } from 'node:crypto';
import { revertAdvice } from '../enrich/gitops.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import type { DiagnosisResult } from './diagnosis.ts';
import type { ContextFacts } from './facts.ts';
import { type ScaleCandidate, type ScalePolicy, targetRefusal } from './policy.ts';
import type { Cause, Proposal } from './report.ts';

export interface ExecutorResult {
  /** What policy allows for this incident (what a model may choose from). */
  candidates: ScaleCandidate[];
  /** The rules engine's pick among the candidates (at its `toReplicas`). */
  choice: ScaleCandidate | null;
  noProposalReason: string | null;
}

/**
 * A failing canary is scaled down when the fault is its own (not a peer, the nodes or scheduling).
 * Saturation counts as its own: a canary slower than its stable sibling is a worse version, and
 * scaling it up would send more traffic to it (a regression the scenario eval caught).
 */
const CANARY_CAUSES: ReadonlySet<Cause> = new Set<Cause>([
  'capacity',
  'bad_rollout',
  'oom',
  'crash_loop',
  'image_pull',
  'config_error',
  'probe_failure',
  'unknown',
]);

function whyNot(cause: Cause, f: ContextFacts): string {
  const { namespace, workload } = f.doc.scope;
  switch (cause) {
    case 'bad_rollout':
      return `bad rollout of a Deployment: the reversible fix is \`kubectl rollout undo deployment/${workload.name} -n ${namespace}\`, a rollback rather than a scale; the stable version is an older ReplicaSet of this same Deployment, and scaling mid-rollout resizes old and new ReplicaSets proportionally, so no scale removes the bad version`;
    case 'capacity':
      return f.hpa
        ? `an HPA manages the replicas (current ${f.hpa.current ?? '?'}, max ${f.hpa.max ?? '?'}): a direct scale would be undone; raise the HPA's maxReplicas instead`
        : 'saturation with replicas unavailable: more replicas would not be ready either';
    case 'dependency_failure':
      return 'a failing dependency is the likely cause: scaling this workload does not help';
    case 'scheduling':
      return 'pods cannot be scheduled: more replicas would stay Pending, fewer would not fix it';
    case 'node_pressure':
      return 'node pressure is relieved at the node level, not by scaling this workload';
    case 'unknown':
      return 'cause unknown: no action is safe to draft';
    default:
      return `more replicas of a failing container fail the same way and fewer reduce capacity: no scale helps ${cause}`;
  }
}

export function executorRules(
  f: ContextFacts,
  diagnosis: DiagnosisResult,
  policy: ScalePolicy,
): ExecutorResult {
  const none = (reason: string): ExecutorResult => ({
    candidates: [],
    choice: null,
    noProposalReason: reason,
  });
  const one = (c: ScaleCandidate): ExecutorResult => ({ candidates: [c], choice: c, noProposalReason: null });
  const { doc } = f;
  const { namespace, workload } = doc.scope;
  if (doc.status === 'resolved') return none('incident resolved: nothing to mitigate');
  const refusal = targetRefusal(policy, workload.kind, namespace, workload.name);
  if (refusal) return none(refusal);
  // fromReplicas must be what the cluster reported, never a guess: the exec stage checks it before writing.
  const from = doc.workloadState?.desiredReplicas ?? null;
  if (from === null)
    return none('desired replica count unknown (no k8s_cluster sample): no scale can be drafted');
  const top = diagnosis.hypotheses[0]?.cause ?? 'unknown';
  const target = { namespace, kind: 'Deployment' as const, name: workload.name };

  if (policy.canaries.matches(workload.name) && CANARY_CAUSES.has(top)) {
    if (!policy.canaryScaleDown) return none('policy: agents.policy.canaryScaleDown is off');
    const floor = Math.max(policy.canaryFloor, policy.minReplicas);
    const minTo = Math.max(floor, from - policy.maxStep);
    const maxTo = Math.min(from - 1, policy.maxReplicas);
    if (minTo > maxTo) return none(`canary already at ${from} replicas, at or below the floor ${floor}`);
    return one({
      kind: 'canary_scale_down',
      target,
      fromReplicas: from,
      minTo,
      maxTo,
      toReplicas: minTo,
      why: `canary ${workload.name} is failing (${top}); fewer canary replicas serve less of the traffic`,
    });
  }
  if (top === 'capacity' && f.hpa === null && f.available !== null && f.available >= from) {
    if (!policy.capacityScaleUp) return none('policy: agents.policy.capacityScaleUp is off');
    const maxTo = Math.min(policy.maxReplicas, from + policy.maxStep);
    const minTo = Math.max(from + 1, policy.minReplicas);
    if (minTo > maxTo)
      return none(`already at ${from} replicas, the policy maximum is ${policy.maxReplicas}`);
    const to = Math.min(maxTo, Math.max(minTo, Math.ceil(from * policy.scaleUpFactor)));
    return one({
      kind: 'capacity_scale_up',
      target,
      fromReplicas: from,
      minTo,
      maxTo,
      toReplicas: to,
      why: 'saturated with every replica up and no HPA managing the Deployment; more replicas share the load',
    });
  }
  return none(whyNot(top, f));
}

/** Argo CD and Flux revert a scale at their next sync (Helm only at an upgrade: not a block). */
function gitopsBlock(doc: IncidentContextDoc): { blockedBy?: string } {
  const m = doc.scope.managedBy;
  return m && (m.tool === 'argocd' || m.tool === 'flux') ? { blockedBy: revertAdvice(m) } : {};
}

/** A proposal id is a hash of what it does and the context revision it was drafted from. */
export function proposalId(doc: IncidentContextDoc, c: ScaleCandidate, toReplicas: number): string {
  const key = `${doc.id}|${doc.revision}|${c.target.namespace}/${c.target.name}|${c.fromReplicas}|${toReplicas}`;
  return `prop-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

export function draftProposal(
  doc: IncidentContextDoc,
  c: ScaleCandidate,
  toReplicas: number,
  reason: string,
  ttlMs: number,
): Proposal {
  return {
    id: proposalId(doc, c, toReplicas),
    action: 'scale',
    target: { ...c.target },
    fromReplicas: c.fromReplicas,
    toReplicas,
    rollback: { toReplicas: c.fromReplicas },
    reason,
    // The context's own time is "now", so replay output stays deterministic.
    expiresAt: new Date(Date.parse(doc.timings.updated) + ttlMs).toISOString(),
    ...gitopsBlock(doc),
  };
}
