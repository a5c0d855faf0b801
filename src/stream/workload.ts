// Pod → workload, behind an interface so the enrichment stage can back it with the real cluster.

import type { WorkloadRef } from './signals.ts';
import type { KeyValue } from './wire/otlp-model.ts';
import { getStringAttr } from './wire/otlp-model.ts';

export interface WorkloadResolver {
  /** Resolves a pod (or an event's involved object) to the workload that owns it. */
  resolve(
    namespace: string,
    objectKind: string,
    objectName: string,
    resourceAttrs?: readonly KeyValue[],
  ): WorkloadRef | undefined;
  /**
   * What the cluster knows about a workload: owning team (with provenance) and its rollout timeline.
   * Optional: resolvers without a cluster leave team null and rollouts to ScalingReplicaSet events.
   */
  describe?(namespace: string, workload: WorkloadRef): WorkloadDetails | undefined;
  /** The revision a pod belongs to, when its ReplicaSet (or ControllerRevision) is known. */
  podRevision?(namespace: string, pod: string): PodRevision | undefined;
  /**
   * The workloads behind a Service (its selector against their pod templates), for the call graph;
   * undefined when the Service is not known (callers then match a workload named like the Service).
   */
  serviceWorkloads?(namespace: string, service: string): WorkloadRef[] | undefined;
  /** The label of the configured rule that marks this event as known-benign, or undefined. */
  ignoreEvent?(event: EventFacts): string | undefined;
  /**
   * What the kubelet and scheduler reported in pod status (terminations, waiting reasons, PodScheduled
   * False) since the last call, up to `untilMs` by the status's own times (later ones wait: a replay
   * never sees the future). Informers and snapshots fill it the same way (src/enrich/pod-status.ts).
   */
  statusChanges?(untilMs: number): PodStatusChange[];
  /**
   * Whether the workload's fault still shows in the cluster at `atMs` (a Pending or waiting pod,
   * fewer replicas available than desired): null when the cluster shows it healthy, undefined when
   * the cluster does not know the workload.
   */
  currentFault?(namespace: string, workload: WorkloadRef, atMs: number): PersistingFault | null | undefined;
}

/** One fact from a pod's status, with the status's own time. */
export interface PodStatusChange {
  /** `terminated` (state or lastState), `waiting` (state.waiting), `unschedulable` (PodScheduled=False). */
  kind: 'terminated' | 'waiting' | 'unschedulable';
  namespace: string;
  pod: string;
  podUid: string;
  node: string;
  /** '' for pod-level facts. */
  container: string;
  /** OOMKilled, CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError, Unschedulable, … */
  reason: string;
  message: string;
  /** Of the newest termination, when there was one. */
  exitCode: number | null;
  /** Reason of the newest termination (for a waiting container: why it last stopped), '' when none. */
  lastTerminated: string;
  restarts: number;
  /** finishedAt, lastTransitionTime, …; null when the status gives no time (the clock then stands in). */
  atMs: number | null;
}

/** Why an incident stays open although its signals went quiet. */
export interface PersistingFault {
  /** Metric label: unschedulable, pending, waiting, unavailable. */
  reason: 'unschedulable' | 'pending' | 'waiting' | 'unavailable';
  /** Human text: `pod x is Pending: 0/3 nodes are available…`, `2 of 3 replicas available`. */
  detail: string;
}

/** One revision of a workload as the cluster knows it: a RolloutDoc plus its time in ms. */
export interface WorkloadRollout {
  revision: number | null;
  /** null: the ReplicaSet has no creationTimestamp, so when it rolled out is unknown (never 1970). */
  at: string | null;
  images: string[];
  changeCause: string | null;
  replicaSet: string;
  source: string;
  /** Who last changed the pod template (managedFields manager); newest revision only. */
  changedBy?: string | null;
  /** The workload's rollout conditions (Deployment Progressing / Available); newest revision only. */
  conditions?: { type: string; status: string; reason: string }[];
  atMs: number;
}

export interface WorkloadDetails {
  team: string | null;
  /** Where the team came from, e.g. `label:team on Deployment/checkout`, `rule:payments-team`. */
  teamSource: string | null;
  /** Newest first. May hold revisions later than an incident: the grouper keeps those up to its time. */
  rollouts: readonly WorkloadRollout[];
  /** What the namespace's labels / annotations say the environment is, with where it came from. */
  environment?: { value: string; source: string };
  /** Set when a GitOps controller or Helm manages the workload (src/enrich/gitops.ts). */
  managedBy?: ManagedByDoc;
}

/** Who manages a workload: Argo CD / Flux put its replicas back from Git; Helm at the next upgrade. */
export interface ManagedByDoc {
  tool: 'argocd' | 'flux' | 'helm';
  /** Argo CD application, Flux Kustomization/HelmRelease, Helm release; null when unnamed. */
  app: string | null;
  fluxKind: 'kustomization' | 'helmrelease' | null;
  appNamespace: string | null;
  /** Field managers owning spec.replicas. */
  replicaManagers: string[];
}

export interface PodRevision {
  /** The pod's ReplicaSet (Deployments) or ControllerRevision (StatefulSets, DaemonSets). */
  replicaSet: string;
  revision: number | null;
  /** True: the pod runs the workload's newest revision; false: an older one. */
  isLatest: boolean;
}

