// The objects of the simulated cluster, one class per kind: containers, Pods, ReplicaSets, Deployments,
// StatefulSets/DaemonSets, Services, Nodes and HPAs, and the quantities and times they are written in.
// cluster.ts mutates them as a scenario runs; snapshot-json.ts prints them as the API server does.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** RFC 3339 to the second, as the API server writes metav1.Time. */
export function k8sTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface ContainerSpec {
  name: string;
  image: string;
  port: number;
  memRequest: number;
  memLimit: number;
  cpuRequest: number;
  cpuLimit?: number;
  /** Readiness probe path; omitted for containers without one. */
  readinessPath?: string;
  /** envFrom sources; a missing one makes the kubelet fail with CreateContainerConfigError. */
  configMaps?: string[];
  secrets?: string[];
  /** Typical working set as a fraction of the limit (kubelet_stats). */
  memFraction?: number;
  cpuTypical?: number;
}

export type ContainerState =
  | { kind: 'running'; startedAt: number }
  | { kind: 'waiting'; reason: string; message: string }
  | { kind: 'terminated'; reason: string; exitCode: number; startedAt: number; finishedAt: number };

export interface LastTermination {
  reason: string;
  exitCode: number;
  startedAt: number;
  finishedAt: number;
  containerId: string;
}

export class ContainerModel {
  readonly spec: ContainerSpec;
  containerId = '';
  imageId: string;
  ready = false;
  started = false;
  restartCount = 0;
  state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating', message: '' };
  last: LastTermination | undefined;
  /** Working set override (bytes); when undefined, kubelet_stats derives it from the spec. */
  memWorkingSet: number | undefined;
  cpuUsage: number | undefined;

  constructor(spec: ContainerSpec, imageId: string) {
    this.spec = spec;
    this.imageId = imageId;
  }

  /** Repository and tag the way k8s_cluster parses the image reference. */
  image(): { name: string; tag: string } {
    const at = this.spec.image.lastIndexOf(':');
    const slash = this.spec.image.lastIndexOf('/');
    if (at > slash) return { name: this.spec.image.slice(0, at), tag: this.spec.image.slice(at + 1) };
    return { name: this.spec.image, tag: 'latest' };
  }

  /** k8s.container.status.reason as k8s_cluster reports it: the current Waiting/Terminated reason. */
  statusReason(): string | undefined {
    return this.state.kind === 'running' ? undefined : this.state.reason;
  }
}

export interface OwnerRef {
  kind: 'ReplicaSet' | 'StatefulSet' | 'DaemonSet';
  name: string;
  uid: string;
}

export class PodModel {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly owner: OwnerRef;
  /** The workload whose telemetry this pod emits (Deployment/StatefulSet/DaemonSet name). */
  readonly workload: { kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; name: string; uid: string };
  readonly serviceAccount: string;
  readonly createdAt: number;
  node = '';
  hostIp = '';
  ip = '';
  scheduledAt = 0;
  startedAt = 0;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' = 'Pending';
  reason = '';
  message = '';
  unschedulable: { message: string; at: number } | undefined;
  readyChangedAt: number;
  readonly containers: ContainerModel[];
  resourceVersion: number;
  deleted = false;

  constructor(o: {
    name: string;
    uid: string;
    namespace: string;
    labels: Record<string, string>;
    owner: OwnerRef;
    workload: PodModel['workload'];
    serviceAccount: string;
    createdAt: number;
    containers: ContainerModel[];
    resourceVersion: number;
  }) {
    this.name = o.name;
    this.uid = o.uid;
    this.namespace = o.namespace;
    this.labels = o.labels;
    this.owner = o.owner;
    this.workload = o.workload;
    this.serviceAccount = o.serviceAccount;
    this.createdAt = o.createdAt;
    this.containers = o.containers;
    this.resourceVersion = o.resourceVersion;
    this.readyChangedAt = o.createdAt;
  }

  get ready(): boolean {
    return this.phase === 'Running' && this.containers.every((c) => c.ready);
  }

  /** Serving traffic: ready and not deleted. */
  get serving(): boolean {
    return !this.deleted && this.ready;
  }

  /** The main (first) container. */
  get app(): ContainerModel {
    const c = this.containers[0];
    if (!c) throw new Error(`pod ${this.name} has no containers`);
    return c;
  }
}

export interface PodTemplate {
  /** Labels on the pods besides the selector and pod-template-hash. */
  labels: Record<string, string>;
  containers: ContainerSpec[];
  serviceAccount?: string;
}

export class ReplicaSetModel {
  readonly name: string;
  readonly uid: string;
  readonly hash: string;
  readonly namespace: string;
  readonly deployment: DeploymentModel;
  readonly revision: number;
  readonly template: PodTemplate;
  readonly createdAt: number;
  replicas = 0;
  readonly pods: PodModel[] = [];
  resourceVersion: number;
  readonly changeCause: string | undefined;

  constructor(o: {
    name: string;
    uid: string;
    hash: string;
    deployment: DeploymentModel;
    revision: number;
    template: PodTemplate;
    createdAt: number;
    resourceVersion: number;
    changeCause: string | undefined;
  }) {
    this.name = o.name;
    this.uid = o.uid;
    this.hash = o.hash;
    this.namespace = o.deployment.namespace;
    this.deployment = o.deployment;
    this.revision = o.revision;
    this.template = o.template;
    this.createdAt = o.createdAt;
    this.resourceVersion = o.resourceVersion;
    this.changeCause = o.changeCause;
  }

  livePods(): PodModel[] {
    return this.pods.filter((p) => !p.deleted);
  }
}

