import { createHash } from 'node:crypto';
import type { Proposal, TriageReport } from '../../src/agents/report.ts';

/** A triage report with a scale proposal, as the executor agent drafts it. */
export function reportWith(o: {
  incident: string;
  revision?: number;
  namespace: string;
  name: string;
  from: number;
  to: number;
  at?: string;
  expiresAt?: string;
}): TriageReport & { proposal: Proposal } {
  const revision = o.revision ?? 1;
  const at = o.at ?? new Date().toISOString();
  const id = createHash('sha256')
    .update(`${o.incident}|${revision}|${o.namespace}/${o.name}|${o.from}|${o.to}`)
    .digest('hex')
    .slice(0, 16);
  return {
    schema: 'kubetriage.io/triage/v1',
    incident: o.incident,
    revision,
    engine: 'rules',
    engines: { triage: 'rules', diagnosis: 'rules', executor: 'rules' },
    fallbacks: [],
    at,
    status: 'open',
    scope: { cluster: 'test', namespace: o.namespace, workload: { kind: 'Deployment', name: o.name } },
    severity: 'SEV2',
    team: 'payments',
    teamSource: 'context',
    productionSource: 'config:agents.productionNamespaces',
    impact: {
      production: true,
      userFacing: true,
      allReplicasDown: false,
      desiredReplicas: o.from,
      availableReplicas: 1,
      affectedPods: 3,
      peers: [],
      summary: 'canary pods crash-looping after a rollout',
    },
    hypotheses: [
      { cause: 'crash_loop', confidence: 0.8, evidence: ['ev-1', 'ev-2'], explanation: 'BackOff restarting' },
      { cause: 'bad_rollout', confidence: 0.5, evidence: ['ev-3'], explanation: 'new image at 10:02' },
    ],
    redHerrings: [],
    proposal: {
      id,
      action: 'scale',
      target: { namespace: o.namespace, kind: 'Deployment', name: o.name },
      fromReplicas: o.from,
      toReplicas: o.to,
      rollback: { toReplicas: o.from },
      reason: 'scale the failing canary down to the floor',
      expiresAt: o.expiresAt ?? new Date(Date.now() + 15 * 60_000).toISOString(),
    },
    noProposalReason: null,
  };
}
