// Cross-incident correlation through the whole path: the cascade scenarios' records → replay pipeline
// (snapshot enrichment, as eval runs it) → contexts with `related` links → rules triage. A backend that
// crash-loops is blamed; its callers are victims (dependency_failure naming it), a caller's harmless
// rollout is a red herring, and a caller that was failing before the backend keeps its own rollout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TriageChain, type TriageReport } from '../../src/agents/index.ts';
import { snapshotResolver } from '../../src/cli/snapshot-resolver.ts';
import { type ConfigInput, validateConfig } from '../../src/core/config.ts';
import { runScenario, type ScenarioOutcome } from '../../src/eval/scenario-run.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { assertValidReport } from '../agents/report-schema.ts';
import { assertValidContext } from '../helpers/schema.ts';

const runs = new Map<string, Promise<ScenarioOutcome>>();

function outcome(name: string, o: { enrich?: boolean; config?: ConfigInput } = {}): Promise<ScenarioOutcome> {
  const key = `${name}|${o.enrich !== false}|${JSON.stringify(o.config ?? {})}`;
  let p = runs.get(key);
  if (!p) {
    const config = validateConfig({ agents: { productionNamespaces: ['shop'] }, ...o.config });
    p = runScenario(getScenario(name), {
      config,
      chain: new TriageChain({ config: config.agents }),
      resolver: o.enrich === false ? () => new NamePatternResolver() : snapshotResolver,
    });
    runs.set(key, p);
  }
  return p;
}

function incident(o: ScenarioOutcome, workload: string): { doc: IncidentContextDoc; report: TriageReport } {
  const doc = o.latest.find((d) => d.scope.workload.name === workload);
  assert.ok(
    doc,
    `an incident for ${workload}; raised: ${o.latest.map((d) => d.scope.workload.name).join(', ')}`,
  );
  const report = o.reports.get(doc.id);
  assert.ok(report);
  return { doc, report };
}

function link(doc: IncidentContextDoc, relation: 'upstream' | 'impact', to: IncidentContextDoc) {
  return (doc.related ?? []).find((r) => r.relation === relation && r.incident === to.id);
}

/** The caller's top hypothesis is dependency_failure naming the peer, citing the link's evidence. */
function assertVictimOf(caller: { doc: IncidentContextDoc; report: TriageReport }, peer: IncidentContextDoc) {
  const name = caller.doc.scope.workload.name;
  const up = link(caller.doc, 'upstream', peer);
  assert.ok(
    up,
    `${name} links ${peer.scope.workload.name}'s incident as upstream: ${JSON.stringify(caller.doc.related)}`,
  );
  assert.deepEqual(up.workload, peer.scope.workload);
  assert.equal(up.namespace, peer.scope.namespace);
  assert.equal(up.since, peer.timings.firstSignal);
  for (const id of up.evidence) {
    const e = caller.doc.evidence.find((x) => x.id === id);
    assert.ok(e, `${id} is evidence of ${name}`);
    assert.equal(e.kind, 'span_errors');
    assert.match(e.summary, /^failed client spans/);
  }
  const top = caller.report.hypotheses[0];
  assert.equal(
    top?.cause,
    'dependency_failure',
    `${name}: ${JSON.stringify(caller.report.hypotheses.map((h) => h.cause))}`,
  );
  assert.match(top.explanation, new RegExp(`Calls to ${peer.scope.workload.name} .*${peer.id}`));
  for (const id of up.evidence) assert.ok(top.evidence.includes(id), `top hypothesis cites ${id}`);
  const impact = link(peer, 'impact', caller.doc);
  assert.ok(impact, `${peer.scope.workload.name} lists ${name} as impact`);
  assert.deepEqual(impact.evidence, up.evidence);
}

