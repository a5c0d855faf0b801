// The cache and joins on snapshot objects (no API server): projection, owner chains, team provenance,
// Services, nodes, revisions, rollout timelines, tombstones, snapshot file errors.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { KubetriageError } from '../../src/core/errors.ts';
import {
  createEnrichment,
  type Enrichment,
  loadObjects,
  loadSnapshot,
  readSnapshot,
} from '../../src/enrich/index.ts';
import { appObjects, namespaceObject, nodeObject, v1List } from './cluster-fixture.ts';

function enrichment(overrides: Record<string, unknown> = {}, now?: () => number): Enrichment {
  const cfg = validateConfig({ enrich: overrides }).enrich;
  return createEnrichment(cfg, now ? { now } : {});
}

const CHECKOUT = appObjects(
  {
    name: 'checkout',
    team: 'payments',
    images: ['shop/checkout:1.8.2', 'shop/checkout:1.9.0'],
    replicas: 3,
    changeCauses: [undefined, 'deploy checkout 1.9.0 (pipeline #8812)'],
    deployer: 'argocd-controller',
    nodes: ['node-a', 'node-b'],
  },
  { namespace: 'shop' },
);
const CATALOG = appObjects(
  { name: 'catalog', images: ['shop/catalog:2.0.0'], replicas: 2 },
  { namespace: 'shop' },
);

function named(items: Record<string, unknown>[], kind: string, pred: (name: string) => boolean = () => true) {
  return items
    .filter((i) => i.kind === kind)
    .map((i) => (i.metadata as { name: string }).name)
    .filter(pred);
}

async function loaded(extra: Record<string, unknown>[] = [], cfg: Record<string, unknown> = {}) {
  const e = enrichment(cfg);
  const items = [
    namespaceObject('shop', { 'app.kubernetes.io/part-of': 'storefront' }),
    nodeObject('node-a'),
    nodeObject('node-b', { Ready: 'False', MemoryPressure: 'True' }),
    ...CHECKOUT,
    ...CATALOG,
    ...extra,
  ];
  const stats = loadObjects(items, e.store, e.projector);
  return { e, stats, items };
}

