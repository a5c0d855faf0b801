// Each scenario's capture through the real pipeline (replay, default config, name-pattern resolver):
// every ground-truth incident must be raised; nothing outside expected ∪ tolerated may be.
// Where the pipeline falls short today the test is marked `todo` with the reason: the ground truth is
// what a correct triage should say, not what the pipeline currently does.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { getScenario, type IncidentKey, listScenarios } from '../../src/sim/scenarios/index.ts';
import { formatCaptureLine } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';

const dir = mkdtempSync(join(tmpdir(), 'kt-sim-pipeline-'));

const key = (k: IncidentKey | IncidentContextDoc['scope']) =>
  `${k.cluster}/${k.namespace}/${k.workload.kind}/${k.workload.name}`;

/** Known pipeline gaps that make it raise incidents the ground truth does not allow (seed 1). */
const FALSE_POSITIVES: Record<string, string> = {
  // Fixed: noise-only and missing-config raised a frontend latency-p99-up false positive (a handful of
  // server spans per 30 s bucket made one slow request the p99); buckets now need spanMinSamples spans.
  // Fixed: node-pressure's DaemonSet pod otel-agent-<suffix> read as a pod of Deployment "otel" ("agent"
  // as its pod-template hash); the name patterns now take only Kubernetes' safe alphabet as a hash.
  // Fixed: the quiet clusters' background of a healthy cluster (single 5xx, one restart, a probe miss
  // during a rollout…) opened incidents; the noise floors (counting failed requests, not spans) keep it
  // below the floor, so the quiet scenarios assert no incident at all.
};

async function incidents(name: string): Promise<Map<string, IncidentContextDoc>> {
  const run = getScenario(name).generate({ seed: 1 });
  const file = join(dir, `${name}.ndjson`);
  writeFileSync(file, `${run.records.map(formatCaptureLine).join('\n')}\n`);
  const latest = new Map<string, IncidentContextDoc>();
  const res = await replay({
    input: file,
    config: validateConfig({}),
    resolver: new NamePatternResolver(),
    onContext: (d) => latest.set(key(d.scope), d),
  });
  assert.equal(res.deadLetters.length, 0, 'no record is dead-lettered');
  assert.equal(res.records, run.records.length);
  return latest;
}

for (const scenario of listScenarios()) {
  describe(`pipeline on ${scenario.name}`, () => {
    let raised: Promise<Map<string, IncidentContextDoc>> | undefined;
    const get = () => {
      raised ??= incidents(scenario.name);
      return raised;
    };

    if (scenario.truth.incidents.length === 0) {
      it('raises no incident at all', { todo: FALSE_POSITIVES[scenario.name] }, async () => {
        assert.deepEqual([...(await get()).keys()], []);
      });
      return;
    }

    for (const expected of scenario.truth.incidents) {
      it(`raises ${expected.role} incident ${expected.namespace || '(cluster)'}/${expected.workload.kind}/${expected.workload.name}`, async () => {
        const doc = (await get()).get(key(expected));
        assert.ok(doc, `no incident for ${key(expected)}; raised: ${[...(await get()).keys()].join(', ')}`);
        assert.ok(doc.evidence.length > 0);
      });
    }

    it('raises nothing outside the expected and tolerated incidents', {
      todo: FALSE_POSITIVES[scenario.name],
    }, async () => {
      const allowed = new Set([...scenario.truth.incidents, ...scenario.truth.tolerated].map(key));
      const extra = [...(await get()).keys()].filter((k) => !allowed.has(k));
      assert.deepEqual(extra, []);
    });
  });
}

describe('pipeline on rollout scenarios', () => {
  it('sees the oom-rollout and bad-image rollouts as rollouts (paired ScalingReplicaSet events)', async () => {
    for (const [name, workload] of [
      ['oom-rollout', 'checkout'],
      ['bad-image', 'catalog'],
    ] as const) {
      const doc = (await incidents(name)).get(`default/shop/Deployment/${workload}`);
      assert.ok(doc);
      assert.equal(doc.rollouts.length, 1, `${name}: one rollout on ${workload}`);
    }
  });

  it('sees the stuck missing-config rollout as a rollout', {
    todo:
      'with maxUnavailable 0 the new ReplicaSet is scaled up and the old one never scaled down (its pod never ' +
      'becomes ready), so RolloutMemory, which needs a paired scale-down within 15 min, sees autoscaling. ' +
      'Enrichment with ReplicaSet revisions from the snapshot/informers would catch it.',
  }, async () => {
    const doc = (await incidents('missing-config')).get('default/shop/Deployment/payments');
    assert.ok(doc);
    assert.equal(doc.rollouts.length, 1);
  });

  it('does not mistake the unschedulable scale-up or the canary scale-up for a rollout', async () => {
    for (const [name, workload] of [
      ['unschedulable', 'recommendations'],
      ['canary', 'checkout-canary'],
    ] as const) {
      const doc = (await incidents(name)).get(`default/shop/Deployment/${workload}`);
      assert.ok(doc);
      assert.equal(doc.rollouts.length, 0, `${name}: a lone scale-up is not a rollout`);
    }
  });
});
