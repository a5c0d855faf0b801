// A proposal's state from its audit chain (what a replica that does not own the proposal shows): the
// same transitions as the owner's state machine replaying that chain (ApprovalService's restore).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry } from '../../src/exec/audit.ts';
import { stateOfChain } from '../../src/page/proposal-state.ts';

const chain = (...events: string[]) => events.map((event) => ({ event }) as AuditEntry);

test('proposal state from its chain, as the owner replays it', () => {
  assert.equal(stateOfChain([]), null);
  assert.equal(stateOfChain(chain('posted')), null, 'nothing before `proposed`');
  assert.equal(stateOfChain(chain('proposed', 'posted')), 'pending');
  assert.equal(
    stateOfChain(chain('proposed', 'posted', 'refused')),
    'pending',
    'a refused click changes nothing',
  );
  assert.equal(stateOfChain(chain('proposed', 'rejected')), 'rejected');
  assert.equal(stateOfChain(chain('proposed', 'expired')), 'expired');
  assert.equal(
    stateOfChain(chain('proposed', 'approved', 'executing')),
    'approved',
    'an intent is not an outcome',
  );
  assert.equal(
    stateOfChain(chain('proposed', 'approved', 'refused')),
    'failed',
    'refused by policy after approval',
  );
  assert.equal(stateOfChain(chain('proposed', 'approved', 'executing', 'failed')), 'failed');
  assert.equal(stateOfChain(chain('proposed', 'approved', 'executing', 'executed', 'verified')), 'executed');
  assert.equal(
    stateOfChain(chain('proposed', 'approved', 'executed', 'rollback_requested', 'rolled_back')),
    'rolled_back',
  );
  assert.equal(stateOfChain(chain('proposed', 'approved', 'executed', 'ignored')), 'executed');
});