describe('enrich: joins on a snapshot', () => {
  it('resolves a pod through its ReplicaSet to the Deployment, with Services, node, team and revision', async () => {
    const { e, stats } = await loaded();
    assert.deepEqual(stats.loaded, {
      Namespace: 1,
      Node: 2,
      Pod: 5,
      Service: 2,
      ReplicaSet: 3,
      Deployment: 2,
    });
    const [pod] = named(CHECKOUT, 'Pod');
    const [oldRs, newRs] = named(CHECKOUT, 'ReplicaSet');
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', pod!), { kind: 'Deployment', name: 'checkout' });
    assert.deepEqual(e.resolver.resolve('shop', 'ReplicaSet', oldRs!), {
      kind: 'Deployment',
      name: 'checkout',
    });
    const d = e.resolver.describePod('shop', pod!);
    assert.ok(d);
    assert.equal(d.team, 'payments');
    assert.equal(d.teamSource, 'label:team on Deployment/checkout');
    assert.deepEqual(d.services, ['checkout']);
    assert.deepEqual(d.revision, { replicaSet: newRs, revision: 2, isLatest: true });
    assert.equal(d.node?.name, 'node-a');
    assert.equal(d.deleted, false);
    const sick = e.resolver.describePod('shop', named(CHECKOUT, 'Pod')[1]!);
    assert.deepEqual(
      sick?.node?.conditions.filter((c) => c.status === 'True').map((c) => c.type),
      ['MemoryPressure'],
    );
    assert.deepEqual(e.resolver.workloadServices('shop', { kind: 'Deployment', name: 'catalog' }), [
      'catalog',
    ]);
  });

  it('falls back to the namespace for the team, then to rules, and names the source', async () => {
    const { e } = await loaded([], {
      rules: { teams: [{ id: 'catalog-owners', namespace: 'shop', name: 'catalog', team: 'discovery' }] },
    });
    assert.deepEqual(e.resolver.team('shop', { kind: 'Deployment', name: 'checkout' }), {
      team: 'payments',
      teamSource: 'label:team on Deployment/checkout',
    });
    assert.deepEqual(e.resolver.team('shop', { kind: 'Deployment', name: 'catalog' }), {
      team: 'discovery',
      teamSource: 'rule:catalog-owners',
    });
    // Not labelled, no rule: the namespace's label (the second configured key).
    assert.deepEqual(e.resolver.team('shop', { kind: 'StatefulSet', name: 'db' }), {
      team: 'storefront',
      teamSource: 'label:app.kubernetes.io/part-of on Namespace/shop',
    });
    assert.deepEqual(e.resolver.team('elsewhere', { kind: 'Deployment', name: 'x' }), {
      team: null,
      teamSource: null,
    });
  });

  it('uses annotations after labels, in the configured order', async () => {
    const dep = appObjects({ name: 'api', images: ['api:1'], replicas: 1 }, { namespace: 'shop' }).map((o) =>
      o.kind === 'Deployment'
        ? { ...o, metadata: { ...(o.metadata as object), annotations: { owner: 'platform' } } }
        : o,
    );
    const { e } = await loaded(dep, { teamLabels: ['squad'], teamAnnotations: ['owner'] });
    assert.deepEqual(e.resolver.team('shop', { kind: 'Deployment', name: 'api' }), {
      team: 'platform',
      teamSource: 'annotation:owner on Deployment/api',
    });
  });

  it('builds the rollout timeline from ReplicaSets: revisions, images, change cause, who changed it', async () => {
    const { e } = await loaded();
    const [oldRs, newRs] = named(CHECKOUT, 'ReplicaSet');
    const d = e.resolver.describe('shop', { kind: 'Deployment', name: 'checkout' });
    assert.ok(d);
    assert.deepEqual(
      d.rollouts.map((r) => [r.revision, r.replicaSet, r.images, r.changeCause, r.at]),
      [
        [
          2,
          newRs,
          ['shop/checkout:1.9.0', 'docker.io/istio/proxyv2:1.24.2'],
          'deploy checkout 1.9.0 (pipeline #8812)',
          '2026-11-28T10:00:00.000Z',
        ],
        [
          1,
          oldRs,
          ['shop/checkout:1.8.2', 'docker.io/istio/proxyv2:1.24.2'],
          null,
          '2026-11-28T09:00:00.000Z',
        ],
      ],
    );
    assert.equal(d.rollouts[0]?.changedBy, 'argocd-controller');
    assert.deepEqual(
      d.rollouts[0]?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
      ['Available=True/MinimumReplicasAvailable', 'Progressing=True/NewReplicaSetAvailable'],
    );
    assert.equal(d.rollouts[1]?.changedBy, undefined, 'only the newest revision has a known author');
  });

  it('labels pods of an older ReplicaSet as old-revision', async () => {
    const [, newRs] = named(CHECKOUT, 'ReplicaSet');
    const oldRs = CHECKOUT.find((o) => o.kind === 'ReplicaSet')!;
    const oldPod = {
      ...CHECKOUT.find((o) => o.kind === 'Pod')!,
      metadata: {
        name: `${(oldRs.metadata as { name: string }).name}-zzzzz`,
        namespace: 'shop',
        uid: 'old-pod',
        labels: { app: 'checkout' },
        ownerReferences: [
          { kind: 'ReplicaSet', name: (oldRs.metadata as { name: string }).name, controller: true },
        ],
      },
    };
    const { e } = await loaded([oldPod]);
    assert.deepEqual(e.resolver.podRevision('shop', oldPod.metadata.name), {
      replicaSet: (oldRs.metadata as { name: string }).name,
      revision: 1,
      isLatest: false,
    });
    assert.equal(e.resolver.podRevision('shop', named(CHECKOUT, 'Pod')[0]!)?.replicaSet, newRs);
  });

  it('follows Job → CronJob, StatefulSet pods (with their ControllerRevision), and bare pods', async () => {
    const extra = [
      {
        kind: 'Job',
        metadata: {
          name: 'nightly-29412345',
          namespace: 'shop',
          ownerReferences: [{ kind: 'CronJob', name: 'nightly', controller: true }],
        },
      },
      {
        kind: 'Pod',
        metadata: {
          name: 'nightly-29412345-bcdfx',
          namespace: 'shop',
          ownerReferences: [{ kind: 'Job', name: 'nightly-29412345', controller: true }],
        },
      },
      {
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'shop', labels: { owner: 'data' } },
        status: { updateRevision: 'db-7f9c' },
      },
      {
        kind: 'Pod',
        metadata: {
          name: 'db-0',
          namespace: 'shop',
          labels: { 'controller-revision-hash': 'db-5d4e' },
          ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }],
        },
      },
      { kind: 'Pod', metadata: { name: 'debug-shell', namespace: 'shop', labels: { team: 'sre' } } },
    ];
    const { e } = await loaded(extra);
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', 'nightly-29412345-bcdfx'), {
      kind: 'CronJob',
      name: 'nightly',
    });
    assert.deepEqual(e.resolver.resolve('shop', 'Job', 'nightly-29412345'), {
      kind: 'CronJob',
      name: 'nightly',
    });
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', 'db-0'), { kind: 'StatefulSet', name: 'db' });
    assert.deepEqual(e.resolver.podRevision('shop', 'db-0'), {
      replicaSet: 'db-5d4e',
      revision: null,
      isLatest: false,
    });
    assert.deepEqual(e.resolver.team('shop', { kind: 'StatefulSet', name: 'db' }), {
      team: 'data',
      teamSource: 'label:owner on StatefulSet/db',
    });
    // A pod named like a Deployment's, but bare: the cluster knows better than the name.
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', 'debug-shell'), { kind: 'Pod', name: 'debug-shell' });
    assert.deepEqual(
      e.resolver.describePod('shop', 'debug-shell')?.teamSource,
      'label:team on Pod/debug-shell',
    );
  });

  it('falls back to name patterns and k8sattributes for pods it does not know', async () => {
    const { e } = await loaded();
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', 'cart-7d9f8c6b5-x2kqz'), {
      kind: 'Deployment',
      name: 'cart',
    });
    assert.deepEqual(
      e.resolver.resolve('shop', 'Pod', 'weird', [{ key: 'k8s.daemonset.name', value: 'agent' }]),
      { kind: 'DaemonSet', name: 'agent' },
    );
    assert.equal(e.resolver.describe('nowhere', { kind: 'Deployment', name: 'x' }), undefined);
  });

  it('applies grouping overrides to cluster and name-pattern answers alike', async () => {
    const { e } = await loaded([], {
      rules: {
        grouping: [
          {
            id: 'canary-joins-main',
            kind: 'Deployment',
            name: '*-canary',
            groupAs: { kind: 'Deployment', name: 'checkout' },
          },
        ],
      },
    });
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', 'checkout-canary-7d9f8c6b5-bcdfx'), {
      kind: 'Deployment',
      name: 'checkout',
    });
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', named(CATALOG, 'Pod')[0]!), {
      kind: 'Deployment',
      name: 'catalog',
    });
  });
});

