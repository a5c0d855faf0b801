// The simulated cluster: Nodes, Deployments with their ReplicaSets and Pods, StatefulSets, DaemonSets,
// Services and HPAs, mutated as a scenario's timeline runs. Telemetry (k8s_cluster / kubelet_stats
// scrapes, spans, logs) is read from this state, so metrics, events and the final snapshot agree.
// `toList()` prints the state the way
//   kubectl get pods,replicasets,deployments,statefulsets,daemonsets,services,nodes -A -o json
// does: a v1/List, grouped by resource in that order, each group sorted by namespace and name.
import type { Prng } from './prng.ts';

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

/** The whole simulated cluster. All randomness comes from `rng` (the scenario's structure stream). */
export class ClusterModel {
  readonly nodes: NodeModel[] = [];
  readonly deployments: DeploymentModel[] = [];
  readonly directSets: DirectSetModel[] = [];
  readonly services: ServiceModel[] = [];
  readonly hpas: HpaModel[] = [];
  readonly #rng: Prng;
  #rv: number;

  constructor(rng: Prng) {
    this.#rng = rng;
    this.#rv = 48_000_000 + rng.int(0, 999_999);
  }

  nextRv(): number {
    this.#rv += 1 + this.#rng.int(0, 40);
    return this.#rv;
  }

  uid(): string {
    return this.#rng.uuid();
  }

