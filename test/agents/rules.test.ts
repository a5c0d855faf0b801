import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TriageChain } from '../../src/agents/chain.ts';
import { type ConfigInput, validateConfig } from '../../src/core/config.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { assertValidContext } from '../helpers/schema.ts';
import {
  canaryCrashLoop,
  dependencyFailure,
  latencySpike,
  outage,
  rolloutAfterFailures,
  rolloutOldPodsOnly,
  singleEvent,
} from './contexts.ts';
import { assertValidReport } from './report-schema.ts';

const EXAMPLE = new URL('../../examples/checkout-rollout.ndjson', import.meta.url).pathname;

function chain(agents: ConfigInput['agents'] = {}) {
  return new TriageChain({ config: validateConfig({ agents }).agents });
}

function rules(doc: IncidentContextDoc, agents: ConfigInput['agents'] = {}) {
  const r = chain(agents).rules(doc);
  assertValidReport(r, doc);
  return r;
}

async function exampleContexts(): Promise<IncidentContextDoc[]> {
  const docs: IncidentContextDoc[] = [];
  await replay({
    input: EXAMPLE,
    config: validateConfig({}),
    resolver: new NamePatternResolver(),
    onContext: (d) => docs.push(d),
  });
  return docs;
}

describe('agents, rules engine: every context gets a report', () => {
  it('judges every context revision of the bundled checkout rollout, byte-identically on a second run', async () => {
    const docs = await exampleContexts();
    assert.ok(docs.length >= 5);
    const a = chain();
    const b = chain();
    for (const doc of docs) {
      assertValidContext(doc);
      const r = await a.triage(doc);
      assertValidReport(r, doc);
      assert.equal(r.engine, 'rules');
      assert.equal(JSON.stringify(await b.triage(structuredClone(doc))), JSON.stringify(r));
    }
  });

  it('names the bad rollout as the cause when the new ReplicaSet’s pods fail after it, and drafts no scale', async () => {
    const docs = await exampleContexts();
    const last = docs.at(-1)!;
    const r = rules(last);
    const [top, second] = r.hypotheses;
    assert.equal(top?.cause, 'bad_rollout');
    assert.match(top!.explanation, /checkout-6b7c8d9f4/);
    const rolloutEv = last.evidence.find((e) => e.kind === 'rollout')!;
    assert.ok(top!.evidence.includes(rolloutEv.id), 'cites the rollout');
    // The latency anomaly is on a pod of the old ReplicaSet: not evidence of the bad rollout.
    const oldPod = last.evidence.find((e) =>
      (e.refs.pods as string[] | undefined)?.[0]?.startsWith('checkout-5f4d8b7c9'),
    );
    assert.ok(oldPod && !top!.evidence.includes(oldPod.id));
    assert.equal(second?.cause, 'oom', 'the mechanism comes next');
    assert.equal(r.proposal, null);
    assert.match(r.noProposalReason!, /kubectl rollout undo deployment\/checkout -n shop/);
    assert.equal(r.team, 'unassigned');
    assert.equal(r.teamSource, 'default');
  });
});