/** The event fields an ignore rule can match (an EventSignal has them all). */
export interface EventFacts {
  namespace: string;
  reason: string;
  objectKind: string;
  objectName: string;
  message: string;
}

/**
 * What Kubernetes uses for generated name parts, pod-template-hash values and pod suffixes
 * (k8s.io/apimachinery/pkg/util/rand SafeEncodeString: consonants and digits without look-alikes).
 */
export const K8S_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const GEN = `[${K8S_NAME_ALPHABET}]`;

const REPLICASET = new RegExp(`^(.+)-(${GEN}{5,10})$`);

/** K8S_NAME_ALPHABET by char code. */
const IS_GEN = new Uint8Array(128);
for (const c of K8S_NAME_ALPHABET) IS_GEN[c.charCodeAt(0)] = 1;

/**
 * The owner a pod's name implies, as these patterns (in this order) would; scanned by hand: the
 * regexes were 10 % of decoding k8s events to signals with distinct pod names (bench/decode-cold.ts
 * --profile cold); without them decode to signals +14 % warm, +8 % cold (bench/ab.ts decode, 7 rounds, medians).
 *   Deployment  ^(.+)-(GEN{5,10})-(GEN{5})$   `<deployment>-<pod-template-hash>-<5 char suffix>`
 *   StatefulSet ^(.+)-(\d+)$                  `<name>-<ordinal>`
 *   DaemonSet   ^(.+)-(GEN{5})$               `<name>-<5 char suffix>`; Jobs look alike, but without
 *               the cluster a DaemonSet is the likelier owner, and the guess is harmless: only
 *               Deployments are ever scaled. Enrichment gives the real owner.
 * Only the safe alphabet counts as hash or suffix: that tells a DaemonSet pod `otel-agent-x7k2p` from
 * a Deployment `otel`'s pod. `.` stops at line terminators, so a prefix holding one matches nothing.
 */
export function podOwnerByName(name: string): WorkloadRef {
  const n = name.length;
  const last = name.lastIndexOf('-');
  if (last > 0) {
    // `-<5 GEN>` at the end: a Deployment's pod when a 5–10 GEN hash precedes it, else a DaemonSet's.
    if (last === n - 6 && genRun(name, last + 1, n)) {
      const before = name.lastIndexOf('-', last - 1);
      const hash = last - before - 1;
      if (
        before > 0 &&
        hash >= 5 &&
        hash <= 10 &&
        genRun(name, before + 1, last) &&
        plainPrefix(name, before)
      )
        return { kind: 'Deployment', name: name.slice(0, before) };
    }
    if (last < n - 1 && digitRun(name, last + 1, n) && plainPrefix(name, last))
      return { kind: 'StatefulSet', name: name.slice(0, last) };
    if (last === n - 6 && genRun(name, last + 1, n) && plainPrefix(name, last))
      return { kind: 'DaemonSet', name: name.slice(0, last) };
  }
  return { kind: 'Pod', name };
}

function genRun(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || IS_GEN[c] === 0) return false;
  }
  return true;
}

function digitRun(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** s[0, end) matches `.+`: not empty, no line terminator. */
function plainPrefix(s: string, end: number): boolean {
  if (end < 1) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return false;
  }
  return true;
}

const OWNER_ATTRS: readonly (readonly [string, string])[] = [
  ['k8s.deployment.name', 'Deployment'],
  ['k8s.statefulset.name', 'StatefulSet'],
  ['k8s.daemonset.name', 'DaemonSet'],
  ['k8s.cronjob.name', 'CronJob'],
  ['k8s.job.name', 'Job'],
];

/**
 * The resolver that needs no cluster: k8sattributes resource attributes when present, otherwise the
 * names Kubernetes controllers give their objects.
 */
export class NamePatternResolver implements WorkloadResolver {
  resolve(
    _namespace: string,
    objectKind: string,
    objectName: string,
    resourceAttrs?: readonly KeyValue[],
  ): WorkloadRef | undefined {
    if (resourceAttrs) {
      for (const [key, kind] of OWNER_ATTRS) {
        const name = getStringAttr(resourceAttrs, key);
        if (name) return { kind, name };
      }
      const rs = getStringAttr(resourceAttrs, 'k8s.replicaset.name');
      if (rs) {
        const m = REPLICASET.exec(rs);
        return m ? { kind: 'Deployment', name: m[1]! } : { kind: 'ReplicaSet', name: rs };
      }
    }
    return resolveByName(objectKind, objectName);
  }
}

export function resolveByName(objectKind: string, objectName: string): WorkloadRef | undefined {
  if (!objectName) return undefined;
  switch (objectKind) {
    case 'Pod':
      return podOwnerByName(objectName);
    case 'ReplicaSet': {
      const m = REPLICASET.exec(objectName);
      return m ? { kind: 'Deployment', name: m[1]! } : { kind: 'ReplicaSet', name: objectName };
    }
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
    case 'CronJob':
    case 'Node':
      return { kind: objectKind, name: objectName };
    case 'HorizontalPodAutoscaler':
      // By convention an HPA is named after the Deployment it scales; enrichment reads the real target.
      return { kind: 'Deployment', name: objectName };
    default:
      return undefined;
  }
}