  addNode(o: {
    name: string;
    zone: string;
    instanceType: string;
    cpu: number;
    memory: number;
    createdAt: number;
    labels?: Record<string, string>;
  }): NodeModel {
    const i = this.nodes.length;
    const ipParts = /ip-(\d+)-(\d+)-(\d+)-(\d+)/.exec(o.name);
    const ip = ipParts ? `${ipParts[1]}.${ipParts[2]}.${ipParts[3]}.${ipParts[4]}` : `10.0.${i}.10`;
    const n = new NodeModel({
      name: o.name,
      uid: this.uid(),
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'eks.amazonaws.com/nodegroup': 'general-a',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': o.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': o.instanceType,
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': o.zone,
        ...(o.labels ?? {}),
      },
      ip,
      podCidr: `10.42.${i + 1}.0/24`,
      providerId: `aws:///${o.zone}/i-0${this.#rng.hex(16)}`,
      cpu: o.cpu,
      memory: o.memory,
      createdAt: o.createdAt,
      resourceVersion: this.nextRv(),
    });
    this.nodes.push(n);
    return n;
  }

  node(name: string): NodeModel {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  deployment(namespace: string, name: string): DeploymentModel {
    const d = this.deployments.find((x) => x.namespace === namespace && x.name === name);
    if (!d) throw new Error(`no deployment ${namespace}/${name}`);
    return d;
  }

  addService(o: {
    namespace: string;
    name: string;
    selector: Record<string, string>;
    port: number;
    targetPort: number;
    labels?: Record<string, string>;
    createdAt: number;
  }): ServiceModel {
    const s: ServiceModel = {
      name: o.name,
      uid: this.uid(),
      namespace: o.namespace,
      labels: o.labels ?? {},
      selector: o.selector,
      port: o.port,
      targetPort: o.targetPort,
      clusterIp: `172.20.${this.#rng.int(0, 255)}.${this.#rng.int(1, 254)}`,
      createdAt: o.createdAt,
      resourceVersion: this.nextRv(),
    };
    this.services.push(s);
    return s;
  }

  addHpa(o: { target: DeploymentModel; min: number; max: number }): HpaModel {
    const h: HpaModel = {
      name: o.target.name,
      uid: this.uid(),
      namespace: o.target.namespace,
      target: o.target,
      min: o.min,
      max: o.max,
      current: o.target.replicas,
      desired: o.target.replicas,
    };
    this.hpas.push(h);
    return h;
  }

  /**
   * A Deployment with its revision history already in place at `now`: one ReplicaSet per past
   * revision (scaled to 0) and the live one with running, ready pods spread over the nodes.
   */
  addDeployment(o: DeploymentOptions, now: number): DeploymentModel {
    const selector = o.selector ?? { app: o.name };
    const first = o.revisions[0];
    if (!first) throw new Error(`deployment ${o.name} needs at least one revision`);
    const d = new DeploymentModel({
      name: o.name,
      uid: this.uid(),
      namespace: o.namespace,
      labels: { ...selector, ...o.labels },
      selector,
      replicas: o.replicas,
      createdAt: first.createdAt,
      maxSurge: o.maxSurge ?? '25%',
      maxUnavailable: o.maxUnavailable ?? '25%',
      resourceVersion: this.nextRv(),
    });
    this.deployments.push(d);
    o.revisions.forEach((rev, i) => {
      const rs = this.newReplicaSet(
        d,
        {
          labels: { ...selector, ...o.labels },
          containers: o.containers.map((c, j) => (j === 0 ? { ...c, image: rev.image } : c)),
          serviceAccount: o.serviceAccount ?? o.name,
        },
        rev.createdAt,
        rev.changeCause,
      );
      d.generation = i + 1;
      if (i === o.revisions.length - 1) {
        d.completeRevision = rs.revision;
        rs.replicas = o.replicas;
        for (let k = 0; k < o.replicas; k++) {
          const p = this.createPod(rs, Math.max(rev.createdAt, now - this.#rng.int(3600_000, 30 * 3600_000)));
          this.schedule(p, this.nodeFor(p), p.createdAt + 1000);
          this.startRunning(p, p.createdAt + this.#rng.int(4000, 15_000));
        }
      }
    });
    return d;
  }

  addDirectSet(
    o: {
      kind: 'StatefulSet' | 'DaemonSet';
      namespace: string;
      name: string;
      labels: Record<string, string>;
      containers: ContainerSpec[];
      replicas?: number;
      createdAt: number;
      serviceName?: string;
    },
    now: number,
  ): DirectSetModel {
    const selector: Record<string, string> =
      o.kind === 'DaemonSet' ? { 'app.kubernetes.io/name': o.name } : { app: o.name };
    const set = new DirectSetModel({
      kind: o.kind,
      name: o.name,
      uid: this.uid(),
      namespace: o.namespace,
      labels: { ...selector, ...o.labels },
      selector,
      template: { labels: { ...selector, ...o.labels }, containers: o.containers, serviceAccount: o.name },
      createdAt: o.createdAt,
      revisionHash: this.#rng.k8sSuffix(10),
      serviceName: o.serviceName,
      resourceVersion: this.nextRv(),
    });
    this.directSets.push(set);
    const count = o.kind === 'DaemonSet' ? this.nodes.length : (o.replicas ?? 1);
    for (let i = 0; i < count; i++) {
      const name = o.kind === 'StatefulSet' ? `${o.name}-${i}` : `${o.name}-${this.#rng.k8sSuffix(5)}`;
      const created = Math.max(o.createdAt, now - this.#rng.int(3600_000, 48 * 3600_000));
      const labels: Record<string, string> = {
        ...set.template.labels,
        'controller-revision-hash':
          o.kind === 'StatefulSet' ? `${o.name}-${set.revisionHash}` : set.revisionHash,
      };
      if (o.kind === 'StatefulSet') labels['statefulset.kubernetes.io/pod-name'] = name;
      else labels['pod-template-generation'] = '1';
      const p = new PodModel({
        name,
        uid: this.uid(),
        namespace: o.namespace,
        labels,
        owner: { kind: o.kind, name: o.name, uid: set.uid },
        workload: { kind: o.kind, name: o.name, uid: set.uid },
        serviceAccount: o.name,
        createdAt: created,
        containers: o.containers.map((c) => new ContainerModel(c, this.imageId(c.image))),
        resourceVersion: this.nextRv(),
      });
      set.pods.push(p);
      const node = o.kind === 'DaemonSet' ? this.nodes[i] : this.nodeFor(p);
      if (!node) throw new Error('no node for pod');
      this.schedule(p, node, created + 1000);
      this.startRunning(p, created + this.#rng.int(4000, 15_000));
    }
    return set;
  }

  /** A new ReplicaSet (next revision) for the Deployment's template; 0 replicas until scaled. */
  newReplicaSet(
    d: DeploymentModel,
    template: PodTemplate,
    at: number,
    changeCause?: string,
  ): ReplicaSetModel {
    const hash = this.#rng.k8sSuffix(this.#rng.chance(0.5) ? 9 : 10);
    const revision = d.replicaSets.length ? d.current.revision + 1 : 1;
    const rs = new ReplicaSetModel({
      name: `${d.name}-${hash}`,
      uid: this.uid(),
      hash,
      deployment: d,
      revision,
      template,
      createdAt: at,
      resourceVersion: this.nextRv(),
      changeCause,
    });
    d.replicaSets.push(rs);
    d.resourceVersion = this.nextRv();
    return rs;
  }

  imageId(image: string): string {
    const repo = image.includes(':') ? image.slice(0, image.lastIndexOf(':')) : image;
    return `${repo}@sha256:${this.#rng.hex(64)}`;
  }

  /** A pod created by the ReplicaSet controller (Pending, not yet scheduled). */
  createPod(rs: ReplicaSetModel, at: number): PodModel {
    const p = new PodModel({
      name: `${rs.name}-${this.#rng.k8sSuffix(5)}`,
      uid: this.uid(),
      namespace: rs.namespace,
      labels: { ...rs.template.labels, 'pod-template-hash': rs.hash },
      owner: { kind: 'ReplicaSet', name: rs.name, uid: rs.uid },
      workload: { kind: 'Deployment', name: rs.deployment.name, uid: rs.deployment.uid },
      serviceAccount: rs.template.serviceAccount ?? rs.deployment.name,
      createdAt: at,
      containers: rs.template.containers.map((c) => new ContainerModel(c, this.imageId(c.image))),
      resourceVersion: this.nextRv(),
    });
    rs.pods.push(p);
    return p;
  }

  /** The node with the fewest pods (ties: first), like a spreading scheduler. */
  nodeFor(_p: PodModel): NodeModel {
    const counts = new Map<string, number>();
    for (const pod of this.pods()) if (pod.node) counts.set(pod.node, (counts.get(pod.node) ?? 0) + 1);
    const ready = this.nodes.filter((n) => n.conditions.Ready === true && !n.taints.length);
    const pool = ready.length ? ready : this.nodes;
    let best = pool[0];
    if (!best) throw new Error('cluster has no nodes');
    for (const n of pool) if ((counts.get(n.name) ?? 0) < (counts.get(best.name) ?? 0)) best = n;
    return best;
  }

  schedule(p: PodModel, node: NodeModel, at: number): void {
    p.node = node.name;
    p.hostIp = node.ip;
    const base = node.podCidr.replace(/\.0\/24$/, '');
    p.ip = `${base}.${node.nextPodIp++}`;
    p.scheduledAt = at;
    p.unschedulable = undefined;
    p.resourceVersion = this.nextRv();
  }

  /** All containers started and ready. */
  startRunning(p: PodModel, at: number): void {
    p.phase = 'Running';
    p.startedAt = p.startedAt || at;
    for (const c of p.containers) {
      c.containerId = this.#rng.hex(64);
      c.state = { kind: 'running', startedAt: at };
      c.started = true;
      c.ready = true;
    }
    p.readyChangedAt = at;
    p.resourceVersion = this.nextRv();
  }

  /** The container exited (OOMKilled, Error…); the kubelet restarts it or backs off. */
  terminate(
    p: PodModel,
    c: ContainerModel,
    reason: string,
    exitCode: number,
    at: number,
    next: 'running' | 'backoff',
  ): void {
    const startedAt = c.state.kind === 'running' ? c.state.startedAt : at - 1000;
    c.last = { reason, exitCode, startedAt, finishedAt: at, containerId: c.containerId };
    c.restartCount++;
    c.ready = false;
    c.memWorkingSet = undefined;
    if (next === 'running') {
      c.containerId = this.#rng.hex(64);
      c.state = { kind: 'running', startedAt: at + 1000 };
    } else {
      c.state = {
        kind: 'waiting',
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.min(300, 10 * 2 ** Math.min(c.restartCount - 1, 5))}s restarting failed container=${c.spec.name} pod=${p.name}_${p.namespace}(${p.uid})`,
      };
    }
    p.readyChangedAt = at;
    p.resourceVersion = this.nextRv();
  }

  /** Back-off over: a fresh container starts (not ready until its probe passes). */
  restartContainer(p: PodModel, c: ContainerModel, at: number): void {
    c.containerId = this.#rng.hex(64);
    c.state = { kind: 'running', startedAt: at };
    c.ready = false;
    p.resourceVersion = this.nextRv();
  }

  setReady(p: PodModel, c: ContainerModel, ready: boolean, at: number): void {
    if (c.ready === ready) return;
    c.ready = ready;
    p.readyChangedAt = at;
    p.resourceVersion = this.nextRv();
  }

  setWaiting(p: PodModel, c: ContainerModel, reason: string, message: string): void {
    c.state = { kind: 'waiting', reason, message };
    c.ready = false;
    p.resourceVersion = this.nextRv();
  }

  /** The ReplicaSet controller deletes a pod (graceful termination is not modelled). */
  deletePod(p: PodModel): void {
    p.deleted = true;
  }

  /** Kubelet eviction: the pod stays in the API as Failed/Evicted until garbage-collected. */
  evict(p: PodModel, message: string, at: number): void {
    p.phase = 'Failed';
    p.reason = 'Evicted';
    p.message = message;
    for (const c of p.containers) {
      const startedAt = c.state.kind === 'running' ? c.state.startedAt : at;
      c.state = {
        kind: 'terminated',
        reason: 'ContainerStatusUnknown',
        exitCode: 137,
        startedAt,
        finishedAt: at,
      };
      c.ready = false;
    }
    p.readyChangedAt = at;
    p.resourceVersion = this.nextRv();
  }

  /** Scales a ReplicaSet, creating pods (Pending) or deleting the newest ones. */
  scaleReplicaSet(
    rs: ReplicaSetModel,
    replicas: number,
    at: number,
  ): { created: PodModel[]; deleted: PodModel[] } {
    rs.replicas = replicas;
    rs.resourceVersion = this.nextRv();
    const created: PodModel[] = [];
    const deleted: PodModel[] = [];
    const live = rs.livePods().filter((p) => p.phase !== 'Failed');
    for (let i = live.length; i < replicas; i++) created.push(this.createPod(rs, at));
    if (live.length > replicas) {
      // Pending before not-ready before ready, newest first (the controller's deletion ranking).
      const rank = (p: PodModel) => (p.phase === 'Pending' ? 0 : p.ready ? 2 : 1);
      const victims = [...live].sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
      for (const p of victims.slice(0, live.length - replicas)) {
        this.deletePod(p);
        deleted.push(p);
      }
    }
    return { created, deleted };
  }

  pods(): PodModel[] {
    const out: PodModel[] = [];
    for (const d of this.deployments) for (const rs of d.replicaSets) out.push(...rs.livePods());
    for (const s of this.directSets) out.push(...s.livePods());
    return out;
  }

  /** Serving pods behind a Service (its selector over every live pod in the namespace). */
  endpoints(s: ServiceModel): PodModel[] {
    return this.pods().filter(
      (p) =>
        p.namespace === s.namespace &&
        p.serving &&
        Object.entries(s.selector).every(([k, v]) => p.labels[k] === v),
    );
  }

  /** `kubectl get pods,replicasets,deployments,statefulsets,daemonsets,services,nodes -A -o json`. */
  toList(): JsonObject {
    const byNsName = <T extends { namespace: string; name: string }>(a: T, b: T) =>
      a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace);
    const rss = this.deployments.flatMap((d) => d.replicaSets);
    const items: Json[] = [
      ...[...this.pods()].sort(byNsName).map((p) => podJson(p)),
      ...[...rss].sort(byNsName).map((rs) => replicaSetJson(rs)),
      ...[...this.deployments].sort(byNsName).map((d) => deploymentJson(d)),
      ...this.directSets
        .filter((s) => s.kind === 'StatefulSet')
        .sort(byNsName)
        .map((s) => directSetJson(s)),
      ...this.directSets
        .filter((s) => s.kind === 'DaemonSet')
        .sort(byNsName)
        .map((s) => directSetJson(s, this.nodes.length)),
      ...[...this.services].sort(byNsName).map((s) => serviceJson(s)),
      ...[...this.nodes].sort((a, b) => cmp(a.name, b.name)).map((n) => nodeJson(n)),
    ];
    return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function quantityMem(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}Gi`;
  if (bytes % MiB === 0) return `${bytes / MiB}Mi`;
  return `${Math.round(bytes / 1024)}Ki`;
}

function quantityCpu(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}

function resourcesJson(c: ContainerSpec): JsonObject {
  const limits: JsonObject = { memory: quantityMem(c.memLimit) };
  if (c.cpuLimit !== undefined) limits.cpu = quantityCpu(c.cpuLimit);
  return { limits, requests: { cpu: quantityCpu(c.cpuRequest), memory: quantityMem(c.memRequest) } };
}

function containerSpecJson(c: ContainerSpec): JsonObject {
  const o: JsonObject = {};
  const envFrom: Json[] = [
    ...(c.configMaps ?? []).map((name) => ({ configMapRef: { name } })),
    ...(c.secrets ?? []).map((name) => ({ secretRef: { name } })),
  ];
  if (envFrom.length) o.envFrom = envFrom;
  o.image = c.image;
  o.imagePullPolicy = 'IfNotPresent';
  o.name = c.name;
  o.ports = [{ containerPort: c.port, name: 'http', protocol: 'TCP' }];
  if (c.readinessPath) {
    o.readinessProbe = {
      failureThreshold: 3,
      httpGet: { path: c.readinessPath, port: 'http', scheme: 'HTTP' },
      periodSeconds: 10,
      successThreshold: 1,
      timeoutSeconds: 1,
    };
  }
  o.resources = resourcesJson(c);
  o.terminationMessagePath = '/dev/termination-log';
  o.terminationMessagePolicy = 'File';
  return o;
}

function templateJson(t: PodTemplate, extraLabels: Record<string, string> = {}): JsonObject {
  return {
    metadata: { creationTimestamp: null, labels: sortKeys({ ...t.labels, ...extraLabels }) },
    spec: {
      containers: t.containers.map(containerSpecJson),
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: t.serviceAccount ?? 'default',
      serviceAccountName: t.serviceAccount ?? 'default',
      terminationGracePeriodSeconds: 30,
    },
  };
}

function sortKeys(o: Record<string, string>): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k] ?? '';
  return out;
}

function stateJson(s: ContainerState, containerId: string): JsonObject {
  switch (s.kind) {
    case 'running':
      return { running: { startedAt: k8sTime(s.startedAt) } };
    case 'waiting':
      return { waiting: s.message ? { message: s.message, reason: s.reason } : { reason: s.reason } };
    case 'terminated':
      return {
        terminated: {
          containerID: containerId ? `containerd://${containerId}` : '',
          exitCode: s.exitCode,
          finishedAt: k8sTime(s.finishedAt),
          reason: s.reason,
          startedAt: k8sTime(s.startedAt),
        },
      };
  }
}

function podJson(p: PodModel): JsonObject {
  const cond = (type: string, status: boolean, at: number, extra: JsonObject = {}): JsonObject => ({
    lastProbeTime: null,
    lastTransitionTime: k8sTime(at),
    ...extra,
    status: status ? 'True' : 'False',
    type,
  });
  const status: JsonObject = {};
  if (p.node) {
    const notReady = p.containers.filter((c) => !c.ready).map((c) => c.spec.name);
    const why: JsonObject = notReady.length
      ? { message: `containers with unready status: [${notReady.join(' ')}]`, reason: 'ContainersNotReady' }
      : {};
    status.conditions = [
      cond('PodReadyToStartContainers', p.phase !== 'Failed', p.scheduledAt + 2000),
      cond('Initialized', true, p.scheduledAt),
      cond('Ready', p.ready, p.readyChangedAt, why),
      cond('ContainersReady', p.ready, p.readyChangedAt, why),
      cond('PodScheduled', true, p.scheduledAt),
    ];
    status.containerStatuses = p.containers.map((c) => {
      const cs: JsonObject = {};
      if (c.containerId) cs.containerID = `containerd://${c.containerId}`;
      cs.image = c.spec.image;
      cs.imageID = c.state.kind === 'waiting' && !c.containerId ? '' : c.imageId;
      cs.lastState = c.last
        ? {
            terminated: {
              containerID: `containerd://${c.last.containerId}`,
              exitCode: c.last.exitCode,
              finishedAt: k8sTime(c.last.finishedAt),
              reason: c.last.reason,
              startedAt: k8sTime(c.last.startedAt),
            },
          }
        : {};
      cs.name = c.spec.name;
      cs.ready = c.ready;
      cs.restartCount = c.restartCount;
      cs.started = c.state.kind === 'running';
      cs.state = stateJson(c.state, c.containerId);
      return cs;
    });
    status.hostIP = p.hostIp;
    status.hostIPs = [{ ip: p.hostIp }];
    if (p.reason) status.message = p.message;
    status.phase = p.phase;
    if (p.phase !== 'Failed') {
      status.podIP = p.ip;
      status.podIPs = [{ ip: p.ip }];
    }
    status.qosClass = 'Burstable';
    if (p.reason) status.reason = p.reason;
    status.startTime = k8sTime(p.scheduledAt);
  } else {
    status.conditions = [
      cond('PodScheduled', false, p.unschedulable?.at ?? p.createdAt, {
        message: p.unschedulable?.message ?? '',
        reason: 'Unschedulable',
      }),
    ];
    status.phase = 'Pending';
    status.qosClass = 'Burstable';
  }
  const containers = p.containers.map((c) => containerSpecJson(c.spec));
  const spec: JsonObject = {
    containers,
    dnsPolicy: 'ClusterFirst',
    enableServiceLinks: true,
  };
  if (p.node) spec.nodeName = p.node;
  Object.assign(spec, {
    preemptionPolicy: 'PreemptLowerPriority',
    priority: 0,
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    securityContext: {},
    serviceAccount: p.serviceAccount,
    serviceAccountName: p.serviceAccount,
    terminationGracePeriodSeconds: 30,
    tolerations: [
      {
        effect: 'NoExecute',
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        tolerationSeconds: 300,
      },
      {
        effect: 'NoExecute',
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        tolerationSeconds: 300,
      },
    ],
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      creationTimestamp: k8sTime(p.createdAt),
      generateName: `${p.owner.name}-`,
      labels: sortKeys(p.labels),
      name: p.name,
      namespace: p.namespace,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: p.owner.kind,
          name: p.owner.name,
          uid: p.owner.uid,
        },
      ],
      resourceVersion: String(p.resourceVersion),
      uid: p.uid,
    },
    spec,
    status,
  };
}

function replicaSetJson(rs: ReplicaSetModel): JsonObject {
  const pods = rs.livePods().filter((p) => p.phase !== 'Failed');
  const ready = pods.filter((p) => p.ready).length;
  const annotations: Record<string, string> = {
    'deployment.kubernetes.io/desired-replicas': String(rs.deployment.replicas),
    'deployment.kubernetes.io/max-replicas': String(rs.deployment.replicas + surge(rs.deployment)),
    'deployment.kubernetes.io/revision': String(rs.revision),
  };
  if (rs.changeCause) annotations['kubernetes.io/change-cause'] = rs.changeCause;
  const status: JsonObject = {};
  if (ready) status.availableReplicas = ready;
  status.fullyLabeledReplicas = pods.length;
  status.observedGeneration = 1;
  if (ready) status.readyReplicas = ready;
  status.replicas = pods.length;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      annotations: sortKeys(annotations),
      creationTimestamp: k8sTime(rs.createdAt),
      generation: 1,
      labels: sortKeys({ ...rs.template.labels, 'pod-template-hash': rs.hash }),
      name: rs.name,
      namespace: rs.namespace,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'Deployment',
          name: rs.deployment.name,
          uid: rs.deployment.uid,
        },
      ],
      resourceVersion: String(rs.resourceVersion),
      uid: rs.uid,
    },
    spec: {
      replicas: rs.replicas,
      selector: { matchLabels: sortKeys({ ...rs.deployment.selector, 'pod-template-hash': rs.hash }) },
      template: templateJson(rs.template, { 'pod-template-hash': rs.hash }),
    },
    status,
  };
}