describe('agents, rules engine: diagnosis', () => {
  it('clears a rollout that came after the failures began (red herring)', () => {
    const doc = rolloutAfterFailures();
    const r = rules(doc);
    assert.ok(!r.hypotheses.some((h) => h.cause === 'bad_rollout'));
    assert.equal(r.hypotheses[0]?.cause, 'crash_loop');
    assert.equal(r.redHerrings.length, 1);
    assert.match(r.redHerrings[0]!.explanation, /red herring: failures were already under way 2m before it/);
    assert.match(r.hypotheses[0]!.explanation, /red herring/, 'said where the reader looks first');
  });

  it('clears a rollout when only pods of the previous ReplicaSet fail', () => {
    const r = rules(rolloutOldPodsOnly());
    assert.ok(!r.hypotheses.some((h) => h.cause === 'bad_rollout'));
    assert.equal(r.hypotheses[0]?.cause, 'probe_failure');
    assert.match(r.redHerrings[0]!.explanation, /pods of other ReplicaSets \(api-5f4d8b7c9-x2zzz\)/);
  });

  it('blames the peer when client spans to it fail', () => {
    const r = rules(dependencyFailure());
    assert.equal(r.hypotheses[0]?.cause, 'dependency_failure');
    assert.match(r.hypotheses[0]!.explanation, /payments is the likely cause/);
    assert.deepEqual(r.impact.peers, ['payments']);
    assert.equal(r.proposal, null);
    assert.match(r.noProposalReason!, /dependency/);
  });

  for (const [reason, message, cause] of [
    [
      'Failed',
      'Failed to pull image "registry/x:1": rpc error: code = NotFound desc = manifest unknown',
      'image_pull',
    ],
    ['Failed', 'Error: configmap "app-config" not found', 'config_error'],
    ['FailedScheduling', '0/3 nodes are available: 3 Insufficient cpu.', 'scheduling'],
    ['Evicted', 'The node was low on resource: memory.', 'node_pressure'],
  ] as const) {
    it(`reads ${cause} from "${reason}: ${message.slice(0, 30)}…"`, () => {
      const r = rules(singleEvent(reason, message));
      assert.equal(r.hypotheses[0]?.cause, cause);
      assert.ok(r.hypotheses[0]!.evidence.length > 0);
      assert.equal(r.proposal, null, 'no scale fixes it');
    });
  }

  it('says unknown, citing the evidence, when nothing matches', () => {
    const r = rules(singleEvent('SomethingOdd', 'the flux capacitor is misaligned'));
    assert.equal(r.hypotheses.length, 1);
    assert.equal(r.hypotheses[0]?.cause, 'unknown');
    assert.ok(r.hypotheses[0]!.evidence.length >= 1);
  });
});

describe('agents, rules engine: triage', () => {
  it('SEV1 for a user-facing production Deployment with every replica down; SEV3 for the same outside production', () => {
    const prod = rules(outage('production'));
    assert.equal(prod.severity, 'SEV1');
    assert.equal(prod.impact.allReplicasDown, true);
    assert.equal(prod.impact.userFacing, true);
    assert.equal(prod.impact.production, true);
    assert.equal(rules(outage('staging')).severity, 'SEV3');
    assert.equal(rules(outage('payments'), { productionNamespaces: ['pay*'] }).severity, 'SEV1');
  });

  it('takes the team from the context, else the configured default, and says which', () => {
    const doc = outage('production');
    const r = rules(doc, { defaultTeam: 'sre-oncall' });
    assert.equal(r.team, 'sre-oncall');
    assert.equal(r.teamSource, 'default');
    assert.match(r.impact.summary, /owner unknown, routed to default team "sre-oncall"/);
    const owned = structuredClone(doc);
    owned.scope.team = 'storefront';
    owned.scope.teamSource = 'label:team';
    const o = rules(owned);
    assert.equal(o.team, 'storefront');
    assert.equal(o.teamSource, 'label:team');
  });
});

