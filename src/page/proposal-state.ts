// A proposal's state as its audit chain says it, for replicas that do not own the proposal (replicated
// approvals): the owner's state machine replays the same chain (ApprovalService's restore), and these
// rules follow it event by event, so every replica's page shows what the owner holds.
import type { ProposalState } from '../exec/approvals.ts';
import type { AuditEntry } from '../exec/audit.ts';

export function stateOfChain(entries: readonly AuditEntry[]): ProposalState | null {
  let state: ProposalState | null = null;
  for (const e of entries) {
    if (e.event === 'proposed') state = 'pending';
    else if (state === null) continue;
    else if (e.event === 'approved' || e.event === 'rejected' || e.event === 'expired') state = e.event;
    else if (e.event === 'failed' || (e.event === 'refused' && state === 'approved')) state = 'failed';
    else if (e.event === 'executed') state = 'executed';
    else if (e.event === 'rolled_back') state = 'rolled_back';
  }
  return state;
}