function surge(d: DeploymentModel): number {
  const v = d.maxSurge;
  return v.endsWith('%') ? Math.ceil((d.replicas * Number.parseInt(v, 10)) / 100) : Number.parseInt(v, 10);
}

function deploymentJson(d: DeploymentModel): JsonObject {
  const cur = d.current;
  const pods = d.livePods().filter((p) => p.phase !== 'Failed');
  const available = pods.filter((p) => p.ready).length;
  const updated = cur.livePods().filter((p) => p.phase !== 'Failed').length;
  const annotations: Record<string, string> = { 'deployment.kubernetes.io/revision': String(cur.revision) };
  if (cur.changeCause) annotations['kubernetes.io/change-cause'] = cur.changeCause;
  const minAvailable = d.replicas - unavailable(d);
  const status: JsonObject = {};
  if (available) status.availableReplicas = available;
  status.conditions = [
    {
      lastTransitionTime: k8sTime(cur.createdAt),
      lastUpdateTime: k8sTime(cur.createdAt),
      message:
        available >= minAvailable
          ? 'Deployment has minimum availability.'
          : 'Deployment does not have minimum availability.',
      reason: available >= minAvailable ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      status: available >= minAvailable ? 'True' : 'False',
      type: 'Available',
    },
    d.progressDeadlineExceeded
      ? {
          lastTransitionTime: k8sTime(cur.createdAt + 600_000),
          lastUpdateTime: k8sTime(cur.createdAt + 600_000),
          message: `ReplicaSet "${cur.name}" has timed out progressing.`,
          reason: 'ProgressDeadlineExceeded',
          status: 'False',
          type: 'Progressing',
        }
      : {
          lastTransitionTime: k8sTime(cur.createdAt),
          lastUpdateTime: k8sTime(cur.createdAt),
          message:
            d.completeRevision === cur.revision
              ? `ReplicaSet "${cur.name}" has successfully progressed.`
              : `ReplicaSet "${cur.name}" is progressing.`,
          reason: d.completeRevision === cur.revision ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
          status: 'True',
          type: 'Progressing',
        },
  ];
  status.observedGeneration = d.generation;
  if (available) status.readyReplicas = available;
  status.replicas = pods.length;
  if (pods.length - available > 0) status.unavailableReplicas = pods.length - available;
  status.updatedReplicas = updated;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      annotations: sortKeys(annotations),
      creationTimestamp: k8sTime(d.createdAt),
      generation: d.generation,
      labels: sortKeys(d.labels),
      name: d.name,
      namespace: d.namespace,
      resourceVersion: String(d.resourceVersion),
      uid: d.uid,
    },
    spec: {
      progressDeadlineSeconds: 600,
      replicas: d.replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: sortKeys(d.selector) },
      strategy: {
        rollingUpdate: { maxSurge: pct(d.maxSurge), maxUnavailable: pct(d.maxUnavailable) },
        type: 'RollingUpdate',
      },
      template: templateJson(cur.template),
    },
    status,
  };
}