describe('agents, rules engine: executor policy', () => {
  it('scales a failing canary down to the floor, reversibly, expiring a TTL after the context', () => {
    const doc = canaryCrashLoop();
    const r = rules(doc);
    assert.equal(r.hypotheses[0]?.cause, 'bad_rollout');
    const p = r.proposal!;
    assert.deepEqual(p.target, { namespace: 'shop', kind: 'Deployment', name: 'checkout-canary' });
    assert.equal(p.fromReplicas, 10);
    assert.equal(p.toReplicas, 2);
    assert.deepEqual(p.rollback, { toReplicas: 10 });
    assert.equal(p.expiresAt, new Date(Date.parse(doc.timings.updated) + 15 * 60_000).toISOString());
    assert.match(p.id, /^prop-[0-9a-f]{16}$/);
    assert.equal(rules(structuredClone(doc)).proposal?.id, p.id, 'deterministic id');
    assert.equal(r.noProposalReason, null);
  });

  it('never steps further than maxStep, nor below minReplicas', () => {
    const big = rules(canaryCrashLoop({ desired: 30 }), { policy: { maxStep: 10 } }).proposal!;
    assert.equal(big.toReplicas, 20);
    const floor = rules(canaryCrashLoop(), { policy: { canaryFloor: 0, minReplicas: 3 } }).proposal!;
    assert.equal(floor.toReplicas, 3);
  });

  it('drafts nothing in a namespace outside the allow-list, for a forbidden workload, or at the floor', () => {
    const doc = canaryCrashLoop();
    const ns = rules(doc, { policy: { allowedNamespaces: ['prod-*'] } });
    assert.equal(ns.proposal, null);
    assert.match(ns.noProposalReason!, /namespace shop is not in agents.policy.allowedNamespaces/);
    const forbidden = rules(doc, { policy: { forbiddenWorkloads: ['shop/checkout-*'] } });
    assert.equal(forbidden.proposal, null);
    assert.match(forbidden.noProposalReason!, /forbiddenWorkloads/);
    const atFloor = rules(canaryCrashLoop({ desired: 2 }));
    assert.equal(atFloor.proposal, null);
    assert.match(atFloor.noProposalReason!, /at or below the floor/);
  });

  it('drafts nothing when the replica count is unknown', () => {
    const doc = canaryCrashLoop();
    doc.workloadState = null;
    const r = rules(doc);
    assert.equal(r.proposal, null);
    assert.match(r.noProposalReason!, /replica count unknown/);
  });

  it('adds replicas under saturation without an HPA; leaves an HPA at its maximum alone', () => {
    const up = rules(latencySpike({ hpa: false }));
    assert.equal(up.hypotheses[0]?.cause, 'capacity');
    assert.equal(up.proposal?.fromReplicas, 4);
    assert.equal(up.proposal?.toReplicas, 6);
    assert.deepEqual(up.proposal?.rollback, { toReplicas: 4 });
    assert.equal(rules(latencySpike({ hpa: false }), { policy: { maxReplicas: 5 } }).proposal?.toReplicas, 5);

    const hpa = rules(latencySpike({ hpa: true }));
    assert.equal(hpa.hypotheses[0]?.cause, 'capacity');
    assert.match(hpa.hypotheses[0]!.explanation, /HPA is at its maximum \(10 of max 10\)/);
    assert.equal(hpa.proposal, null);
    assert.match(hpa.noProposalReason!, /HPA manages the replicas/);
  });

  it('saturation outranks a peer without an incident whose failed calls explain few of the failures', () => {
    // 30 failed requests served under saturation, 2 of them calls to catalog (which has no incident).
    const failing = { served: 10, calls: 2 };
    const up = rules(latencySpike({ hpa: false, failing }));
    assert.deepEqual(
      up.hypotheses.map((h) => h.cause),
      ['capacity', 'dependency_failure'],
    );
    assert.match(up.hypotheses[1]!.explanation, /explain few of the 30 failed server spans/);
    assert.equal(up.proposal?.toReplicas, 6);
    const hpa = rules(latencySpike({ hpa: true, failing }));
    assert.equal(hpa.hypotheses[0]?.cause, 'capacity');
    // When the failed calls explain the failures, the peer stays the likely cause.
    const dep = rules(latencySpike({ hpa: true, failing: { served: 4, calls: 12 } }));
    assert.equal(dep.hypotheses[0]?.cause, 'dependency_failure');
  });

  it('with the HPA at its maximum, failed server spans that opened the incident are saturation evidence', () => {
    // No latency or error-rate finding (its bucket never closed, or too little history): only the 5xx.
    const d = latencySpike({ hpa: true, slow: false, failing: { served: 10, calls: 0 } });
    const only5xx = { ...d, evidence: d.evidence.filter((e) => e.kind !== 'metric_anomaly') };
    const spans = only5xx.evidence.find((e) => e.kind === 'span_errors')!;
    const r = rules(only5xx);
    assert.equal(r.hypotheses[0]?.cause, 'capacity');
    assert.deepEqual(r.hypotheses[0]?.evidence, [spans.id]);
    // Beside the workload's own crashes the 5xx are theirs, not load's.
    const crash = {
      ...spans,
      id: 'ev-c7a5c7a5c7a5',
      key: 'event|crash',
      kind: 'k8s_event' as const,
      summary: 'Back-off restarting failed container app in pod search-7d9f8c6b5-x2kqz',
    };
    const own = rules({ ...only5xx, evidence: [...only5xx.evidence, crash] });
    assert.equal(own.hypotheses[0]?.cause, 'crash_loop');
    assert.ok(!own.hypotheses.some((h) => h.cause === 'capacity'));
  });

  it('drafts nothing for a resolved incident', () => {
    const doc = canaryCrashLoop();
    doc.status = 'resolved';
    const r = rules(doc);
    assert.equal(r.proposal, null);
    assert.match(r.noProposalReason!, /resolved/);
  });
});
