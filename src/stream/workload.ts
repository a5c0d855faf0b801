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

// ReplicaSet pods are `<deployment>-<pod-template-hash>-<5 char suffix>`; StatefulSet pods `<name>-<ordinal>`.
// Only the safe alphabet counts as hash or suffix: that is what tells a DaemonSet pod `otel-agent-x7k2p`
// from a Deployment `otel`'s pod.
const DEPLOYMENT_POD = new RegExp(`^(.+)-(${GEN}{5,10})-(${GEN}{5})$`);
const REPLICASET = new RegExp(`^(.+)-(${GEN}{5,10})$`);
const STATEFULSET_POD = /^(.+)-(\d+)$/;
// DaemonSet (and Job) pods are `<name>-<5 char suffix>`; without the cluster a DaemonSet is the likelier
// owner, and the guess is harmless: only Deployments are ever scaled. Enrichment gives the real owner.
const GENERATED_POD = new RegExp(`^(.+)-(${GEN}{5})$`);

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
    case 'Pod': {
      let m = DEPLOYMENT_POD.exec(objectName);
      if (m) return { kind: 'Deployment', name: m[1]! };
      m = STATEFULSET_POD.exec(objectName);
      if (m) return { kind: 'StatefulSet', name: m[1]! };
      m = GENERATED_POD.exec(objectName);
      if (m) return { kind: 'DaemonSet', name: m[1]! };
      return { kind: 'Pod', name: objectName };
    }
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
