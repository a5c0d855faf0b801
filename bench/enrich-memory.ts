// Enrichment cache memory: heap (after a full GC) held by the cluster cache as the cluster grows, in
// a fresh child process per size. Two ways in, both the production code:
//  - snapshot: objects loaded through loadObjects (projector → store.apply('ADDED')), what
//    `replay --snapshot`, demo and eval do;
//  - informers: the same objects through ClusterWatch's ResourceInformers (client-node ListWatch,
//    which keeps its own map of the slim objects) with an in-memory list and a silent watch: `run`'s
//    path minus the sockets.
// The cluster is generated (test/enrich/cluster-fixture.ts): Deployments of 10 pods with 3 ReplicaSet
// revisions and a Service each, 50 apps a namespace, a node per 50 pods; objects shaped like real API
// output (managedFields, env, probes, status), streamed so the raw JSON is never all held at once.
// Also times resolve() (pod → Deployment), the per-resource call on the hot path.
//
// Run alone: node bench/enrich-memory.ts [--quick]     one size: node --expose-gc bench/enrich-memory.ts --child 10000
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../src/core/config.ts';
import { kubeClientLib } from '../src/core/kube-lib.ts';
import {
  ClusterWatch,
  createEnrichment,
  KINDS,
  type Kind,
  loadObjects,
  RESOURCES,
} from '../src/enrich/index.ts';
import { bigCluster } from '../test/enrich/cluster-fixture.ts';
import type { BenchOptions, BenchResult, BenchRow } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

/** The documented bound (README, src/enrich/README.md): heap for 10,000 pods and their owners. */
export const BOUND_MB_10K = 32;

interface Point {
  pods: number;
  objects: number;
  snapshotMB: number;
  informersMB: number;
  rssMB: number;
  bytesPerPod: number;
  resolveNs: number;
}

const MB = 1024 * 1024;

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function child(pods: number): Promise<Point> {
  const cfg = validateConfig({}).enrich;
  // Snapshot path: batches of raw objects, each released after loading.
  let base = heap();
  const snap = createEnrichment(cfg);
  let batch: unknown[] = [];
  let objects = 0;
  const podNames: [string, string][] = [];
  bigCluster(pods, (raw) => {
    objects++;
    const md = raw.metadata as { name: string; namespace: string };
    if (raw.kind === 'Pod' && podNames.length < 10_000) podNames.push([md.namespace, md.name]);
    batch.push(raw);
    if (batch.length >= 1000) {
      loadObjects(batch, snap.store, snap.projector);
      batch = [];
    }
  });
  loadObjects(batch, snap.store, snap.projector);
  batch = [];
  const snapshotBytes = heap() - base - podNames.length * 120; // the sample of names kept for timing
  // resolve(): memoised per pod, recomputed when an owner changes.
  let sink = 0;
  const rounds = 1_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const [ns, name] = podNames[i % podNames.length]!;
    if (snap.resolver.resolve(ns, 'Pod', name)?.kind === 'Deployment') sink++;
  }
  const resolveNs = Number(process.hrtime.bigint() - t0) / rounds;
  if (sink !== rounds) throw new Error(`resolve missed: ${rounds - sink}`);
  const rssMB = process.memoryUsage().rss / MB;

  // Informer path, measured on its own.
  podNames.length = 0;
  // The client library loads on first use (src/core/kube-lib.ts): load it before the baseline, its
  // code is not per-pod state.
  kubeClientLib();
  base = heap();
  const live = createEnrichment(cfg);
  const kindOf = new Map<string, Kind>(KINDS.map((k) => [RESOURCES[k].path, k]));
  const w = new ClusterWatch({
    store: live.store,
    projector: live.projector,
    namespaces: [],
    nodes: true,
    jobs: true,
    list: async (path, _q, out) => {
      const kind = kindOf.get(path);
      bigCluster(pods, (raw) => {
        if (raw.kind === kind) out.item(raw);
      });
      return { resourceVersion: '1' };
    },
    watch: { watch: async () => ({ abort() {} }) },
  });
  w.start();
  if (!(await w.waitForSync(600_000))) throw new Error('informers did not sync');
  const informersBytes = heap() - base;
  if (live.store.stats.objects.Pod !== pods) throw new Error('informer path lost pods');
  // (Also keeps the snapshot cache alive through the second measurement: its heap is in the base.)
  if (snap.store.stats.objects.Pod !== pods) throw new Error('snapshot path lost pods');
  await w.stop();
  return {
    pods,
    objects,
    snapshotMB: round(snapshotBytes / MB),
    informersMB: round(informersBytes / MB),
    rssMB: round(rssMB),
    bytesPerPod: Math.round(snapshotBytes / pods),
    resolveNs: Math.round(resolveNs),
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const sizes = opts.quick ? [1000, 10_000] : [1000, 5000, 10_000, 20_000];
  const self = fileURLToPath(import.meta.url);
  const points: Point[] = [];
  for (const n of sizes) {
    const out = execFileSync(process.execPath, ['--expose-gc', self, '--child', String(n)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const p = JSON.parse(out.trim().split('\n').at(-1)!) as Point;
    points.push(p);
    opts.log(
      `enrich-memory ${n} pods (${p.objects} objects): snapshot ${p.snapshotMB} MB, informers ${p.informersMB} MB, ${p.bytesPerPod} B/pod, resolve ${p.resolveNs} ns`,
    );
  }
  const rows: BenchRow[] = points.map((p) => ({
    case: `${p.pods.toLocaleString('en-US')} pods`,
    values: {
      objects: p.objects,
      'snapshot heap MB': p.snapshotMB,
      'informers heap MB': p.informersMB,
      'B per pod': p.bytesPerPod,
      'RSS MB': p.rssMB,
      'resolve ns': p.resolveNs,
    },
  }));
  const at10k = points.find((p) => p.pods === 10_000);
  return {
    name: 'enrich-memory',
    title: 'Enrichment cache memory',
    method:
      'Heap after full GC held by the cluster cache in a fresh process per size: a generated cluster (Deployments of 10 pods, 3 ReplicaSet revisions and a Service each, objects shaped like real API output) loaded through the snapshot path (projector → store) and, separately, through the informers (client-node ListWatch with an in-memory list). resolve ns: pod → Deployment, 1M calls over 10k pods.',
    reproduce:
      'node bench/enrich-memory.ts   (one size: node --expose-gc bench/enrich-memory.ts --child 10000)',
    columns: ['objects', 'snapshot heap MB', 'informers heap MB', 'B per pod', 'RSS MB', 'resolve ns'],
    rows,
    headline: at10k
      ? { 'heap MB @10k pods (informers)': at10k.informersMB, 'resolve ns': at10k.resolveNs }
      : {},
    targets: at10k
      ? [
          {
            target: `10,000 pods and their owners under ${BOUND_MB_10K} MB of heap (informer path)`,
            met: at10k.informersMB < BOUND_MB_10K,
            detail: `${at10k.informersMB} MB (snapshot path ${at10k.snapshotMB} MB)`,
          },
        ]
      : [],
    charts: [],
  };
}

const i = process.argv.indexOf('--child');
if (i > 0) {
  const p = await child(Number(process.argv[i + 1]));
  process.stdout.write(`${JSON.stringify(p)}\n`);
} else await runAlone(import.meta.url, run);
