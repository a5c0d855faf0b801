// Production without configuration: the triage report says whether the incident is in production and
// why (productionSource), from config as the user set it, the namespace's environment label, the
// telemetry's deployment.environment.name, the cluster name, then the default namespace patterns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TriageChain } from '../../src/agents/index.ts';
import { ProductionRules } from '../../src/agents/production.ts';
import type { TriageReport } from '../../src/agents/report.ts';
import { type ConfigInput, validateConfig } from '../../src/core/config.ts';
import { createEnrichment, loadObjects } from '../../src/enrich/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { namespaceObject } from '../enrich/cluster-fixture.ts';
import { gauge, metricsRecord } from '../helpers/otlp.ts';
import { assertValidContext } from '../helpers/schema.ts';
import { assertValidReport } from './report-schema.ts';

const T0 = Date.parse('2026-11-28T10:30:00Z');
const POD = 'checkout-7d9f8c6b5-x2x7b';

/**
 * A crash-looping checkout as k8s_cluster reports it with the Collector's usual attributes: restarts
 * climbing (last terminated: Error) and 1 of 3 replicas available.
 */
function crashLoop(resource: Record<string, string>): CapturedRecord[] {
  const out: CapturedRecord[] = [];
  for (let step = 0; step < 8; step++) {
    const at = T0 + step * 60_000;
    out.push({
      topic: 'otlp_metrics',
      partition: 0,
      offset: step,
      timestamp: at,
      key: null,
      headers: {},
      value: metricsRecord([
        {
          attrs: {
            ...resource,
            'k8s.namespace.name': 'shop',
            'k8s.pod.name': POD,
            'k8s.container.name': 'app',
            'k8s.deployment.name': 'checkout',
            ...(step > 0 ? { 'k8s.container.status.last_terminated_reason': 'Error' } : {}),
          },
          metrics: [gauge('k8s.container.restarts', step, at)],
        },
        {
          attrs: { ...resource, 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout' },
          metrics: [gauge('k8s.deployment.desired', 3, at), gauge('k8s.deployment.available', 1, at)],
        },
      ]),
    });
  }
  return out;
}

async function triaged(
  records: CapturedRecord[],
  o: { config?: ConfigInput; namespaceLabels?: Record<string, string> } = {},
): Promise<{ doc: IncidentContextDoc; report: TriageReport }> {
  const config = validateConfig(o.config ?? {});
  const e = createEnrichment(config.enrich);
  if (o.namespaceLabels) loadObjects([namespaceObject('shop', o.namespaceLabels)], e.store, e.projector);
  let doc: IncidentContextDoc | undefined;
  await replay({
    input: records,
    config,
    resolver: e.resolver,
    onContext: (d) => {
      assertValidContext(d);
      if (d.scope.workload.name === 'checkout') doc = d;
    },
  });
  assert.ok(doc, 'a checkout incident');
  const report = await new TriageChain({ config: config.agents }).triage(doc);
  assertValidReport(report, doc);
  return { doc, report };
}

describe('triage: production without configuration', () => {
  it('a crash-looping service in a cluster named prod-eu-1 gets production severity, and says why', async () => {
    const { report } = await triaged(crashLoop({ 'k8s.cluster.name': 'prod-eu-1' }));
    assert.equal(report.impact.production, true);
    assert.equal(report.productionSource, 'cluster:prod-eu-1');
    assert.equal(report.hypotheses[0]?.cause, 'crash_loop');
    assert.ok(['SEV1', 'SEV2'].includes(report.severity), report.severity);
    assert.match(report.impact.summary, /production \(cluster:prod-eu-1\)/);

    // The same incident in a cluster whose name says nothing, or says staging: not production.
    const plain = await triaged(crashLoop({ 'k8s.cluster.name': 'eu-1' }));
    assert.deepEqual([plain.report.impact.production, plain.report.productionSource], [false, 'none']);
    assert.equal(plain.report.severity, 'SEV3');
    const staging = await triaged(crashLoop({ 'k8s.cluster.name': 'staging-eu-1' }));
    assert.deepEqual(
      [staging.report.impact.production, staging.report.productionSource],
      [false, 'cluster:staging-eu-1'],
    );
  });

  it("the namespace's environment label (enrichment) says production; a staging label is never upgraded by the cluster name", async () => {
    const labelled = await triaged(crashLoop({ 'k8s.cluster.name': 'eu-1' }), {
      namespaceLabels: { environment: 'production' },
    });
    assert.equal(labelled.doc.scope.environment, 'production');
    assert.equal(labelled.doc.scope.environmentSource, 'label:environment on Namespace/shop');
    assert.equal(labelled.report.impact.production, true);
    assert.equal(labelled.report.productionSource, 'label:environment=production on Namespace/shop');

    const staging = await triaged(crashLoop({ 'k8s.cluster.name': 'prod-eu-1' }), {
      namespaceLabels: { env: 'staging' },
    });
    assert.equal(staging.report.impact.production, false);
    assert.equal(staging.report.productionSource, 'label:env=staging on Namespace/shop');
    assert.equal(staging.report.severity, 'SEV3');
  });

  it('the resource attribute deployment.environment.name says production', async () => {
    const { doc, report } = await triaged(
      crashLoop({ 'k8s.cluster.name': 'eu-1', 'deployment.environment.name': 'prod' }),
    );
    assert.equal(doc.scope.environment, 'prod');
    assert.equal(doc.scope.environmentSource, 'resource:deployment.environment.name');
    assert.equal(report.impact.production, true);
    assert.equal(report.productionSource, 'resource:deployment.environment.name=prod');
    // The namespace's label outranks the telemetry's attribute.
    const both = await triaged(
      crashLoop({ 'k8s.cluster.name': 'eu-1', 'deployment.environment': 'production' }),
      { namespaceLabels: { environment: 'dev' } },
    );
    assert.equal(both.report.productionSource, 'label:environment=dev on Namespace/shop');
    assert.equal(both.report.impact.production, false);
  });

  it('config as the user set it comes first; the default namespace patterns come last', () => {
    const scope = (namespace: string, extra: Partial<IncidentContextDoc['scope']> = {}) => ({
      cluster: 'eu-1',
      namespace,
      workload: { kind: 'Deployment', name: 'checkout' },
      team: null,
      teamSource: null,
      environment: null,
      environmentSource: null,
      ...extra,
    });
    const defaults = new ProductionRules(validateConfig({}).agents);
    assert.deepEqual(defaults.judge(scope('prod-payments')), {
      production: true,
      source: 'default:namespace pattern prod-*',
    });
    // A default pattern never overrides an explicit environment.
    assert.deepEqual(
      defaults.judge(
        scope('prod-payments', {
          environment: 'qa',
          environmentSource: 'label:env on Namespace/prod-payments',
        }),
      ),
      { production: false, source: 'label:env=qa on Namespace/prod-payments' },
    );
    assert.deepEqual(defaults.judge(scope('shop')), { production: false, source: 'none' });
    const configured = new ProductionRules(
      validateConfig({ agents: { productionNamespaces: ['shop'] } }).agents,
    );
    assert.deepEqual(
      configured.judge(
        scope('shop', { environment: 'staging', environmentSource: 'label:env on Namespace/shop' }),
      ),
      { production: true, source: 'config:agents.productionNamespaces' },
    );
    // The user's own list replaces the default patterns.
    assert.deepEqual(configured.judge(scope('prod-payments')), { production: false, source: 'none' });
    assert.deepEqual(configured.judge(scope('prod-payments', { cluster: 'eu-prod-2' })), {
      production: true,
      source: 'cluster:eu-prod-2',
    });
  });
});
