// GitOps-aware execution on a REAL kube-apiserver. Deployments are written as each tool writes them:
// server-side apply with the tool's field manager (argocd-controller, kustomize-controller,
// helm-controller, helm) and the labels/annotations it sets. Slack is the FAKE incoming webhook
// (test/exec/slack-fake.ts, not Slack).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { TriageChain } from '../../src/agents/chain.ts';
import { validateConfig } from '../../src/core/config.ts';
import { type ExecConfigInput, execConfig } from '../../src/core/config-exec.ts';
import { Projector, type SlimWorkload } from '../../src/enrich/objects.ts';
import { ClusterResolver } from '../../src/enrich/resolver.ts';
import { ClusterStore } from '../../src/enrich/store.ts';
import { ApprovalService, type AuditEntry, AuditLedger, ExecKubeClient } from '../../src/exec/index.ts';
import { latencySpike } from '../agents/contexts.ts';
import { assertValidReport } from '../agents/report-schema.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { assertValidContext } from '../helpers/schema.ts';
import { reportWith } from './helpers.ts';
import { applyRbac, replicasOf, scalerToken, tolerateTextReadyz, uniqueNs } from './kube-world.ts';
import { type SlackFake, startSlackFake } from './slack-fake.ts';

// Never skips: throws (failing this file with the build command) when the part is missing.
requireKubeBinaries();

const APPROVER = { id: 'U0APPROVER', name: 'alice' };

