// GitOps-aware execution: a scale of a workload that Argo CD or Flux reconciles from Git is put back
// at their next sync (self-heal), so by default it is refused with what to do instead; a Helm release
// without a controller is not reverted until the next upgrade: a warning. Checked when a proposal is
// made and again right before the write (the owner may change between proposal and approval).
import type { ExecConfig } from '../core/config-exec.ts';
import { type Management, revertAdvice } from '../enrich/gitops.ts';
import { glob } from './policy.ts';

export type GitopsMode = 'refuse' | 'warn' | 'allow';

export interface GitopsVerdict {
  action: 'refuse' | 'warn' | 'allow';
  /** Why, and what to do instead (empty for allow). */
  reason: string;
}

/** The mode for a namespace: the first rule whose globs match it, else the default mode. */
export function gitopsMode(policy: ExecConfig['policy']['gitops'], namespace: string): GitopsMode {
  for (const r of policy.rules) if (r.namespaces.some((p) => glob(p).test(namespace))) return r.mode;
  return policy.mode;
}

export function gitopsVerdict(
  policy: ExecConfig['policy']['gitops'],
  namespace: string,
  m: Management,
): GitopsVerdict {
  if (!m.tool) return { action: 'allow', reason: '' };
  const mode = gitopsMode(policy, namespace);
  const reason = `${revertAdvice(m)} (spec.replicas owned by ${m.replicaManagers.join(', ') || 'unknown'})`;
  if (mode === 'allow') return { action: 'allow', reason };
  // Helm alone reverts nothing until the next upgrade: never more than a warning.
  if (m.tool === 'helm' || mode === 'warn') return { action: 'warn', reason };
  return { action: 'refuse', reason };
}
