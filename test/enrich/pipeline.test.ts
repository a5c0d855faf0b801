// Enrichment inside the pipeline: scenario snapshots through snapshotResolver (demo and eval's path),
// rules (ignore, grouping) in the pipeline, `kubetriage replay --snapshot` end to end, determinism.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { snapshotResolver } from '../../src/cli/snapshot-resolver.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createEnrichment, loadObjects } from '../../src/enrich/index.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import { type CapturedRecord, formatCaptureLine } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import type { WorkloadResolver } from '../../src/stream/workload.ts';
import { assertValidContext } from '../helpers/schema.ts';
import { appObjects, namespaceObject, v1List } from './cluster-fixture.ts';

const key = (d: IncidentContextDoc) =>
  `${d.scope.namespace}/${d.scope.workload.kind}/${d.scope.workload.name}`;

async function latestOf(
  records: Iterable<CapturedRecord>,
  resolver: WorkloadResolver,
  config = validateConfig({}),
): Promise<{ latest: Map<string, IncidentContextDoc>; all: IncidentContextDoc[]; ignored: number }> {
  const latest = new Map<string, IncidentContextDoc>();
  const all: IncidentContextDoc[] = [];
  const res = await replay({
    input: records,
    config,
    resolver,
    onContext: (d) => {
      assertValidContext(d);
      all.push(d);
      latest.set(key(d), d);
    },
  });
  return { latest, all, ignored: res.pipeline.stats.ignored };
}