function pct(v: string): Json {
  return v.endsWith('%') ? v : Number.parseInt(v, 10);
}

function unavailable(d: DeploymentModel): number {
  const v = d.maxUnavailable;
  return v.endsWith('%') ? Math.floor((d.replicas * Number.parseInt(v, 10)) / 100) : Number.parseInt(v, 10);
}

function directSetJson(s: DirectSetModel, nodes = 0): JsonObject {
  const pods = s.livePods();
  const ready = pods.filter((p) => p.ready).length;
  const meta: JsonObject = {
    annotations: s.kind === 'DaemonSet' ? { 'deprecated.daemonset.template.generation': '1' } : {},
    creationTimestamp: k8sTime(s.createdAt),
    generation: 1,
    labels: sortKeys(s.labels),
    name: s.name,
    namespace: s.namespace,
    resourceVersion: String(s.resourceVersion),
    uid: s.uid,
  };
  if (s.kind === 'StatefulSet') {
    return {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta,
      spec: {
        podManagementPolicy: 'OrderedReady',
        replicas: pods.length,
        revisionHistoryLimit: 10,
        selector: { matchLabels: sortKeys(s.selector) },
        serviceName: s.serviceName ?? s.name,
        template: templateJson(s.template),
        updateStrategy: { rollingUpdate: { partition: 0 }, type: 'RollingUpdate' },
      },
      status: {
        availableReplicas: ready,
        collisionCount: 0,
        currentReplicas: pods.length,
        currentRevision: `${s.name}-${s.revisionHash}`,
        observedGeneration: 1,
        readyReplicas: ready,
        replicas: pods.length,
        updateRevision: `${s.name}-${s.revisionHash}`,
        updatedReplicas: pods.length,
      },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta,
    spec: {
      revisionHistoryLimit: 10,
      selector: { matchLabels: sortKeys(s.selector) },
      template: templateJson(s.template),
      updateStrategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 }, type: 'RollingUpdate' },
    },
    status: {
      currentNumberScheduled: nodes,
      desiredNumberScheduled: nodes,
      numberAvailable: ready,
      numberMisscheduled: 0,
      numberReady: ready,
      observedGeneration: 1,
      updatedNumberScheduled: nodes,
    },
  };
}