interface Meta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('GitOps-aware execution on a real kube-apiserver', () => {
  let kube: KubeApiServer;
  let slack: SlackFake;
  const scaler = scalerToken();
  let dir: string;

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer({ tokens: [scaler] });
    await applyRbac(kube.client);
    slack = await startSlackFake();
    dir = mkdtempSync(join(tmpdir(), 'kubetriage-gitops-'));
  });
  after(async () => {
    await slack?.close();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A namespace and a Deployment applied server-side by `manager`, with the tool's metadata. */
  async function applyDeployment(
    ns: string,
    name: string,
    replicas: number,
    manager: string,
    meta: Meta = {},
  ) {
    await kube.client
      .create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })
      .catch((err: { status?: number }) => {
        if (err.status !== 409) throw err;
      });
    await kube.client.request(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/${name}?force=true`,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: ns, ...meta },
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0.0' }] },
          },
        },
      },
      { contentType: 'application/apply-patch+yaml', fieldManager: manager },
    );
  }

  async function world(cfg: ExecConfigInput = {}) {
    const file = join(dir, `audit-${Math.random().toString(36).slice(2)}.jsonl`);
    const service = new ApprovalService({
      config: execConfig({ mode: 'execute', approvers: [APPROVER.id], policy: { cooldown: '0s' }, ...cfg }),
      ledger: new AuditLedger({ file }),
      kube: new ExecKubeClient(kube.kubeConfig(scaler.token)),
      webhookUrl: slack.webhookUrl,
      delay: async () => {},
      forgedSummaryIntervalMs: 0,
    });
    await service.start();
    const entries = () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry);
    const approve = (proposalId: string) =>
      service.decide({
        proposalId,
        action: 'approve',
        via: 'slack',
        actor: { id: APPROVER.id, name: APPROVER.name },
      });
    return { service, entries, approve };
  }

  const argo = (app: string, ns: string, name: string): Meta => ({
    labels: { 'app.kubernetes.io/instance': app },
    annotations: { 'argocd.argoproj.io/tracking-id': `${app}:apps/Deployment:${ns}/${name}` },
  });
  const flux = (ks: string): Meta => ({
    labels: {
      'kustomize.toolkit.fluxcd.io/name': ks,
      'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
    },
  });

  test('a scale of an Argo CD-managed Deployment is refused with the reason (audited), nothing posted or scaled', async () => {
    const ns = uniqueNs('argo');
    await applyDeployment(ns, 'cart', 4, 'argocd-controller', argo('shop', ns, 'cart'));
    const w = await world();
    const posts = slack.messages.length;
    const r = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'cart', from: 4, to: 2 });
    await w.service.onReport(r);
    await w.service.idle();
    const refused = w.entries().find((e) => e.event === 'refused' && e.proposal === r.proposal.id);
    assert.ok(refused, 'the refusal is audited');
    assert.equal(refused.detail.stage, 'propose');
    assert.match(
      String(refused.detail.reason),
      /Argo CD would revert it; change the replicas in Git \(application shop\)/,
    );
    assert.match(String(refused.detail.reason), /argocd app set shop --self-heal=false/);
    assert.match(String(refused.detail.reason), /spec\.replicas owned by argocd-controller/);
    assert.deepEqual((refused.detail.gitops as { tool: string }).tool, 'argocd');
    assert.equal(slack.messages.length, posts, 'not offered for approval');
    assert.equal(w.service.state(r.proposal.id), 'failed');
    assert.equal((await w.approve(r.proposal.id)).code, 'duplicate', 'a click cannot run it later');
    assert.equal(await replicasOf(kube.client, ns, 'cart'), 4);
    await w.service.close();
  });

  test('a Flux-managed Deployment is refused with `flux suspend kustomization`', async () => {
    const ns = uniqueNs('flux');
    await applyDeployment(ns, 'api', 3, 'kustomize-controller', flux('apps'));
    const w = await world();
    const r = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'api', from: 3, to: 2 });
    await w.service.onReport(r);
    await w.service.idle();
    const refused = w.entries().find((e) => e.event === 'refused' && e.proposal === r.proposal.id);
    assert.match(
      String(refused?.detail.reason),
      /Flux would revert it; change the replicas in Git \(kustomization apps\)/,
    );
    assert.match(String(refused?.detail.reason), /flux suspend kustomization apps -n flux-system/);
    assert.equal(await replicasOf(kube.client, ns, 'api'), 3);
    await w.service.close();
  });

  test('a plain Deployment scales; a Helm one scales with a warning in the message', async () => {
    const ns = uniqueNs('plain');
    await applyDeployment(ns, 'web', 4, 'kubectl');
    await applyDeployment(ns, 'chart', 3, 'helm', {
      labels: { 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': 'chart' },
      annotations: { 'meta.helm.sh/release-name': 'chart', 'meta.helm.sh/release-namespace': ns },
    });
    const w = await world();
    const plain = reportWith({ incident: `inc-${ns}-a`, namespace: ns, name: 'web', from: 4, to: 2 });
    const helm = reportWith({ incident: `inc-${ns}-b`, namespace: ns, name: 'chart', from: 3, to: 2 });
    await w.service.onReport(plain);
    await w.service.onReport(helm);
    await w.service.idle();
    assert.equal((await w.approve(plain.proposal.id)).code, 'done');
    assert.equal(await replicasOf(kube.client, ns, 'web'), 2);
    const posted = w.entries().find((e) => e.event === 'posted' && e.proposal === helm.proposal.id);
    assert.match(String(posted?.detail.gitopsWarning), /managed by Helm release chart/);
    const msg = slack.messages.find((m) => JSON.stringify(m).includes(helm.proposal.id));
    assert.match(JSON.stringify(msg), /Managed elsewhere/);
    assert.equal((await w.approve(helm.proposal.id)).code, 'done', 'Helm alone: a warning, not a refusal');
    assert.equal(await replicasOf(kube.client, ns, 'chart'), 2);
    await w.service.close();
  });

  test('defence in depth: Argo CD takes over between proposal and approval → refused at execution', async () => {
    const ns = uniqueNs('late');
    await applyDeployment(ns, 'pay', 4, 'kubectl');
    const w = await world();
    const r = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'pay', from: 4, to: 2 });
    await w.service.onReport(r);
    await w.service.idle();
    assert.equal(w.service.state(r.proposal.id), 'pending', 'a plain Deployment is offered');
    await applyDeployment(ns, 'pay', 4, 'argocd-controller', argo('payments', ns, 'pay'));
    const out = await w.approve(r.proposal.id);
    assert.equal(out.code, 'refused');
    assert.match(out.message, /Argo CD would revert it.*application payments/);
    await w.service.idle(); // the refusal's audit entry is written after the answer
    const refused = w.entries().find((e) => e.event === 'refused' && e.detail.stage === 'execute');
    assert.equal(refused?.detail.approvedBy, `slack:${APPROVER.id}(${APPROVER.name})`);
    assert.equal(await replicasOf(kube.client, ns, 'pay'), 4);
    await w.service.close();
  });

  test('exec.policy.gitops per namespace: warn in a matching namespace lets an Argo CD scale through', async () => {
    const ns = uniqueNs('sandbox');
    await applyDeployment(ns, 'cart', 4, 'argocd-controller', argo('sandbox', ns, 'cart'));
    const w = await world({
      policy: {
        cooldown: '0s',
        gitops: { mode: 'refuse', rules: [{ namespaces: ['sandbox-*'], mode: 'warn' }] },
      },
    });
    const r = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'cart', from: 4, to: 3 });
    await w.service.onReport(r);
    await w.service.idle();
    const posted = w.entries().find((e) => e.event === 'posted' && e.proposal === r.proposal.id);
    assert.match(String(posted?.detail.gitopsWarning), /Argo CD would revert it/);
    assert.equal((await w.approve(r.proposal.id)).code, 'done');
    assert.equal(await replicasOf(kube.client, ns, 'cart'), 3);
    await w.service.close();
  });

  test("without a Kubernetes connection the executor's blockedBy is applied; checks are counted", async () => {
    const registry = new Registry();
    const file = join(dir, `audit-${Math.random().toString(36).slice(2)}.jsonl`);
    const service = new ApprovalService({
      config: execConfig({ mode: 'dry-run', approvers: [APPROVER.id] }),
      ledger: new AuditLedger({ file }),
      kube: null,
      webhookUrl: slack.webhookUrl,
      delay: async () => {},
      forgedSummaryIntervalMs: 0,
      registry,
    });
    await service.start();
    const r = reportWith({ incident: 'inc-nokube', namespace: 'shop', name: 'cart', from: 4, to: 2 });
    r.proposal.blockedBy = 'Argo CD would revert it; change the replicas in Git (application shop)';
    await service.onReport(r);
    await service.idle();
    const refused = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditEntry)
      .find((e) => e.event === 'refused');
    assert.equal(refused?.detail.reason, r.proposal.blockedBy);
    const metric = await registry.getSingleMetricAsString('kubetriage_exec_gitops_checks_total');
    assert.match(metric, /stage="propose",tool="unknown",verdict="refuse"} 1/);
    await service.close();
  });

  test('enrichment records who manages a Deployment in the slim projection, through the resolver', async () => {
    const ns = uniqueNs('enrich');
    await applyDeployment(ns, 'argo', 2, 'argocd-controller', argo('shop', ns, 'argo'));
    await applyDeployment(ns, 'flux', 2, 'kustomize-controller', flux('apps'));
    await applyDeployment(ns, 'hr', 2, 'helm-controller', {
      labels: { 'helm.toolkit.fluxcd.io/name': 'podinfo', 'helm.toolkit.fluxcd.io/namespace': 'flux-system' },
    });
    await applyDeployment(ns, 'plain', 2, 'kubectl');
    const list = await kube.client.get<{ items: Record<string, unknown>[] }>(
      `/apis/apps/v1/namespaces/${ns}/deployments`,
    );
    const projector = new Projector({ teamLabels: [], teamAnnotations: [] });
    const store = new ClusterStore({ tombstoneTtlMs: 60_000, maxTombstones: 10 });
    for (const raw of list.items) store.apply('ADDED', projector.project('Deployment', raw) as SlimWorkload);
    const resolver = new ClusterResolver({ store });
    const m = (name: string) => resolver.management(ns, { kind: 'Deployment', name });
    assert.deepEqual(m('argo'), {
      tool: 'argocd',
      app: 'shop',
      fluxKind: null,
      appNamespace: null,
      replicaManagers: ['argocd-controller'],
    });
    assert.equal(m('flux')?.tool, 'flux');
    assert.equal(m('flux')?.app, 'apps');
    assert.deepEqual(m('flux')?.replicaManagers, ['kustomize-controller']);
    assert.equal(m('hr')?.fluxKind, 'helmrelease');
    assert.equal(m('hr')?.app, 'podinfo');
    assert.equal(m('plain')?.tool, null);
    assert.deepEqual(m('plain')?.replicaManagers, ['kubectl']);
    assert.equal(resolver.management(ns, { kind: 'Deployment', name: 'absent' }), undefined);
  });

  test('the context carries scope.managedBy from enrichment, and the executor marks its proposal blockedBy', async () => {
    // latencySpike: `search` in `shop` saturated, no HPA: the rules engine drafts a scale up.
    await applyDeployment('shop', 'search', 4, 'argocd-controller', argo('search-prod', 'shop', 'search'));
    const raw = await kube.client.get<Record<string, unknown>>(
      '/apis/apps/v1/namespaces/shop/deployments/search',
    );
    const store = new ClusterStore({ tombstoneTtlMs: 60_000, maxTombstones: 10 });
    store.apply(
      'ADDED',
      new Projector({ teamLabels: [], teamAnnotations: [] }).project('Deployment', raw) as SlimWorkload,
    );
    const doc = latencySpike({ hpa: false, resolver: new ClusterResolver({ store }) });
    assertValidContext(doc);
    assert.deepEqual(doc.scope.managedBy, {
      tool: 'argocd',
      app: 'search-prod',
      fluxKind: null,
      appNamespace: null,
      replicaManagers: ['argocd-controller'],
    });
    const report = new TriageChain({ config: validateConfig({}).agents }).rules(doc);
    assertValidReport(report, doc);
    assert.equal(report.proposal?.target.name, 'search');
    assert.match(
      report.proposal?.blockedBy ?? '',
      /^Argo CD would revert it; change the replicas in Git \(application search-prod\), or pause self-heal first: `argocd app set search-prod --self-heal=false`$/,
    );
    // Without it (a plain Deployment), no block.
    const plain = new TriageChain({ config: validateConfig({}).agents }).rules(latencySpike({ hpa: false }));
    assert.equal(plain.proposal?.blockedBy, undefined);
    assert.equal(latencySpike({ hpa: false }).scope.managedBy, undefined);
  });
});
