// Enrichment against a real kube-apiserver + etcd (RBAC on, token auth): the informers list and watch
// it, the joins answer from what they saw, the watch survives an API server restart, and an OOMKilling
// rollout's context names the rollout (revision and images from the cluster) before the first OOMKill.
// Skips, loudly, when the binaries are not built (scripts/kube/build-apiserver.sh).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TriageChain } from '../../src/agents/index.ts';
import { type Config, validateConfig } from '../../src/core/config.ts';
import { type ClusterWatch, createEnrichment, kubeConfigFrom, watchCluster } from '../../src/enrich/index.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import { ManualClock, wallClock } from '../../src/stream/clock.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { replay } from '../../src/stream/replay.ts';
import { applyRbac, scalerToken } from '../exec/kube-world.ts';
import {
  createDeployment,
  createNamespace,
  createNode,
  createPod,
  createReplicaSet,
  createService,
  rollout,
  uniqueName,
} from '../harness/kube/objects.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { gauge, metricsRecord } from '../helpers/otlp.ts';

requireKubeBinaries();
/** The ServiceAccount user the reference Deployment runs as (config/rbac binds its read-only role). */
const agentRunner = scalerToken();

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('enrich against a real kube-apiserver', { timeout: 240_000 }, () => {
  let kube: KubeApiServer;
  const watches: ClusterWatch[] = [];

  before(async () => {
    kube = await startKubeApiServer({
      tokens: [agentRunner],
      log: (s) => process.stderr.write(`[kube] ${s}\n`),
    });
  });
  after(async () => {
    for (const w of watches) await w.stop();
    await kube?.stop();
  });

  /** An enrichment watching `ns` through a kubeconfig file, as `run` would with enrich.kubeconfig. */
  async function watching(ns: string, extra: Record<string, unknown> = {}) {
    const config = validateConfig({
      enrich: { enabled: true, kubeconfig: kube.kubeconfigPath, namespaces: [ns], ...extra },
    });
    const e = createEnrichment(config.enrich);
    const w = watchCluster(e, config.enrich, kubeConfigFrom(config.enrich), {
      // A restart takes seconds: retry every 200 ms instead of backing off towards 30 s.
      delay: (ms, signal) =>
        new Promise((r) => {
          const t = setTimeout(r, Math.min(ms, 200));
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              r();
            },
            { once: true },
          );
        }),
    });
    watches.push(w);
    w.start();
    assert.equal(await w.waitForSync(20_000), true, 'synced');
    return { e, w, config };
  }

  /** checkout (team payments) at revision 1 with two pods, its Service, and an unrelated Service. */
  async function shop(ns: string, node: string) {
    const c = kube.client;
    await createNamespace(c, ns, { labels: { owner: 'storefront' } });
    const dep = await createDeployment(c, ns, {
      name: 'checkout',
      image: 'shop/checkout:1.8.2',
      labels: { team: 'payments' },
      fieldManager: 'ci-deployer',
    });
    const rs1 = await createReplicaSet(c, ns, dep, { revision: 1, image: 'shop/checkout:1.8.2' });
    const oldPods = [await createPod(c, ns, rs1, { node }), await createPod(c, ns, rs1, { node })];
    await createService(c, ns, 'checkout', { app: 'checkout' });
    await createService(c, ns, 'payments', { app: 'payments' });
    return { dep, rs1, oldPods };
  }

  it('resolves pods to their Deployment, Services, team, node and revision; a rollout makes a two-entry timeline', async () => {
    const ns = uniqueName('joins');
    const node = uniqueName('node');
    await createNode(kube.client, node, [
      { type: 'Ready', status: 'True', reason: 'KubeletReady' },
      { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory' },
    ]);
    const { e } = await watching(ns);
    const { rs1, oldPods } = await shop(ns, node);
    // managedFields times have 1 s resolution: make the rollout's author the later writer for sure.
    await sleep(1100);
    const { replicaSet: rs2 } = await rollout(kube.client, ns, 'checkout', {
      image: 'shop/checkout:1.9.0',
      changeCause: 'deploy checkout 1.9.0 (pipeline #8812)',
      fieldManager: 'argo-cd',
    });
    const newPod = await createPod(kube.client, ns, rs2, {
      node,
      status: { restartCount: 3, lastTerminationReason: 'OOMKilled', waitingReason: 'CrashLoopBackOff' },
    });
    await until(
      () => e.resolver.describePod(ns, newPod.metadata.name)?.containers[0]?.restarts === 3,
      'the new pod and its status in the cache',
    );
    await until(
      () =>
        (e.resolver.describe(ns, { kind: 'Deployment', name: 'checkout' })?.rollouts[0]?.changedBy ?? '') ===
        'argo-cd',
      'the rollout',
    );

    const d = e.resolver.describePod(ns, newPod.metadata.name)!;
    assert.deepEqual(d.workload, { kind: 'Deployment', name: 'checkout' });
    assert.deepEqual(d.services, ['checkout']);
    assert.equal(d.team, 'payments');
    assert.equal(d.teamSource, 'label:team on Deployment/checkout');
    assert.deepEqual(d.revision, { replicaSet: rs2.metadata.name, revision: 2, isLatest: true });
    assert.equal(d.node?.name, node);
    assert.deepEqual(
      d.node?.conditions.map((x) => `${x.type}=${x.status}`),
      ['Ready=True', 'MemoryPressure=True'],
    );
    assert.deepEqual(d.containers, [
      {
        name: 'app',
        image: 'shop/checkout:1.9.0',
        restarts: 3,
        waiting: 'CrashLoopBackOff',
        lastTerminated: 'OOMKilled',
      },
    ]);
    const old = e.resolver.podRevision(ns, oldPods[0]!.metadata.name);
    assert.deepEqual(old, { replicaSet: rs1.metadata.name, revision: 1, isLatest: false });
    // The owner chain, not the name: resolve() agrees for every pod.
    for (const p of [...oldPods, newPod])
      assert.deepEqual(e.resolver.resolve(ns, 'Pod', p.metadata.name), {
        kind: 'Deployment',
        name: 'checkout',
      });

    const timeline = e.resolver.describe(ns, { kind: 'Deployment', name: 'checkout' })!.rollouts;
    assert.deepEqual(
      timeline.map((r) => ({
        revision: r.revision,
        replicaSet: r.replicaSet,
        images: r.images,
        changeCause: r.changeCause,
        at: r.at,
      })),
      [
        {
          revision: 2,
          replicaSet: rs2.metadata.name,
          images: ['shop/checkout:1.9.0'],
          changeCause: 'deploy checkout 1.9.0 (pipeline #8812)',
          at: new Date(rs2.metadata.creationTimestamp).toISOString(),
        },
        {
          revision: 1,
          replicaSet: rs1.metadata.name,
          images: ['shop/checkout:1.8.2'],
          changeCause: null,
          at: new Date(rs1.metadata.creationTimestamp).toISOString(),
        },
      ],
    );
    assert.equal(timeline[0]?.changedBy, 'argo-cd');
    assert.deepEqual(
      timeline[0]?.conditions?.find((x) => x.type === 'Progressing')?.reason,
      'NewReplicaSetAvailable',
    );
    // Namespace team for a workload without its own label.
    assert.deepEqual(e.resolver.team(ns, { kind: 'Deployment', name: 'other' }), {
      team: 'storefront',
      teamSource: `label:owner on Namespace/${ns}`,
    });

    // A deleted pod still resolves (tombstone) for its late signals.
    // No kubelet to finish a graceful delete: delete at once, as the kubelet's final delete does.
    await kube.client.delete(
      `/api/v1/namespaces/${ns}/pods/${oldPods[1]!.metadata.name}?gracePeriodSeconds=0`,
    );
    await until(() => e.resolver.describePod(ns, oldPods[1]!.metadata.name)?.deleted === true, 'the delete');
    assert.deepEqual(e.resolver.resolve(ns, 'Pod', oldPods[1]!.metadata.name), {
      kind: 'Deployment',
      name: 'checkout',
    });
  });

  it('syncs with only the read-only RBAC of config/rbac, as the agent-runner ServiceAccount', async () => {
    const applied = await applyRbac(kube.client);
    assert.ok(applied.includes('ClusterRole/kubetriage-enrichment-reader'), applied.join());
    const ns = uniqueName('rbac');
    await shop(ns, 'node-r');
    // All namespaces and nodes: the cluster-wide default.
    const config = validateConfig({ enrich: { enabled: true } });
    const e = createEnrichment(config.enrich);
    const w = watchCluster(e, config.enrich, kube.kubeConfig(agentRunner.token));
    watches.push(w);
    w.start();
    assert.equal(await w.waitForSync(20_000), true, JSON.stringify(w.readiness().detail));
    await until(() => e.store.stats.objects.Pod >= 2, 'pods');
    const pods = await kube.client.get<{ items: { metadata: { name: string } }[] }>(
      `/api/v1/namespaces/${ns}/pods`,
    );
    const first = pods.items[0]!.metadata.name;
    assert.equal(e.resolver.describePod(ns, first)?.teamSource, 'label:team on Deployment/checkout');
    assert.deepEqual(e.resolver.describePod(ns, first)?.services, ['checkout']);
  });

  it('keeps watching across an API server restart: objects created after it are seen', async () => {
    const ns = uniqueName('restart');
    const { e, w } = await watching(ns);
    const { rs1 } = await shop(ns, 'node-x');
    await until(() => e.store.stats.objects.Pod === 2, 'pods before the restart');
    await kube.restart();
    const after1 = await createPod(kube.client, ns, rs1, { node: 'node-x' });
    const dep2 = await createDeployment(kube.client, ns, {
      name: 'late',
      image: 'late:1',
      labels: { team: 'late-team' },
    });
    await createReplicaSet(kube.client, ns, dep2, { revision: 1, image: 'late:1' });
    await until(
      () => e.resolver.describePod(ns, after1.metadata.name) !== undefined,
      'a pod created after the restart',
      60_000,
    );
    await until(
      () => e.resolver.team(ns, { kind: 'Deployment', name: 'late' }).team === 'late-team',
      'a Deployment created after the restart',
      60_000,
    );
    assert.deepEqual(e.resolver.resolve(ns, 'Pod', after1.metadata.name), {
      kind: 'Deployment',
      name: 'checkout',
    });
    assert.equal(w.readiness().ok, true);
    const errors = w.informers.reduce((n, i) => n + i.errors, 0);
    assert.ok(errors > 0, 'the informers noticed the restart (and recovered)');
  });

  it("an OOMKilling rollout's context names the rollout, with revision and images from the cluster, before the first OOMKill", async () => {
    const ns = uniqueName('oom');
    const { e, config } = await watching(ns);
    const { rs1 } = await shop(ns, 'node-1');
    const { replicaSet: rs2 } = await rollout(kube.client, ns, 'checkout', {
      image: 'shop/checkout:1.9.0',
      changeCause: 'deploy checkout 1.9.0: enable order-summary cache',
    });
    const newPods = [
      await createPod(kube.client, ns, rs2, { node: 'node-1' }),
      await createPod(kube.client, ns, rs2, { node: 'node-1' }),
    ];
    await until(
      () =>
        e.resolver.describe(ns, { kind: 'Deployment', name: 'checkout' })?.rollouts.length === 2 &&
        e.store.stats.objects.Pod === 4,
      'the rollout in the cache',
    );

    // Telemetry as the Collector sends it, without k8s.deployment.name: only the cluster knows the owner.
    const rolledAt = Date.parse(rs2.metadata.creationTimestamp);
    const records = oomTelemetry(
      ns,
      newPods.map((p) => p.metadata.name),
      rolledAt,
    );
    const docs: IncidentContextDoc[] = [];
    await replay({
      input: records,
      config: quick(config),
      resolver: e.resolver,
      onContext: (d) => docs.push(d),
    });
    const doc = [...docs].reverse().find((d) => d.scope.workload.name === 'checkout');
    assert.ok(doc, `a checkout incident (got ${docs.map((d) => d.scope.workload.name).join(', ')})`);
    assert.deepEqual(doc.scope.workload, { kind: 'Deployment', name: 'checkout' });
    assert.equal(doc.scope.team, 'payments');
    assert.equal(doc.scope.teamSource, 'label:team on Deployment/checkout');
    assert.deepEqual(
      doc.rollouts.map((r) => [r.revision, r.replicaSet, r.images, r.source]),
      [
        [2, rs2.metadata.name, ['shop/checkout:1.9.0'], 'cluster'],
        [1, rs1.metadata.name, ['shop/checkout:1.8.2'], 'cluster'],
      ],
    );
    assert.equal(doc.rollouts[0]?.changeCause, 'deploy checkout 1.9.0: enable order-summary cache');
    const rolloutEv = doc.evidence.find(
      (x) => x.kind === 'rollout' && x.key === `rollout|${rs2.metadata.name}`,
    );
    assert.ok(rolloutEv, 'the rollout is evidence');
    assert.match(rolloutEv.summary, /revision 2 of Deployment\/checkout.*shop\/checkout:1\.9\.0/);
    const ooms = doc.evidence.filter((x) => x.kind === 'restart' && /OOMKilled/.test(x.summary));
    assert.ok(ooms.length > 0, 'OOMKill evidence');
    // The failing pods are labelled with their revision, from the cluster's ReplicaSets.
    for (const x of ooms)
      assert.deepEqual(x.refs.revisions, [
        { replicaSet: rs2.metadata.name, revision: 2, label: 'new-revision' },
      ]);
    const firstOom = Math.min(...ooms.map((x) => Date.parse(x.at)));
    assert.ok(Date.parse(rolloutEv.at) < firstOom, 'the rollout precedes the first OOMKill');
    assert.equal(Date.parse(rolloutEv.at), rolledAt);

    const report = await new TriageChain({ config: config.agents }).triage(doc);
    assert.equal(report.team, 'payments');
    assert.equal(report.hypotheses[0]?.cause, 'bad_rollout');
    assert.ok(report.hypotheses[0]?.evidence.includes(rolloutEv.id), 'the diagnosis cites the rollout');
  });

  /** checkout at revision 1 (team payments) and one pod of it, as a test's starting point. */
  async function onePod(ns: string, node?: string) {
    const c = kube.client;
    await createNamespace(c, ns);
    const dep = await createDeployment(c, ns, {
      name: 'checkout',
      image: 'shop/checkout:1.9.0',
      labels: { team: 'payments' },
      replicas: 1,
    });
    const rs = await createReplicaSet(c, ns, dep, { revision: 1, image: 'shop/checkout:1.9.0' });
    return createPod(c, ns, rs, node ? { node } : {});
  }

  it('status only, written through the status subresource: the live enrichment finds the OOMKill and the diagnosis is oom', async () => {
    const ns = uniqueName('oomstatus');
    const { e, config } = await watching(ns);
    const pod = await onePod(ns, 'node-1');
    // What the kubelet writes after the fourth OOMKill; no Event says OOM, no metric carries the reason.
    const finishedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 20_000).toISOString();
    await kube.client.merge(`/api/v1/namespaces/${ns}/pods/${pod.metadata.name}/status`, {
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            image: 'shop/checkout:1.9.0',
            imageID: '',
            ready: false,
            started: false,
            restartCount: 4,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: 'back-off 1m20s restarting failed container=app',
              },
            },
            lastState: {
              terminated: { reason: 'OOMKilled', exitCode: 137, startedAt: finishedAt, finishedAt },
            },
          },
        ],
      },
    });
    // The `run` path: the pipeline on the wall clock over the informers' cache, and no telemetry at all.
    const docs: IncidentContextDoc[] = [];
    const pipeline = new Pipeline({
      config: { ...config, grouping: { ...config.grouping, groupWait: 200 } },
      clock: wallClock,
      resolver: e.resolver,
      sink: (d) => docs.push(d),
    });
    await until(() => {
      pipeline.tick();
      return docs.some((d) => d.scope.workload.name === 'checkout');
    }, 'a checkout context from the pod status alone');
    const doc = docs.filter((d) => d.scope.workload.name === 'checkout').at(-1)!;
    assert.deepEqual(doc.scope.workload, { kind: 'Deployment', name: 'checkout' });
    const oom = doc.evidence.find((x) => x.kind === 'restart' && /^OOMKilled/.test(x.summary));
    assert.ok(oom, doc.evidence.map((x) => x.summary).join('\n'));
    assert.match(oom.summary, /exit code 137/);
    assert.equal(oom.at, finishedAt);
    const report = await new TriageChain({ config: config.agents }).triage(doc);
    assert.equal(report.hypotheses[0]?.cause, 'oom', JSON.stringify(report.hypotheses));
  });

  it('a scheduling incident stays open while the pod is Pending (no event for 20 minutes), and resolves once it is bound and running', async () => {
    const ns = uniqueName('pending');
    const { e, config } = await watching(ns);
    const pod = await onePod(ns);
    const name = pod.metadata.name;
    const since = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    await kube.client.merge(`/api/v1/namespaces/${ns}/pods/${name}/status`, {
      status: {
        phase: 'Pending',
        containerStatuses: null,
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient cpu.',
            lastTransitionTime: since,
          },
        ],
      },
    });
    await until(() => e.resolver.describePod(ns, name)?.phase === 'Pending', 'the Pending pod in the cache');
    // The scheduler's Event once; then 25 minutes of nothing (a manual clock over the live cache).
    const clock = new ManualClock(Date.parse(since));
    const docs: IncidentContextDoc[] = [];
    const pipeline = new Pipeline({ config, clock, resolver: e.resolver, sink: (d) => docs.push(d) });
    const at = clock.now() + 1000;
    const event = encodeOtlp(
      'ExportLogsServiceRequest',
      k8sEventsRequest([
        {
          namespace: ns,
          reason: 'FailedScheduling',
          message: '0/3 nodes are available: 3 Insufficient cpu.',
          type: 'Warning',
          object: { kind: 'Pod', name },
          uid: `${name}-failed-scheduling`,
          count: 1,
          atMs: at,
        },
      ]),
    );
    clock.advance(at);
    assert.equal(pipeline.ingest('otlp_logs', event, at), undefined);
    for (let m = 1; m <= 25; m++) {
      clock.advance(at + m * 60_000);
      pipeline.tick();
    }
    const open = docs.filter((d) => d.scope.workload.name === 'checkout');
    assert.ok(open.length > 0);
    assert.ok(!open.some((d) => d.status === 'resolved'), 'not resolved while Pending');
    assert.equal(open.at(-1)?.persisting?.reason, 'unschedulable');
    assert.equal(pipeline.grouper.stats.deferred.unschedulable, 1);

    // Bound to a node (the binding subresource, as the scheduler does), then running (the kubelet).
    await kube.client.create(`/api/v1/namespaces/${ns}/pods/${name}/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name },
      target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
    });
    await kube.client.merge(`/api/v1/namespaces/${ns}/pods/${name}/status`, {
      status: {
        phase: 'Running',
        conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: since }],
      },
    });
    // …and the deployment controller counts it available (no controllers run here: written as it would).
    await kube.client.merge(`/apis/apps/v1/namespaces/${ns}/deployments/checkout/status`, {
      status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 },
    });
    await until(() => e.resolver.describePod(ns, name)?.phase === 'Running', 'the running pod in the cache');
    await until(
      () =>
        e.resolver.currentFault(ns, { kind: 'Deployment', name: 'checkout' }, Date.now() + 3_600_000) ===
        null,
      'the available Deployment in the cache',
    );
    clock.advance(at + 27 * 60_000);
    pipeline.tick();
    assert.equal(docs.filter((d) => d.scope.workload.name === 'checkout').at(-1)?.status, 'resolved');
  });
});

function quick(config: Config): Config {
  return { ...config, grouping: { ...config.grouping, groupWait: 5_000, groupInterval: 10_000 } };
}

/** Restart counters climbing with last_terminated_reason=OOMKilled, and BackOff Warnings, on the new pods. */
function oomTelemetry(ns: string, pods: string[], rolledAt: number): CapturedRecord[] {
  const out: CapturedRecord[] = [];
  const push = (topic: string, value: Buffer, at: number) =>
    out.push({ topic, partition: 0, offset: out.length, timestamp: at, key: null, headers: {}, value });
  for (let step = 0; step < 8; step++) {
    const at = rolledAt + 60_000 + step * 30_000;
    // First OOMKill ~4.5 min after the rollout: counters are 0 before, then rise.
    const restarts = step < 7 ? Math.max(0, step - 1) : step;
    push(
      'otlp_metrics',
      metricsRecord(
        pods.map((pod) => ({
          attrs: {
            'k8s.namespace.name': ns,
            'k8s.pod.name': pod,
            'k8s.container.name': 'app',
            'k8s.node.name': 'node-1',
            ...(restarts > 0 ? { 'k8s.container.status.last_terminated_reason': 'OOMKilled' } : {}),
          },
          metrics: [gauge('k8s.container.restarts', restarts, at)],
        })),
      ),
      at,
    );
    if (restarts > 1)
      push(
        'otlp_logs',
        encodeOtlp(
          'ExportLogsServiceRequest',
          k8sEventsRequest(
            pods.map((pod) => ({
              namespace: ns,
              reason: 'BackOff',
              message: 'Back-off restarting failed container app in pod',
              type: 'Warning' as const,
              object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
              uid: `${pod}-backoff`,
              count: restarts - 1,
              atMs: at,
              node: 'node-1',
            })),
          ),
        ),
        at,
      );
  }
  return out;
}
