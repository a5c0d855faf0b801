// The simulated cluster: Nodes, Deployments with their ReplicaSets and Pods, StatefulSets, DaemonSets,
// Services and HPAs, mutated as a scenario's timeline runs. Telemetry (k8s_cluster / kubelet_stats
// scrapes, spans, logs) is read from this state, so metrics, events and the final snapshot agree.
// `toList()` prints the state the way
//   kubectl get pods,replicasets,deployments,statefulsets,daemonsets,services,nodes -A -o json
// does: a v1/List, grouped by resource in that order, each group sorted by namespace and name.
// The objects themselves are in objects.ts (re-exported here), their JSON in snapshot-json.ts.
import {
  ContainerModel,
  type ContainerSpec,
  DeploymentModel,
  type DeploymentOptions,
  DirectSetModel,
  type HpaModel,
  type Json,
  type JsonObject,
  NodeModel,
  PodModel,
  type PodTemplate,
  ReplicaSetModel,
  type ServiceModel,
} from './objects.ts';
import type { Prng } from './prng.ts';
import {
  deploymentJson,
  directSetJson,
  nodeJson,
  podJson,
  replicaSetJson,
  serviceJson,
} from './snapshot-json.ts';

export * from './objects.ts';

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
