// enrich.* in the config: defaults, and errors that name the rule and the key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { KubetriageError } from '../../src/core/errors.ts';

function invalid(raw: unknown): string {
  try {
    validateConfig(raw);
  } catch (err) {
    assert.ok(err instanceof KubetriageError && err.code === 'CONFIG_INVALID');
    return err.message;
  }
  return assert.fail('expected the config to be rejected');
}

describe('config: enrich', () => {
  it('has defaults that need no cluster', () => {
    const e = validateConfig({}).enrich;
    assert.equal(e.enabled, false);
    assert.deepEqual(e.teamLabels, ['team', 'app.kubernetes.io/part-of', 'owner']);
    assert.deepEqual(e.teamAnnotations, ['team', 'owner']);
    assert.equal(e.tombstoneTtl, 300_000);
    assert.deepEqual(e.rules, { ignore: [], teams: [], grouping: [] });
  });

  it('names the rule and key of a bad regular expression', () => {
    const msg = invalid({
      enrich: {
        rules: {
          ignore: [
            { reason: 'FailedMount' },
            { reason: 'BackOff', message: 'ok' },
            { id: 'broken', message: '(unclosed' },
          ],
        },
      },
    });
    assert.match(
      msg,
      /enrich\.rules\.ignore\.2\.message: invalid regular expression \/\(unclosed\/ in rule "broken": /,
    );
  });

  it('rejects rules that match everything, unknown keys, and conflicting sources', () => {
    assert.match(
      invalid({ enrich: { rules: { ignore: [{ id: 'all' }] } } }),
      /enrich\.rules\.ignore\.0: a rule \("all"\) needs at least one of reason/,
    );
    assert.match(
      invalid({ enrich: { rules: { teams: [{ team: 'x' }] } } }),
      /enrich\.rules\.teams\.0: a rule needs at least one of namespace, kind, name/,
    );
    assert.match(
      invalid({ enrich: { rules: { grouping: [{ name: 'a-*', groupAs: { kind: 'Deployment' } }] } } }),
      /enrich\.rules\.grouping\.0\.groupAs\.name/,
    );
    assert.match(
      invalid({ enrich: { rules: { teams: [{ name: 'x', team: 'y', colour: 'z' }] } } }),
      /enrich\.rules\.teams\.0: Unrecognized key.*colour/,
    );
    assert.match(
      invalid({ enrich: { inCluster: true, kubeconfig: '/k' } }),
      /enrich\.kubeconfig: set either kubeconfig or inCluster/,
    );
    assert.match(
      invalid({ enrich: { tombstoneTtl: 'soon' } }),
      /enrich\.tombstoneTtl: "soon" is not a duration/,
    );
  });

  it('accepts a single string where a list is allowed', () => {
    const e = validateConfig({
      enrich: { rules: { ignore: [{ reason: 'FailedMount', namespace: 'kube-*' }] } },
    }).enrich;
    assert.deepEqual(e.rules.ignore[0], { reason: ['FailedMount'], namespace: ['kube-*'] });
  });
});