describe('enrich: store', () => {
  it('keeps a deleted pod resolvable for the tombstone TTL, then forgets it', async () => {
    let now = 1_000_000;
    const e = enrichment({ tombstoneTtl: '2m' }, () => now);
    loadObjects(CHECKOUT, e.store, e.projector);
    const name = named(CHECKOUT, 'Pod')[0]!;
    const raw = CHECKOUT.find((o) => (o.metadata as { name: string }).name === name)!;
    e.store.apply('DELETED', e.projector.project('Pod', raw)!);
    assert.equal(e.store.stats.objects.Pod, 2);
    assert.equal(e.store.stats.tombstones, 1);
    assert.equal(e.resolver.describePod('shop', name)?.deleted, true);
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', name), { kind: 'Deployment', name: 'checkout' });
    now += 121_000;
    assert.equal(e.resolver.describePod('shop', name), undefined);
    // Falls back to the name pattern, which still gets the Deployment from the pod's name.
    assert.deepEqual(e.resolver.resolve('shop', 'Pod', name), { kind: 'Deployment', name: 'checkout' });
  });

  it('bounds tombstones by count', async () => {
    const e = enrichment({ maxTombstones: 2 });
    loadObjects(CHECKOUT, e.store, e.projector);
    for (const o of CHECKOUT.filter((x) => x.kind === 'Pod'))
      e.store.apply('DELETED', e.projector.project('Pod', o)!);
    assert.equal(e.store.stats.tombstones, 2);
  });

  it('stores slim projections, and equal label sets once', async () => {
    const e = enrichment();
    const pods = CHECKOUT.filter((o) => o.kind === 'Pod');
    const slim = pods.map((p) => e.projector.project('Pod', p)!);
    const rawBytes = JSON.stringify(pods[0]).length;
    const slimBytes = JSON.stringify({ ...slim[0], memo: undefined }).length;
    assert.ok(slimBytes * 5 < rawBytes, `slim ${slimBytes} B vs raw ${rawBytes} B`);
    assert.equal((slim[0] as { labels: object }).labels, (slim[1] as { labels: object }).labels, 'interned');
  });

  it('re-resolves memoised pods when an owner changes', async () => {
    const e = enrichment();
    const items = appObjects({ name: 'web', images: ['web:1'], replicas: 1 }, { namespace: 'a' });
    loadObjects(items, e.store, e.projector);
    const pod = named(items, 'Pod')[0]!;
    assert.deepEqual(e.resolver.resolve('a', 'Pod', pod), { kind: 'Deployment', name: 'web' });
    const rs = items.find((o) => o.kind === 'ReplicaSet')!;
    const orphan = {
      ...rs,
      metadata: { ...(rs.metadata as object), ownerReferences: [], resourceVersion: '99' },
    };
    e.store.apply('MODIFIED', e.projector.project('ReplicaSet', orphan)!);
    assert.deepEqual(e.resolver.resolve('a', 'Pod', pod), {
      kind: 'ReplicaSet',
      name: (rs.metadata as { name: string }).name,
    });
  });
});

