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
import { type Config, validateConfig } from '../../src/core/config.ts';
import { type Summary, summarise } from '../../src/eval/aggregate.ts';
import { runScenario } from '../../src/eval/scenario-run.ts';
import { scoreScenario } from '../../src/eval/score.ts';
import { getScenario, listScenarios, type Scenario, scenarioNames } from '../../src/sim/scenarios/index.ts';
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
  it('kubetriage eval --seeds runs every scenario over seeds 1..n and records the config it judged with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-eval-'));
    const json = join(dir, 'eval.json');
    const names = ['canary', 'saturation', 'quiet-small'];
    const r = await run(process.execPath, [
      BIN,
      'eval',
      '--seeds',
      '2',
      '--scenarios',
      names.join(','),
      '--json',
      json,
    ]);
    for (const name of names) assert.match(r.stdout, new RegExp(`\\| ${name} +\\| (failure|quiet) +\\| 2 `));
    assert.match(r.stdout, /\| FAMILY failure /);
    assert.match(r.stdout, /\| FAMILY quiet /);
    assert.match(r.stdout, /\| TOTAL /);
    assert.match(r.stdout, /background noise on/);
    assert.match(r.stderr, /\[eval\] rules: seed 2\/2 quiet-small \(6\/6\)/);
    assert.match(r.stderr, /\[eval\] 6 runs \(3 scenarios × 2 seed\(s\), noise on\) in [\d.]+ s/);
    const out = JSON.parse(readFileSync(json, 'utf8')) as {
      seeds: number[];
      noise: boolean;
      config: { agents: { productionNamespaces: string[] } };
      results: {
        rules: { scenario: string; seed: number; expected: number; found: number; raised: number }[];
      };
      summaries: { rules: Summary };
      totals: { rules: { expected: number; found: number } };
    };
    assert.deepEqual(out.seeds, [1, 2]);
    assert.equal(out.noise, true);
    // The config it judged with, production namespaces included (the scenarios' severity bands depend on them).
    assert.ok(out.config.agents.productionNamespaces.includes('shop'));
    assert.ok(out.config.agents.productionNamespaces.includes('prod-*'));
    const rows = out.results.rules;
    assert.deepEqual(
      rows.map((x) => `${x.scenario}@${x.seed}`).sort(),
      names.flatMap((n) => [`${n}@1`, `${n}@2`]).sort(),
    );
    const sum = out.summaries.rules;
    assert.equal(sum.total.runs, 6);
    assert.equal(
      sum.total.recall.of,
      rows.reduce((a, x) => a + x.expected, 0),
    );
    assert.equal(
      sum.total.recall.ok,
      rows.reduce((a, x) => a + x.found, 0),
    );
    assert.equal(
      sum.total.raised,
      rows.reduce((a, x) => a + x.raised, 0),
    );
    assert.equal(sum.families.quiet?.runs, 2);
    assert.equal(sum.families.failure?.recall.of, 4, 'canary and saturation expect one incident each');
    assert.equal(out.totals.rules.found, sum.total.recall.ok);
  });

  it('eval --no-noise judges the scenarios without the background', async () => {
    const r = await run(process.execPath, [BIN, 'eval', '--no-noise', '--scenarios', 'noise-only']);
    assert.match(r.stdout, /background noise off/);
    // Without the background the clean baseline raises nothing (with it, see "quiet family" below).
    assert.match(r.stdout, /\| noise-only +\| quiet +\| 1 +\| 0\.00 +\| 1\/1 /);
  });

  it('refuses a bad --seeds', async () => {
    await assert.rejects(
      run(process.execPath, [BIN, 'eval', '--seeds', '0']),
      (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2);
        assert.match(e.stderr, /--seeds <n>' argument '0' is invalid\. expected an integer >= 1, not "0"/);
        return true;
      },
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

  it('shows every incident, never filtered by the answer key', async () => {
    // dependency-failure expects inventory and tolerates its callers' incidents: all of them are shown.
    const name = 'dependency-failure';
    const { config } = scenarioConfig(undefined);
    const o = await runScenario(getScenario(name), {
      config,
      chain: new TriageChain({ config: config.agents }),
      resolver: snapshotResolver,
    });
    const primary = getScenario(name).truth.incidents.filter((i) => i.role === 'primary').length;
    assert.ok(o.latest.length > primary, 'the scenario raises more than its primary incidents');
    const r = await run(process.execPath, [BIN, 'demo', '--scenario', name]);
    assert.equal((r.stdout.match(/^━━ /gm) ?? []).length, o.latest.length);
    for (const d of o.latest)
      assert.match(
        r.stdout,
        new RegExp(`━━ \\S+ · ${d.scope.workload.kind} ${d.scope.namespace}/${d.scope.workload.name} `),
      );
    assert.match(
      r.stdout,
      new RegExp(
        `${o.latest.length} incident\\(s\\), all shown \\(the scenario expects ${getScenario(name).truth.incidents.length}\\)`,
      ),
    );
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

/**
 * Today's scores (rules engine, background noise on, seeds 1..3): a rule change that lowers any of them
 * fails here. Raise them when the rules get better. Each is a ratio over the runs (recall: found /
 * expected; precision: found / (found + false-positive incidents); the fields: right / expected), so a
 * scenario whose truth gains or loses an incident keeps its floors meaningful. Quiet scenarios hold a
 * ceiling on the incidents they raise over the three runs instead (every one is a false positive): 0
 * since the noise floors count failed requests, not spans.
 */
const FLOOR_SEEDS = [1, 2, 3];
const RATIO_FIELDS = ['recall', 'precision', 'grouping', 'severity', 'team', 'topCause', 'proposal'] as const;
type Floor = Record<(typeof RATIO_FIELDS)[number], number> | { maxIncidents: number };
const FLOORS: Record<string, Floor> = {
  'oom-rollout': { recall: 1, precision: 1, grouping: 1, severity: 0.33, team: 1, topCause: 1, proposal: 1 },
  'bad-image': { recall: 1, precision: 1, grouping: 1, severity: 0.66, team: 1, topCause: 1, proposal: 1 },
  'missing-config': { recall: 1, precision: 1, grouping: 1, severity: 1, team: 1, topCause: 1, proposal: 1 },
  'probe-latency': { recall: 1, precision: 1, grouping: 1, severity: 1, team: 1, topCause: 1, proposal: 1 },
  'dependency-failure': {
    recall: 1,
    precision: 1,
    grouping: 1,
    severity: 1,
    team: 1,
    topCause: 1,
    proposal: 1,
  },
  'node-pressure': { recall: 1, precision: 1, grouping: 1, severity: 0, team: 0, topCause: 1, proposal: 1 },
  unschedulable: { recall: 1, precision: 1, grouping: 1, severity: 0, team: 1, topCause: 1, proposal: 1 },
  capacity: { recall: 1, precision: 1, grouping: 1, severity: 1, team: 1, topCause: 1, proposal: 1 },
  canary: { recall: 1, precision: 1, grouping: 1, severity: 1, team: 1, topCause: 1, proposal: 1 },
  saturation: { recall: 1, precision: 1, grouping: 1, severity: 1, team: 1, topCause: 1, proposal: 1 },
  cascade: { recall: 1, precision: 1, grouping: 1, severity: 1, team: 1, topCause: 1, proposal: 1 },
  'cascade-rollout': {
    recall: 1,
    precision: 1,
    grouping: 1,
    severity: 1,
    team: 1,
    topCause: 0.88,
    proposal: 1,
  },
  'cascade-bad-caller': {
    recall: 1,
    precision: 1,
    grouping: 1,
    severity: 1,
    team: 1,
    topCause: 1,
    proposal: 1,
  },
  'oom-status-only': {
    recall: 1,
    precision: 1,
    grouping: 1,
    severity: 0.66,
    team: 1,
    topCause: 1,
    proposal: 1,
  },
  'noise-only': { maxIncidents: 0 },
  'quiet-small': { maxIncidents: 0 },
  'quiet-medium': { maxIncidents: 0 },
  'quiet-large': { maxIncidents: 0 },
};

/** Scenario × seed through the pipeline and the rules, as `kubetriage eval` runs them. */
async function evalRuns(names: string[], seeds: number[], chain?: (c: Config) => TriageChain) {
  const { config } = scenarioConfig(undefined);
  const scores = [];
  for (const seed of seeds) {
    for (const name of names) {
      const s = getScenario(name);
      const o = await runScenario(s, {
        config,
        chain: chain?.(config) ?? new TriageChain({ config: config.agents }),
        resolver: snapshotResolver,
        seed,
        noise: true,
      });
      scores.push({ seed, family: s.family, ...scoreScenario(s.name, s.truth, o.latest, o.reports) });
    }
  }
  return summarise(scores);
}

describe('eval floors', () => {
  it('no field of any scenario scores below today (seeds 1..3, background noise on)', async () => {
    const names = Object.keys(FLOORS).filter((n) => scenarioNames().includes(n));
    assert.equal(names.length, Object.keys(FLOORS).length, 'every floored scenario exists');
    const sum = await evalRuns(names, FLOOR_SEEDS);
    const below: string[] = [];
    for (const name of names) {
      const floor = FLOORS[name]!;
      const a = sum.scenarios[name]!;
      if ('maxIncidents' in floor) {
        if (a.raised > floor.maxIncidents)
          below.push(`${name}: ${a.raised} incidents > ${floor.maxIncidents}`);
        continue;
      }
      for (const f of RATIO_FIELDS) {
        const c = a[f];
        // Nothing to judge (no expected incident found, no false positive) scores as full marks.
        const r = c.of ? c.ok / c.of : 1;
        if (r + 1e-9 < floor[f]) below.push(`${name} ${f}: ${c.ok}/${c.of} < ${floor[f]}`);
      }
    }
    assert.deepEqual(below, []);
  });
});

describe('proposal score', () => {
  it('counts "expected a proposal, got none" and "expected none, got one" as misses', async () => {
    const required = listScenarios().filter((s) => s.truth.incidents.some((i) => i.proposal?.required));
    assert.ok(required.length >= 2, `scenarios that require a proposal: ${required.map((s) => s.name)}`);
    for (const name of ['canary', 'saturation', 'oom-rollout']) {
      const s = getScenario(name);
      const o = await rulesRun(s);
      const right = scoreScenario(name, s.truth, o.latest, o.reports);
      assert.equal(right.incidents[0]?.proposalOk, true, `${name}: today's proposal is right`);
      const flipped = new Map(
        [...o.reports].map(([id, r]) => [
          id,
          {
            ...r,
            proposal: r.proposal
              ? null
              : {
                  id: 'prop-test',
                  action: 'scale' as const,
                  target: { namespace: 'shop', kind: 'Deployment' as const, name: 'checkout' },
                  fromReplicas: 3,
                  toReplicas: 4,
                  reason: 'test',
                  rollback: { toReplicas: 3 },
                  expiresAt: '2026-11-28T10:00:00Z',
                },
          },
        ]),
      ) as typeof o.reports;
      const wrong = scoreScenario(name, s.truth, o.latest, flipped);
      assert.equal(wrong.incidents[0]?.proposalOk, false, `${name}: the flipped proposal is a miss`);
    }
  });

  it('an executor that never proposes fails the proposal score', async () => {
    const never = (c: Config) =>
      new TriageChain({
        config: {
          ...c.agents,
          policy: { ...c.agents.policy, capacityScaleUp: false, canaryScaleDown: false },
        },
      });
    const names = ['canary', 'saturation'];
    const sum = await evalRuns(names, [1], never);
    assert.equal(sum.total.proposal.ok, 0, JSON.stringify(sum.total.proposal));
    assert.equal(sum.total.proposal.of, 2);
  });
});

describe('quiet family', () => {
  it('raises no incident on any quiet cluster over several seeds', {}, async () => {
    const quiet = listScenarios().filter((s) => s.name.startsWith('quiet-'));
    assert.ok(quiet.length >= 3);
    assert.ok(quiet.every((s) => s.family === 'quiet' && s.noise));
    const raised: string[] = [];
    for (const seed of [1, 2, 3, 4]) {
      for (const s of quiet) {
        const o = await runScenario(s, {
          config: scenarioConfig(undefined).config,
          chain: new TriageChain({ config: scenarioConfig(undefined).config.agents }),
          resolver: snapshotResolver,
          seed,
        });
        for (const d of o.latest)
          raised.push(
            `${s.name}@${seed}: ${d.scope.namespace}/${d.scope.workload.kind}/${d.scope.workload.name}`,
          );
      }
    }
    assert.deepEqual(raised, []);
  });
});