export class DeploymentModel {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly createdAt: number;
  replicas: number;
  maxSurge: string;
  maxUnavailable: string;
  generation = 1;
  readonly replicaSets: ReplicaSetModel[] = [];
  resourceVersion: number;
  progressDeadlineExceeded = false;
  /** Revision whose rollout completed (Progressing reason NewReplicaSetAvailable from then on). */
  completeRevision = 0;

  constructor(o: {
    name: string;
    uid: string;
    namespace: string;
    labels: Record<string, string>;
    selector: Record<string, string>;
    replicas: number;
    createdAt: number;
    maxSurge: string;
    maxUnavailable: string;
    resourceVersion: number;
  }) {
    this.name = o.name;
    this.uid = o.uid;
    this.namespace = o.namespace;
    this.labels = o.labels;
    this.selector = o.selector;
    this.replicas = o.replicas;
    this.createdAt = o.createdAt;
    this.maxSurge = o.maxSurge;
    this.maxUnavailable = o.maxUnavailable;
    this.resourceVersion = o.resourceVersion;
  }

  /** The newest ReplicaSet (highest revision). */
  get current(): ReplicaSetModel {
    const rs = this.replicaSets.reduce<ReplicaSetModel | undefined>(
      (a, b) => (!a || b.revision > a.revision ? b : a),
      undefined,
    );
    if (!rs) throw new Error(`deployment ${this.name} has no ReplicaSet`);
    return rs;
  }

  livePods(): PodModel[] {
    return this.replicaSets.flatMap((rs) => rs.livePods());
  }

  available(): number {
    return this.livePods().filter((p) => p.ready).length;
  }
}

/** StatefulSets and DaemonSets: pods owned directly, no rollout in these scenarios. */
export class DirectSetModel {
  readonly kind: 'StatefulSet' | 'DaemonSet';
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly template: PodTemplate;
  readonly createdAt: number;
  readonly pods: PodModel[] = [];
  readonly revisionHash: string;
  readonly serviceName: string | undefined;
  resourceVersion: number;

  constructor(o: {
    kind: 'StatefulSet' | 'DaemonSet';
    name: string;
    uid: string;
    namespace: string;
    labels: Record<string, string>;
    selector: Record<string, string>;
    template: PodTemplate;
    createdAt: number;
    revisionHash: string;
    serviceName?: string;
    resourceVersion: number;
  }) {
    this.kind = o.kind;
    this.name = o.name;
    this.uid = o.uid;
    this.namespace = o.namespace;
    this.labels = o.labels;
    this.selector = o.selector;
    this.template = o.template;
    this.createdAt = o.createdAt;
    this.revisionHash = o.revisionHash;
    this.serviceName = o.serviceName;
    this.resourceVersion = o.resourceVersion;
  }

  livePods(): PodModel[] {
    return this.pods.filter((p) => !p.deleted);
  }
}

export interface ServiceModel {
  name: string;
  uid: string;
  namespace: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  port: number;
  targetPort: number;
  clusterIp: string;
  createdAt: number;
  resourceVersion: number;
}

export interface NodeConditions {
  Ready: boolean | 'Unknown';
  MemoryPressure: boolean;
  DiskPressure: boolean;
  PIDPressure: boolean;
}

export class NodeModel {
  readonly name: string;
  readonly uid: string;
  readonly labels: Record<string, string>;
  readonly ip: string;
  readonly podCidr: string;
  readonly providerId: string;
  readonly cpu: number;
  readonly memory: number;
  readonly createdAt: number;
  conditions: NodeConditions = {
    Ready: true,
    MemoryPressure: false,
    DiskPressure: false,
    PIDPressure: false,
  };
  conditionSince: Record<keyof NodeConditions, number>;
  taints: { key: string; effect: string; timeAdded: number }[] = [];
  /** Working set of non-pod processes and page cache kubelet_stats reports on top of the pods. */
  systemMemory: number;
  nextPodIp = 10;
  resourceVersion: number;

  constructor(o: {
    name: string;
    uid: string;
    labels: Record<string, string>;
    ip: string;
    podCidr: string;
    providerId: string;
    cpu: number;
    memory: number;
    createdAt: number;
    resourceVersion: number;
  }) {
    this.name = o.name;
    this.uid = o.uid;
    this.labels = o.labels;
    this.ip = o.ip;
    this.podCidr = o.podCidr;
    this.providerId = o.providerId;
    this.cpu = o.cpu;
    this.memory = o.memory;
    this.createdAt = o.createdAt;
    this.resourceVersion = o.resourceVersion;
    this.systemMemory = Math.round(o.memory * 0.08);
    this.conditionSince = {
      Ready: o.createdAt,
      MemoryPressure: o.createdAt,
      DiskPressure: o.createdAt,
      PIDPressure: o.createdAt,
    };
  }
}

export interface HpaModel {
  name: string;
  uid: string;
  namespace: string;
  target: DeploymentModel;
  min: number;
  max: number;
  current: number;
  desired: number;
}

export interface DeploymentOptions {
  namespace: string;
  name: string;
  replicas: number;
  /** Deployment and pod labels besides `app` (team, app.kubernetes.io/part-of, …). */
  labels: Record<string, string>;
  containers: ContainerSpec[];
  /** History: one entry per past revision (oldest first); the last one is live. */
  revisions: { image: string; createdAt: number; changeCause?: string }[];
  maxSurge?: string;
  maxUnavailable?: string;
  /** Selector labels (default `{app: name}`); a canary shares `app` with the stable Deployment. */
  selector?: Record<string, string>;
  serviceAccount?: string;
}