describe('cascade: backend crash-loops, its callers fail calling it', () => {
  for (const name of ['cascade', 'cascade-rollout']) {
    it(`${name}: the backend has its own cause; each caller is dependency_failure linked to its peer`, async () => {
      const o = await outcome(name);
      for (const d of o.contexts) assertValidContext(d);
      for (const d of o.latest) assertValidReport(o.reports.get(d.id), d);
      const inventory = incident(o, 'inventory');
      const checkout = incident(o, 'checkout');
      const frontend = incident(o, 'frontend');
      assert.equal(inventory.report.hypotheses[0]?.cause, 'crash_loop');
      assert.match(inventory.report.impact.summary, /callers failing with it: checkout(;|$)/);
      assert.match(checkout.report.impact.summary, /callers failing with it: frontend(;|$)/);
      assert.equal(
        (inventory.doc.related ?? []).filter((r) => r.relation === 'upstream').length,
        0,
        'the backend has no upstream',
      );
      assertVictimOf(checkout, inventory.doc);
      assertVictimOf(frontend, checkout.doc);
      assert.equal(
        link(frontend.doc, 'upstream', inventory.doc),
        undefined,
        'links are between direct peers',
      );
      for (const c of [checkout, frontend]) assert.equal(c.report.proposal, null);
    });
  }

  it("cascade-rollout: checkout's harmless rollout minutes before is a red herring, not the top cause", async () => {
    const { doc, report } = incident(await outcome('cascade-rollout'), 'checkout');
    const rollout = doc.rollouts[0];
    assert.ok(
      rollout?.at && Date.parse(rollout.at) > Date.parse(doc.window.start) - 10 * 60_000,
      'a recent rollout',
    );
    assert.notEqual(report.hypotheses[0]?.cause, 'bad_rollout');
    const herring = report.redHerrings.find((r) => r.explanation.includes(rollout.replicaSet));
    assert.ok(herring, JSON.stringify(report.redHerrings));
    assert.match(
      herring.explanation,
      /calls to inventory .*its own incident; checkout's own errors did not begin before that/,
    );
  });

  it('regression: without correlation the harmless rollout was blamed (bad_rollout on top)', async () => {
    const { doc, report } = incident(
      await outcome('cascade-rollout', { config: { correlation: { enabled: false } } }),
      'checkout',
    );
    assert.deepEqual(doc.related, []);
    assert.equal(report.hypotheses[0]?.cause, 'bad_rollout');
  });

  it('cascade-bad-caller: a caller failing before its peer, right after its own rollout, keeps bad_rollout', async () => {
    const o = await outcome('cascade-bad-caller');
    const checkout = incident(o, 'checkout');
    const inventory = incident(o, 'inventory');
    const up = link(checkout.doc, 'upstream', inventory.doc);
    assert.ok(up, 'the link is still made: its later calls to inventory fail too');
    assert.ok(
      Date.parse(checkout.doc.timings.firstSignal) < Date.parse(up.since) - 2 * 60_000,
      'failing first',
    );
    const causes = checkout.report.hypotheses.map((h) => h.cause);
    assert.equal(causes[0], 'bad_rollout', JSON.stringify(causes));
    assert.ok(causes.includes('dependency_failure'), 'the dependency is still a (lower) hypothesis');
    assert.equal(inventory.report.hypotheses[0]?.cause, 'crash_loop');
    assertVictimOf(incident(o, 'frontend'), checkout.doc);
  });

  it("a peer incident opening later gives the caller's incident a new revision carrying the link", async () => {
    const o = await outcome('cascade-bad-caller');
    const inventory = incident(o, 'inventory').doc;
    const mine = o.contexts.filter((d) => d.scope.workload.name === 'checkout');
    const firstLinked = mine.findIndex((d) => link(d, 'upstream', inventory));
    assert.ok(firstLinked > 0, 'checkout had contexts before inventory failed');
    const before = mine[firstLinked - 1]!;
    const after = mine[firstLinked]!;
    assert.equal(link(before, 'upstream', inventory), undefined);
    assert.equal(after.revision, before.revision + 1, 'the link is a material change');
    assert.ok(Date.parse(after.timings.updated) >= Date.parse(inventory.timings.firstContext));
  });

  it('links without enrichment too (the Service DNS name / peer.service is the Deployment name)', async () => {
    const o = await outcome('cascade-rollout', { enrich: false });
    const inventory = incident(o, 'inventory');
    const checkout = incident(o, 'checkout');
    assertVictimOf(checkout, inventory.doc);
    assertVictimOf(incident(o, 'frontend'), checkout.doc);
  });

  it('is deterministic: the same records give byte-identical contexts and reports', async () => {
    const config = validateConfig({ agents: { productionNamespaces: ['shop'] } });
    const again = await runScenario(getScenario('cascade-rollout'), {
      config,
      chain: new TriageChain({ config: config.agents }),
      resolver: snapshotResolver,
    });
    const first = await outcome('cascade-rollout');
    assert.equal(JSON.stringify(again.contexts), JSON.stringify(first.contexts));
    assert.equal(JSON.stringify([...again.reports.values()]), JSON.stringify([...first.reports.values()]));
  });
});