describe('enrich: scenario snapshots (demo and eval)', () => {
  it('oom-rollout: the rollout from the snapshot is evidence before the first OOMKill, with revision and images', async () => {
    const run = getScenario('oom-rollout').generate({ seed: 1 });
    const { latest } = await latestOf(run.records, snapshotResolver(run.snapshot));
    const doc = latest.get('shop/Deployment/checkout');
    assert.ok(doc);
    assert.equal(doc.scope.team, 'checkout');
    assert.equal(doc.scope.teamSource, 'label:team on Deployment/checkout');
    const [newest, previous] = doc.rollouts;
    assert.ok(newest && previous);
    assert.equal(newest.source, 'cluster');
    assert.ok(
      newest.images.some((i) => i.endsWith('/checkout:1.9.0')),
      newest.images.join(),
    );
    assert.ok(
      previous.images.some((i) => i.endsWith('/checkout:1.8.2')),
      previous.images.join(),
    );
    assert.equal(newest.revision, (previous.revision ?? 0) + 1);
    assert.match(newest.changeCause ?? '', /1\.9\.0/);
    const ev = doc.evidence.find((e) => e.kind === 'rollout' && e.key === `rollout|${newest.replicaSet}`);
    assert.ok(ev, 'rollout evidence');
    assert.match(ev.summary, new RegExp(`revision ${newest.revision} of Deployment/checkout`));
    const oom = doc.evidence.filter((e) => e.kind === 'restart' && /OOMKilled/.test(e.summary));
    assert.ok(oom.length > 0);
    assert.ok(Date.parse(ev.at) < Math.min(...oom.map((e) => Date.parse(e.at))));
    // Only the recent revision is evidence; older ones stay in the timeline.
    assert.equal(doc.evidence.filter((e) => e.kind === 'rollout').length, 1);
    // The OOMKilling pods are labelled with the new revision (their ReplicaSet, from the snapshot).
    for (const e of oom)
      assert.deepEqual(e.refs.revisions, [
        { replicaSet: newest.replicaSet, revision: newest.revision, label: 'new-revision' },
      ]);
  });

  it("labels signals old-revision or new-revision by the pod's ReplicaSet", async () => {
    const run = getScenario('oom-rollout').generate({ seed: 1 });
    const snapshot = structuredClone(run.snapshot) as unknown as { items: SnapshotObject[] };
    const newPod = snapshot.items.find((o) => o.kind === 'Pod' && o.metadata.name.startsWith('checkout-'))!;
    const oldRs = snapshot.items.find(
      (o) =>
        o.kind === 'ReplicaSet' &&
        o.metadata.name.startsWith('checkout-') &&
        o.metadata.name !== newPod.metadata.ownerReferences[0]?.name &&
        o.metadata.annotations?.['deployment.kubernetes.io/revision'] === '3',
    )!;
    // A pod of revision 3 still running (a rollout in progress) and failing its readiness probe.
    const oldPod = structuredClone(newPod);
    oldPod.metadata.name = `${oldRs.metadata.name}-q2x7b`;
    oldPod.metadata.uid = 'old-pod-uid';
    oldPod.metadata.ownerReferences = newPod.metadata.ownerReferences.map((r) => ({
      ...r,
      name: oldRs.metadata.name,
      uid: oldRs.metadata.uid,
    }));
    snapshot.items.push(oldPod);
    const at = run.start + 6 * 60_000;
    const probe = (i: number): K8sEvent => ({
      namespace: 'shop',
      reason: 'Unhealthy',
      message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      type: 'Warning',
      object: { kind: 'Pod', name: oldPod.metadata.name, fieldPath: 'spec.containers{app}' },
      uid: 'old-pod-unhealthy',
      count: i + 1,
      atMs: at + i * 10_000,
    });
    const records = [...run.records, ...[0, 1, 2].map((i) => eventsRecord([probe(i)], 100_000 + i))];
    const { latest } = await latestOf(records, snapshotResolver(snapshot));
    const doc = latest.get('shop/Deployment/checkout');
    assert.ok(doc);
    const old = doc.evidence.find((e) =>
      ((e.refs.pods as string[] | undefined) ?? []).includes(oldPod.metadata.name),
    );
    assert.ok(old, 'evidence from the old pod');
    assert.deepEqual(old.refs.revisions, [
      { replicaSet: oldRs.metadata.name, revision: 3, label: 'old-revision' },
    ]);
    const fresh = doc.evidence.find((e) =>
      ((e.refs.pods as string[] | undefined) ?? []).includes(newPod.metadata.name),
    );
    assert.equal((fresh?.refs.revisions as { label: string }[] | undefined)?.[0]?.label, 'new-revision');
  });

  it('node-pressure: a DaemonSet pod resolves to its DaemonSet, not to a Deployment its name suggests', async () => {
    const run = getScenario('node-pressure').generate({ seed: 1 });
    // otel-agent's only signal is one NodeNotReady event, below the events floor: floors off, as this
    // is about resolution (the floors: test/stream/floors.test.ts).
    const { latest } = await latestOf(
      run.records,
      snapshotResolver(run.snapshot),
      validateConfig({ floors: { enabled: false } }),
    );
    assert.equal(latest.has('observability/Deployment/otel'), false);
    assert.equal(
      latest.get('observability/DaemonSet/otel-agent')?.scope.teamSource,
      'label:team on DaemonSet/otel-agent',
    );
  });

  it('missing-config: the stuck rollout (never scaled down) is in the timeline from the ReplicaSets', async () => {
    const run = getScenario('missing-config').generate({ seed: 1 });
    const { latest } = await latestOf(run.records, snapshotResolver(run.snapshot));
    const doc = latest.get('shop/Deployment/payments');
    assert.ok(doc);
    const newest = doc.rollouts[0];
    assert.ok(
      newest && Date.parse(newest.at ?? '') >= run.start,
      'the newest revision is the one rolled out in the scenario',
    );
    assert.ok(doc.evidence.some((e) => e.kind === 'rollout' && e.key === `rollout|${newest.replicaSet}`));
  });

  it('is deterministic: the same capture and snapshot give the same documents', async () => {
    const run = getScenario('oom-rollout').generate({ seed: 1 });
    const a = await latestOf(run.records, snapshotResolver(run.snapshot));
    const b = await latestOf(run.records, snapshotResolver(run.snapshot));
    assert.deepEqual(JSON.stringify(a.all), JSON.stringify(b.all));
  });
});

/** The fields of a snapshot object these tests touch. */
interface SnapshotObject {
  kind: string;
  metadata: {
    name: string;
    uid: string;
    annotations?: Record<string, string>;
    ownerReferences: { name: string; uid: string }[];
  };
}

const T0 = Date.parse('2026-11-28T10:30:00Z');

function eventsRecord(events: K8sEvent[], offset: number): CapturedRecord {
  return {
    topic: 'otlp_logs',
    partition: 0,
    offset,
    timestamp: events[0]!.atMs,
    key: null,
    headers: {},
    value: Buffer.from(encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events))),
  };
}

const CLUSTER = [
  namespaceObject('shop', { team: 'storefront' }),
  ...appObjects(
    { name: 'api', images: ['api:1.0', 'api:1.1'], replicas: 2, team: 'platform' },
    { namespace: 'shop' },
  ),
  ...appObjects({ name: 'api-canary', images: ['api:1.2'], replicas: 1 }, { namespace: 'shop' }),
];
const podOf = (app: string) =>
  (
    CLUSTER.find(
      (o) =>
        o.kind === 'Pod' &&
        (o.metadata as { name: string }).name.startsWith(`${app}-`) &&
        !(o.metadata as { name: string }).name.startsWith(`${app}-canary`),
    )!.metadata as { name: string }
  ).name;

