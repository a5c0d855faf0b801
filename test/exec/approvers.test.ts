// Slack approvers are matched by user ID only: a username or display name is chosen by its owner, so a
// user who renames themselves after an approver (or after an approver's ID) must stay a non-approver.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig, validateConfig } from '../../src/core/config.ts';
import { execConfig } from '../../src/core/config-exec.ts';
import { ACTION_APPROVE } from '../../src/exec/slack-message.ts';
import { APPROVER, execWorld, SECRET } from '../fault/exec-world.ts';
import { interaction, type SlackFake, startSlackFake } from './slack-fake.ts';

let slack: SlackFake;
before(async () => {
  slack = await startSlackFake();
});
after(() => slack.close());

test('config: exec.approvers takes Slack user IDs only, and says why', () => {
  assert.deepEqual(execConfig({ approvers: ['U024BE7LH', 'W0ENTERPRISE'] }).approvers, [
    'U024BE7LH',
    'W0ENTERPRISE',
  ]);
  assert.throws(
    () => validateConfig({ exec: { approvers: ['U024BE7LH', 'alice'] } }),
    /exec\.approvers\.1: "alice" is not a Slack user ID: approvers are matched by ID only \(U… or W….*names can be changed by their owners/s,
  );
  assert.throws(() => execConfig({ approvers: ['u024be7lh'] }), /not a Slack user ID/);
});

test('the documented example (config/kubetriage.yaml) sets the exec and http defaults', () => {
  const c = loadConfig(new URL('../../config/kubetriage.yaml', import.meta.url).pathname, {});
  assert.deepEqual(c.exec, validateConfig({}).exec);
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 9464 }, 'loopback unless configured');
});

test('regression: a user whose username or display name is an approver ID is not an approver', async () => {
  const w = await execWorld({ slack });
  try {
    const id = await w.propose();
    const req = interaction({
      secret: SECRET,
      userId: 'U0MALLORY',
      username: APPROVER.id, // renamed to look like the approver
      actionId: ACTION_APPROVE,
      value: id,
      responseUrl: slack.responseUrl,
    });
    assert.equal((await w.post(req.body, req.headers)).status, 200);
    await w.service.idle();
    assert.equal(w.service.state(id), 'pending');
    const refused = w.entries().at(-1)!;
    assert.equal(refused.event, 'refused');
    assert.equal(refused.detail.reason, 'not an approver (exec.approvers)');
    // The approver's own ID still approves.
    assert.equal(await w.click(id), 200);
    assert.ok(w.entries().some((e) => e.event === 'approved'));
  } finally {
    await w.close();
  }
});