function serviceJson(s: ServiceModel): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      creationTimestamp: k8sTime(s.createdAt),
      labels: sortKeys(s.labels),
      name: s.name,
      namespace: s.namespace,
      resourceVersion: String(s.resourceVersion),
      uid: s.uid,
    },
    spec: {
      clusterIP: s.clusterIp,
      clusterIPs: [s.clusterIp],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'http', port: s.port, protocol: 'TCP', targetPort: s.targetPort }],
      selector: sortKeys(s.selector),
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  };
}

function nodeJson(n: NodeModel): JsonObject {
  const c = n.conditions;
  const cond = (type: keyof NodeConditions, status: string, reason: string, message: string): JsonObject => ({
    lastHeartbeatTime: k8sTime(n.conditionSince[type]),
    lastTransitionTime: k8sTime(n.conditionSince[type]),
    message,
    reason,
    status,
    type,
  });
  const unknown = c.Ready === 'Unknown';
  const lost = (t: keyof NodeConditions) =>
    cond(t, 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.');
  const memPressure = unknown
    ? lost('MemoryPressure')
    : c.MemoryPressure
      ? cond(
          'MemoryPressure',
          'True',
          'KubeletHasInsufficientMemory',
          'kubelet has insufficient memory available',
        )
      : cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        );
  const diskPressure = unknown
    ? lost('DiskPressure')
    : cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure');
  const pidPressure = unknown
    ? lost('PIDPressure')
    : cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available');
  const allocMem = n.memory - 700 * MiB;
  const spec: JsonObject = { podCIDR: n.podCidr, podCIDRs: [n.podCidr], providerID: n.providerId };
  if (n.taints.length)
    spec.taints = n.taints.map((t) => ({ effect: t.effect, key: t.key, timeAdded: k8sTime(t.timeAdded) }));
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations: {
        'alpha.kubernetes.io/provided-node-ip': n.ip,
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      creationTimestamp: k8sTime(n.createdAt),
      labels: sortKeys(n.labels),
      name: n.name,
      resourceVersion: String(n.resourceVersion),
      uid: n.uid,
    },
    spec,
    status: {
      addresses: [
        { address: n.ip, type: 'InternalIP' },
        { address: n.name, type: 'InternalDNS' },
        { address: n.name, type: 'Hostname' },
      ],
      allocatable: {
        cpu: `${n.cpu * 1000 - 90}m`,
        'ephemeral-storage': '95491281146',
        memory: `${Math.round(allocMem / 1024)}Ki`,
        pods: '58',
      },
      capacity: {
        cpu: String(n.cpu),
        'ephemeral-storage': '104845292Ki',
        memory: `${Math.round(n.memory / 1024)}Ki`,
        pods: '58',
      },
      conditions: [
        memPressure,
        diskPressure,
        pidPressure,
        unknown
          ? lost('Ready')
          : cond(
              'Ready',
              c.Ready ? 'True' : 'False',
              c.Ready ? 'KubeletReady' : 'KubeletNotReady',
              c.Ready
                ? 'kubelet is posting ready status'
                : 'PLEG is not healthy: pleg was last seen active 3m2.5s ago',
            ),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: `${n.uid.slice(0, 24)}${n.providerId.slice(-12)}`,
        containerRuntimeVersion: 'containerd://1.7.27',
        kernelVersion: '6.1.141-155.222.amzn2023.x86_64',
        kubeProxyVersion: '',
        kubeletVersion: 'v1.33.1-eks-b9364f6',
        machineID: n.uid.replace(/-/g, ''),
        operatingSystem: 'linux',
        osImage: 'Amazon Linux 2023.7.20250623',
        systemUUID: n.uid,
      },
    },
  };
}
