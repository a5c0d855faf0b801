import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, validateConfig } from '../../src/core/config.ts';

describe('config: agents', () => {
  it('defaults to rules only, with a conservative policy', () => {
    const a = validateConfig({}).agents;
    assert.equal(a.llm.url, null);
    assert.equal(a.llm.model, 'llama3.1:8b');
    assert.equal(a.llm.redact, true);
    assert.equal(a.llm.timeout, 20_000);
    assert.equal(a.policy.proposalTtl, 15 * 60_000);
    assert.deepEqual(a.policy.forbiddenWorkloads, ['kube-system/*', 'kube-public/*']);
    assert.equal(a.defaultTeam, 'unassigned');
  });

  it('the documented example sets the same defaults', () => {
    const c = loadConfig(new URL('../../config/kubetriage.yaml', import.meta.url).pathname, {});
    assert.deepEqual(c.agents, validateConfig({}).agents);
  });

  it('names bad agent keys', () => {
    assert.throws(
      () =>
        validateConfig({
          agents: {
            policy: { minReplicas: 5, maxReplicas: 2 },
            llm: { url: 'nope', timeout: 'soon', agents: ['planner'] },
          },
        } as never),
      (err: Error) =>
        /agents\.policy\.minReplicas: must not exceed maxReplicas/.test(err.message) &&
        /agents\.llm\.url/.test(err.message) &&
        /agents\.llm\.timeout: "soon" is not a duration/.test(err.message) &&
        /agents\.llm\.agents\.0/.test(err.message),
    );
    assert.throws(
      () => validateConfig({ agents: { llm: { modle: 'x' } } } as never),
      /agents\.llm: Unrecognized key: "modle"/,
    );
  });
});
