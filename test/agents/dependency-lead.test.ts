// The victim test of the diagnosis (facts.ts ownErrorsLead, agents.dependencyLead): a caller whose
// failed calls go to a peer with its own incident is dependency_failure and its recent rollout a red
// herring, unless its own errors began before the peer's and were still going when the peer failed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TriageChain } from '../../src/agents/index.ts';
import { validateConfig } from '../../src/core/config.ts';
import type { EvidenceDoc, IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { assertValidContext } from '../helpers/schema.ts';
import { assertValidReport } from './report-schema.ts';

const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);
const MIN = 60_000;
const at = (ms: number) => new Date(ms).toISOString();
const RS = 'orders-5f7c9d8b6';
const POD = `${RS}-x2kqz`;

function item(
  id: string,
  kind: string,
  from: number,
  to: number,
  count: number,
  summary: string,
): EvidenceDoc {
  return {
    id,
    key: `${kind}|${id}`,
    kind,
    at: at(from),
    lastAt: at(to),
    summary,
    count,
    refs: { pods: [POD] },
  };
}

const CALLS = item(
  'ev-000000000001',
  'span_errors',
  T0 + 8 * MIN,
  T0 + 15 * MIN,
  120,
  'failed client spans of orders "POST" → inventory (HTTP 500)',
);
const SERVER = item(
  'ev-000000000002',
  'span_errors',
  T0 + 8 * MIN,
  T0 + 15 * MIN,
  110,
  'failed server spans of orders "POST /api/orders" (HTTP 502)',
);

/** orders rolled out at T0+4m; inventory (its peer, with its own incident) began failing at T0+8m. */
function caller(extra: EvidenceDoc[]): IncidentContextDoc {
  const evidence = [
    item(
      'ev-00000000000f',
      'rollout',
      T0 + 4 * MIN,
      T0 + 4 * MIN,
      1,
      `rollout: revision 4 of Deployment/orders, ReplicaSet ${RS}`,
    ),
    ...extra,
    CALLS,
    SERVER,
  ];
  evidence[0]!.refs = { objects: [{ kind: 'ReplicaSet', name: RS, uid: '' }] };
  const doc: IncidentContextDoc = {
    schema: 'kubetriage.io/incident-context/v1',
    id: 'inc-00000000000000000001',
    revision: 3,
    status: 'open',
    scope: {
      cluster: 'c',
      namespace: 'shop',
      workload: { kind: 'Deployment', name: 'orders' },
      team: 'orders',
      teamSource: 'label',
      environment: null,
      environmentSource: null,
    },
    window: { start: at(T0), end: at(T0 + 15 * MIN) },
    evidence,
    rollouts: [
      {
        revision: 4,
        at: at(T0 + 4 * MIN),
        images: ['orders:2.1.1'],
        changeCause: null,
        replicaSet: RS,
        source: 'cluster',
      },
    ],
    related: [
      {
        incident: 'inc-00000000000000000002',
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'inventory' },
        relation: 'upstream',
        since: at(T0 + 8 * MIN),
        evidence: [CALLS.id],
      },
    ],
    persisting: null,
    workloadState: { desiredReplicas: 3, availableReplicas: 3, hpa: null, at: at(T0 + 15 * MIN) },
    stats: { signals: 300, deduplicated: 290, droppedEvidence: 0 },
    sources: [],
    timings: { firstSignal: at(T0), firstContext: at(T0 + MIN), updated: at(T0 + 15 * MIN), resolved: null },
  };
  assertValidContext(doc);
  return doc;
}

const chain = new TriageChain({ config: validateConfig({}).agents });

function causes(doc: IncidentContextDoc): string[] {
  const r = chain.rules(doc);
  assertValidReport(r, doc);
  return r.hypotheses.map((h) => h.cause);
}

describe('diagnosis: victim of a failing peer, or failing first', () => {
  it('only calls to the failing peer: dependency_failure, the rollout a red herring', () => {
    const r = chain.rules(caller([]));
    assert.equal(r.hypotheses[0]?.cause, 'dependency_failure');
    assert.match(r.hypotheses[0]!.explanation, /Calls to inventory .*inc-00000000000000000002/);
    assert.ok(r.redHerrings.some((h) => h.explanation.includes(RS)));
  });

  it('a readiness miss while its new pod started (then again with the peer down), or a stray error long over, does not make it the culprit', () => {
    const probe = item(
      'ev-000000000003',
      'k8s_event',
      T0 + 4 * MIN + 20_000,
      T0 + 15 * MIN,
      12,
      `Warning Unhealthy on Pod/${POD}: Readiness probe failed: connection refused`,
    );
    const stray = item(
      'ev-000000000004',
      'log',
      T0 + 5 * MIN,
      T0 + 5 * MIN,
      1,
      'orders: timeout reading from cache',
    );
    assert.equal(causes(caller([probe]))[0], 'dependency_failure');
    assert.equal(causes(caller([stray]))[0], 'dependency_failure');
  });

  it('own errors from right after its rollout, still going when the peer failed: bad_rollout stays on top', () => {
    const own = item(
      'ev-000000000005',
      'log',
      T0 + 4 * MIN + 30_000,
      T0 + 15 * MIN,
      80,
      'orders: java.lang.NullPointerException: summary is null',
    );
    const c = causes(caller([own]));
    assert.equal(c[0], 'bad_rollout', JSON.stringify(c));
    assert.ok(c.includes('dependency_failure'));
  });

  it('own errors that began within agents.dependencyLead of the peer do not count as first', () => {
    const near = item(
      'ev-000000000006',
      'log',
      T0 + 7 * MIN,
      T0 + 15 * MIN,
      80,
      'orders: upstream inventory slow',
    );
    assert.equal(causes(caller([near]))[0], 'dependency_failure');
    const strict = new TriageChain({ config: validateConfig({ agents: { dependencyLead: '30s' } }).agents });
    assert.equal(strict.rules(caller([near])).hypotheses[0]?.cause, 'bad_rollout');
  });
});
