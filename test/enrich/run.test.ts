// `kubetriage run` with enrich.enabled, as an operator starts it: a real kube-apiserver (watched
// through a kubeconfig file), a real Kafka broker, a real process. /readyz reports the cache synced,
// and a context for a pod's events names its Deployment, team and rollout timeline from the cluster.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import {
  createDeployment,
  createNamespace,
  createPod,
  createReplicaSet,
  rollout,
  uniqueName,
} from '../harness/kube/objects.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { freePort } from '../harness/ports.ts';
import { brokers, consumeUntil, produce, testTopics, waitFor } from '../helpers/kafka.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
// Never skips: without the binaries requireKubeBinaries() throws, and without KAFKA_BROKERS brokers() does.
requireKubeBinaries();

describe('kubetriage run with enrichment', { timeout: 180_000 }, () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  it('is ready once the cluster cache is synced, and enriches contexts from the cluster', async () => {
    const ns = uniqueName('run');
    const c = kube.client;
    await createNamespace(c, ns);
    const dep = await createDeployment(c, ns, {
      name: 'checkout',
      image: 'shop/checkout:1.8.2',
      labels: { team: 'payments' },
    });
    await createReplicaSet(c, ns, dep, { revision: 1, image: 'shop/checkout:1.8.2' });
    const { replicaSet } = await rollout(c, ns, 'checkout', { image: 'shop/checkout:1.9.0' });
    // A pod name no naming pattern maps to the Deployment: only the owner chain does.
    const pod = await createPod(c, ns, replicaSet, { name: 'checkout-worker-0' });

    const t = await testTopics(1);
    const dir = mkdtempSync(join(tmpdir(), 'kt-run-enrich-'));
    const cfg = join(dir, 'kubetriage.yaml');
    writeFileSync(
      cfg,
      stringify({
        grouping: { groupWait: '1s', groupInterval: '1s' },
        kafka: {
          groupId: t.group,
          topics: {
            logs: [t.logs],
            metrics: [t.metrics],
            traces: [t.traces],
            contexts: t.contexts,
            dlq: t.dlq,
          },
        },
        enrich: { enabled: true, kubeconfig: kube.kubeconfigPath, namespaces: [ns] },
      }),
    );
    const port = await freePort();
    const stderr: string[] = [];
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'run', '--config', cfg, '--port', String(port)],
      {
        env: { ...process.env, KAFKA_BROKERS: brokers() },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      let ready: { enrich?: { synced: boolean; informers: number } } = {};
      await waitFor(
        async () => {
          const r = await fetch(`${base}/readyz`);
          ready = (await r.json()) as typeof ready;
          return r.status === 200;
        },
        60_000,
        '/readyz',
      );
      assert.equal(ready.enrich?.synced, true);
      assert.match(stderr.join(''), /cluster cache synced/);

      await produce(t.logs, [
        {
          value: encodeOtlp(
            'ExportLogsServiceRequest',
            k8sEventsRequest([
              {
                namespace: ns,
                reason: 'BackOff',
                message: 'Back-off restarting failed container app',
                type: 'Warning',
                object: { kind: 'Pod', name: pod.metadata.name },
                uid: 'ev-1',
                count: 3,
                atMs: Date.now(),
              },
            ]),
          ),
        },
      ]);
      const recs = await consumeUntil(t.contexts, (r) => r.length > 0, 60_000);
      const doc = JSON.parse(recs[0]!.value!.toString()) as IncidentContextDoc;
      assert.deepEqual(doc.scope.workload, { kind: 'Deployment', name: 'checkout' });
      assert.equal(doc.scope.team, 'payments');
      assert.equal(doc.scope.teamSource, 'label:team on Deployment/checkout');
      assert.deepEqual(
        doc.rollouts.map((r) => [r.revision, r.images]),
        [
          [2, ['shop/checkout:1.9.0']],
          [1, ['shop/checkout:1.8.2']],
        ],
      );
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr.join('').slice(-2000));
  });
});