describe('enrich: snapshot files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kt-snap-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('loads a kubectl v1/List and a single-kind list', async () => {
    const e = enrichment();
    const stats = loadSnapshot(
      e,
      file('ok.json', JSON.stringify(v1List([...CHECKOUT, { kind: 'ConfigMap', metadata: { name: 'x' } }]))),
    );
    assert.equal(stats.loaded.Pod, 3);
    assert.deepEqual(stats.skipped, { ConfigMap: 1 });
    const pods = CHECKOUT.filter((o) => o.kind === 'Pod').map(({ kind: _k, ...rest }) => rest);
    const e2 = enrichment();
    await loadSnapshot(
      e2,
      file('pods.json', JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: pods })),
    );
    assert.equal(e2.store.stats.objects.Pod, 3);
  });

  it('rejects bad files with a reason that names the file', () => {
    const cases: [string, string, RegExp][] = [
      ['notjson.json', '{oops', /is not JSON/],
      ['noitems.json', '{"kind":"Pod"}', /not a v1\/List.*no "items"/],
      ['badkind.json', '{"kind":"List","items":[{"metadata":{"name":"x"}}]}', /items\[0\] has no kind/],
      ['notobj.json', '{"kind":"List","items":[3]}', /items\[0\] is not a Kubernetes object/],
    ];
    for (const [name, text, re] of cases) {
      const p = file(name, text);
      assert.throws(
        () => readSnapshot(p),
        (err: unknown) =>
          err instanceof KubetriageError &&
          err.code === 'SNAPSHOT_INVALID' &&
          re.test(err.message) &&
          err.message.includes(p),
      );
    }
    assert.throws(() => readSnapshot(join(dir, 'missing.json')), /Cannot read snapshot/);
  });
});