function warnings(): CapturedRecord[] {
  const ev = (pod: string, reason: string, message: string, i: number): K8sEvent => ({
    namespace: 'shop',
    reason,
    message,
    type: 'Warning',
    object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
    uid: `${pod}-${reason}`,
    count: i + 1,
    atMs: T0 + i * 10_000,
  });
  const out: CapturedRecord[] = [];
  for (let i = 0; i < 6; i++)
    out.push(
      eventsRecord(
        [
          ev(podOf('api'), 'BackOff', 'Back-off restarting failed container app', i),
          ev(
            podOf('api'),
            'FailedMount',
            'MountVolume.SetUp failed for volume "kube-api-access": known flake',
            i,
          ),
          ev(podOf('api-canary'), 'Unhealthy', 'Readiness probe failed: HTTP 503', i),
        ],
        i,
      ),
    );
  return out;
}

describe('enrich: rules in the pipeline', () => {
  it('ignores known-benign events (and the container state they report), groups a canary with its main workload', async () => {
    const config = validateConfig({
      enrich: {
        rules: {
          ignore: [{ id: 'mount-flake', reason: 'FailedMount', message: 'known flake$' }],
          grouping: [{ id: 'canaries', name: '*-canary', groupAs: { kind: 'Deployment', name: 'api' } }],
        },
      },
    });
    const e = createEnrichment(config.enrich);
    loadObjects(CLUSTER, e.store, e.projector);
    const { latest, ignored } = await latestOf(warnings(), e.resolver, config);
    assert.deepEqual([...latest.keys()], ['shop/Deployment/api']);
    const doc = latest.get('shop/Deployment/api')!;
    const reasons = doc.evidence.map((x) => x.summary.split(' ')[1] ?? x.summary);
    assert.ok(!doc.evidence.some((x) => /FailedMount/.test(x.summary)), 'FailedMount ignored');
    assert.ok(
      doc.evidence.some((x) => /Unhealthy on Pod\/api-canary/.test(x.summary)),
      `canary grouped in: ${reasons}`,
    );
    assert.ok(ignored >= 6);
    assert.equal(doc.scope.team, 'platform');
    assert.deepEqual(
      doc.rollouts.map((r) => r.revision),
      [2, 1],
    );
  });

  it('without rules or a snapshot, the enrichment resolver changes nothing', async () => {
    const plain = await latestOf(warnings(), createEnrichment(validateConfig({}).enrich).resolver);
    const { NamePatternResolver } = await import('../../src/stream/workload.ts');
    const before = await latestOf(warnings(), new NamePatternResolver());
    assert.equal(JSON.stringify(plain.all), JSON.stringify(before.all));
  });
});

describe('enrich: kubetriage replay --snapshot', () => {
  const run = promisify(execFile);
  const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

  it('joins from the snapshot file; a bad snapshot is a one-line error and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-replay-snap-'));
    const capture = join(dir, 'capture.ndjson');
    writeFileSync(capture, `${warnings().map(formatCaptureLine).join('\n')}\n`);
    const snap = join(dir, 'cluster.json');
    writeFileSync(snap, JSON.stringify(v1List(CLUSTER)));
    const { stdout } = await run(process.execPath, [BIN, 'replay', '--input', capture, '--snapshot', snap]);
    const docs = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { schema: string });
    const ctx = docs.filter((d) => d.schema === 'kubetriage.io/incident-context/v1') as IncidentContextDoc[];
    const api = ctx.filter((d) => d.scope.workload.name === 'api').at(-1);
    assert.ok(api);
    assert.equal(api.scope.teamSource, 'label:team on Deployment/api');
    assert.deepEqual(
      api.rollouts.map((r) => r.images[0]),
      ['api:1.1', 'api:1.0'],
    );
    const triage = docs.filter((d) => d.schema === 'kubetriage.io/triage/v1') as unknown as {
      team: string;
    }[];
    assert.ok(triage.some((t) => t.team === 'platform'));

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"kind":"Pod"}');
    const err = await run(process.execPath, [BIN, 'replay', '--input', capture, '--snapshot', bad]).then(
      () => assert.fail('should fail'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2);
    assert.match(err.stderr, /^kubetriage: Snapshot .*bad\.json is not a v1\/List/);
  });
});
