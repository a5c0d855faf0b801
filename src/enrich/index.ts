// The enrichment stage's entry point: a cluster cache behind the stream stage's WorkloadResolver.
//   live:     createEnrichment(cfg) → watchCluster(e, kubeConfig) → e.resolver into the pipeline
//   offline:  createEnrichment(cfg) → loadSnapshot(file, e.store, e.projector) → e.resolver
// Both fill the same store through the same informer code (see README.md).
import type { KubeConfig } from '@kubernetes/client-node';
import type { EnrichConfig } from '../core/config.ts';
import { ClusterWatch, type Delay, type EnrichLog } from './informers.ts';
import { apiTransport } from './kube-api.ts';
import { Projector } from './objects.ts';
import { PodStatusFeed } from './pod-status.ts';
import { ClusterResolver } from './resolver.ts';
import { EnrichRules } from './rules.ts';
import {
  checkSnapshot,
  loadObjects,
  loadSnapshot as loadSnapshotInto,
  type SnapshotStats,
} from './snapshot.ts';
import { ClusterStore } from './store.ts';

export type { Delay, EnrichLog, InformerStatus } from './informers.ts';
export { ClusterWatch, RESOURCES, ResourceInformer, realDelay } from './informers.ts';
export { ApiError, apiTransport, kubeConfigFrom } from './kube-api.ts';
export { registerEnrichMetrics } from './metrics.ts';
export type { Kind, SlimObject, SlimPod } from './objects.ts';
export { KINDS, Projector } from './objects.ts';
export { PodStatusFeed, podFacts } from './pod-status.ts';
export type { PodDetails, TeamInfo } from './resolver.ts';
export { ClusterResolver } from './resolver.ts';
export { EnrichRules, globTest } from './rules.ts';
export type { SnapshotStats } from './snapshot.ts';
export { checkSnapshot, loadObjects, readSnapshot } from './snapshot.ts';
export type { StoreStats, WatchPhase } from './store.ts';
export { ClusterStore } from './store.ts';

export interface Enrichment {
  store: ClusterStore;
  projector: Projector;
  rules: EnrichRules;
  resolver: ClusterResolver;
  /** New pod-status facts, taken by the stream stage through `resolver.statusChanges`. */
  podStatus: PodStatusFeed;
}

/** An empty cache with its resolver: answers by name patterns (plus rules) until something fills it. */
export function createEnrichment(cfg: EnrichConfig, opts: { now?: () => number } = {}): Enrichment {
  const podStatus = new PodStatusFeed({ lookbackMs: cfg.statusLookback });
  const store = new ClusterStore({
    tombstoneTtlMs: cfg.tombstoneTtl,
    maxTombstones: cfg.maxTombstones,
    ...(opts.now ? { now: opts.now } : {}),
    onPod: (prev, next) => podStatus.observe(prev, next),
  });
  const projector = new Projector({
    teamLabels: cfg.teamLabels,
    teamAnnotations: cfg.teamAnnotations,
    environmentLabels: cfg.environmentLabels,
    environmentAnnotations: cfg.environmentAnnotations,
  });
  const rules = new EnrichRules(cfg.rules);
  const resolver = new ClusterResolver({ store, rules, maxRollouts: cfg.maxRollouts, feed: podStatus });
  return { store, projector, rules, resolver, podStatus };
}

/** `--snapshot FILE`: the file's objects into the cache (replay). */
export function loadSnapshot(e: Enrichment, file: string): SnapshotStats {
  return loadSnapshotInto(file, e.store, e.projector);
}

/** A snapshot already in memory (a scenario's, for demo and eval): checked like a file, then loaded. */
export function loadSnapshotObject(e: Enrichment, snapshot: unknown, name = 'snapshot'): SnapshotStats {
  return loadObjects(checkSnapshot(snapshot, name), e.store, e.projector);
}

export interface WatchClusterOptions {
  log?: EnrichLog;
  delay?: Delay;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  pageSize?: number;
}

/** `run` with `enrich.enabled`: list + watch the cluster into the cache. Call start() on the result. */
export function watchCluster(
  e: Enrichment,
  cfg: EnrichConfig,
  kubeConfig: KubeConfig,
  o: WatchClusterOptions = {},
): ClusterWatch {
  const { list, watch } = apiTransport(kubeConfig, o.pageSize !== undefined ? { pageSize: o.pageSize } : {});
  return new ClusterWatch({
    store: e.store,
    projector: e.projector,
    list,
    watch,
    namespaces: cfg.namespaces,
    nodes: cfg.nodes,
    jobs: cfg.jobs,
    ...(o.log ? { log: o.log } : {}),
    ...(o.delay ? { delay: o.delay } : {}),
    ...(o.minBackoffMs !== undefined ? { minBackoffMs: o.minBackoffMs } : {}),
    ...(o.maxBackoffMs !== undefined ? { maxBackoffMs: o.maxBackoffMs } : {}),
  });
}
