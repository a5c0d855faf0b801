import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TriageChain } from '../../src/agents/index.ts';
import { scenarioConfig } from '../../src/cli/scenario-config.ts';
import { snapshotResolver } from '../../src/cli/snapshot-resolver.ts';
import { validateConfig } from '../../src/core/config.ts';
import { runScenario } from '../../src/eval/scenario-run.ts';
import { scoreScenario } from '../../src/eval/score.ts';
import { getScenario, listScenarios, type Scenario } from '../../src/sim/scenarios/index.ts';
import { assertValidContext } from '../helpers/schema.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

/** A scenario through the pipeline and the rules chain, default config, snapshot enrichment. */
function rulesRun(s: Scenario) {
  const config = validateConfig({});
  return runScenario(s, {
    config,
    chain: new TriageChain({ config: config.agents }),
    resolver: snapshotResolver,
  });
}

describe('scenario evaluation', () => {
  it('kubetriage eval scores every scenario and writes consistent JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-eval-'));
    const json = join(dir, 'eval.json');
    const r = await run(process.execPath, [BIN, 'eval', '--json', json]);
    for (const s of listScenarios()) assert.match(r.stdout, new RegExp(`\\| ${s.name} `));
    assert.match(r.stdout, /\| TOTAL /);
    const out = JSON.parse(readFileSync(json, 'utf8')) as {
      results: { rules: { scenario: string; expected: number; found: number }[] };
      totals: { rules: { expected: number; found: number } };
    };
    const rows = out.results.rules;
    assert.equal(rows.length, listScenarios().length);
    assert.equal(
      out.totals.rules.expected,
      rows.reduce((a, s) => a + s.expected, 0),
    );
    assert.equal(
      out.totals.rules.found,
      rows.reduce((a, s) => a + s.found, 0),
    );
  });

  it('a rollout that references a missing image or config: the specific cause first, the rollout second', async () => {
    for (const [scenario, workload, cause] of [
      ['bad-image', 'catalog', 'image_pull'],
      ['missing-config', 'payments', 'config_error'],
    ] as const) {
      const o = await rulesRun(getScenario(scenario));
      const doc = o.latest.find((d) => d.scope.workload.name === workload);
      assert.ok(doc, `${scenario}: ${workload} incident`);
      const h = o.reports.get(doc.id)?.hypotheses ?? [];
      assert.equal(h[0]?.cause, cause, `${scenario}: ${JSON.stringify(h.map((x) => x.cause))}`);
      const rollout = h.find((x) => x.cause === 'bad_rollout');
      assert.ok(rollout, `${scenario}: the rollout is still a hypothesis`);
      assert.match(rollout.explanation, /references an image or configuration that does not exist/);
    }
  });

  it('a canary failing on its own: bad_rollout naming the canary, its own rollout not called a red herring', async () => {
    const o = await rulesRun(getScenario('canary'));
    const doc = o.latest.find((d) => d.scope.workload.name === 'checkout-canary');
    assert.ok(doc);
    const r = o.reports.get(doc.id);
    assert.equal(r?.hypotheses[0]?.cause, 'bad_rollout');
    assert.match(r?.hypotheses[0]?.explanation ?? '', /checkout-canary is a canary/);
    assert.deepEqual(r?.redHerrings, []);
    // The stable Deployment is not a canary: the same rule does not fire there (with the pattern off,
    // the canary is judged like any Deployment again).
    const plain = validateConfig({ agents: { policy: { canaryPatterns: ['*-never'] } } });
    const r2 = new TriageChain({ config: plain.agents }).rules(doc);
    assert.notEqual(r2.hypotheses[0]?.cause, 'bad_rollout');
  });

  it('regression: a failing canary is never scaled up, whatever the top cause', async () => {
    const o = await rulesRun(getScenario('canary'));
    const canary = o.latest.find((d) => d.scope.workload.name.endsWith('-canary'));
    assert.ok(canary, 'the canary incident is raised');
    const p = o.reports.get(canary.id)?.proposal;
    assert.ok(p, 'a proposal is drafted for the failing canary');
    assert.ok(p.toReplicas < p.fromReplicas, `scales down (${p.fromReplicas} → ${p.toReplicas})`);
    const score = scoreScenario('canary', getScenario('canary').truth, o.latest, o.reports);
    assert.equal(score.incidents[0]?.proposalOk, true);
  });

  it('every scenario yields schema-valid contexts, and noise-free ground-truth incidents are all found', async () => {
    for (const s of listScenarios()) {
      const o = await rulesRun(s);
      for (const d of o.contexts) assertValidContext(d);
      assert.equal(o.deadLetters, 0, `${s.name}: no dead letters`);
      const score = scoreScenario(s.name, s.truth, o.latest, o.reports);
      assert.equal(score.found, score.expected, `${s.name}: every expected incident raised`);
    }
  });
  it("judges with the scenario cluster's production namespaces unless --config is given", () => {
    const implied = scenarioConfig(undefined);
    assert.ok(implied.config.agents.productionNamespaces.includes('shop'));
    assert.ok(implied.config.agents.productionNamespaces.includes('prod-*'), 'defaults kept');
    assert.match(implied.note ?? '', /shop, inventory added to agents\.productionNamespaces/);
    const file = join(mkdtempSync(join(tmpdir(), 'kt-eval-config-')), 'kubetriage.yaml');
    writeFileSync(file, 'agents:\n  productionNamespaces: [live]\n');
    const own = scenarioConfig(file);
    assert.deepEqual(own.config.agents.productionNamespaces, ['live']);
    assert.equal(own.note, null);
  });
});

describe('kubetriage demo', () => {
  it('prints the incident with evidence from every signal kind the scenario sends', async () => {
    const r = await run(process.execPath, [BIN, 'demo']);
    assert.match(r.stdout, /scenario oom-rollout/);
    assert.match(r.stdout, /Deployment shop\/checkout/);
    // oom-rollout sends k8s events, k8s_cluster metrics and traces.
    for (const kind of ['event', 'restart', 'rollout', 'metric'])
      assert.match(r.stdout, new RegExp(`\\d\\d:\\d\\d:\\d\\d  ${kind}\\b`), kind);
    assert.match(r.stdout, /Hypotheses \(engine rules\)\n {3}1\. bad_rollout/);
    assert.match(r.stdout, /Proposal, as the approval message shows it/);
    assert.match(r.stderr, /\[demo\] oom-rollout: done in/);
  });

  it('refuses an unknown scenario naming the valid ones', async () => {
    await assert.rejects(
      run(process.execPath, [BIN, 'demo', '--scenario', 'nope']),
      (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2);
        assert.match(e.stderr, /unknown scenario "nope"; valid scenarios: oom-rollout/);
        return true;
      },
    );
  });
});
