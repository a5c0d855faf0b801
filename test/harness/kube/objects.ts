// Builders for the objects a cluster would have, created through the real API server. No controllers
// run, so what a controller would do (a Deployment's ReplicaSets with ownerReferences and revision
// annotations, Pods with status, Events) the tests do here themselves.
import { createHash } from 'node:crypto';
import { K8S_NAME_ALPHABET } from '../../../src/stream/workload.ts';
import type { KubeClient } from './client.ts';

type Obj = Record<string, unknown> & {
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
  };
};

let seq = 0;
/** A DNS-1123 name no other test uses (namespace deletion never finishes without controllers). */
export function uniqueName(prefix: string): string {
  seq++;
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${seq}`.slice(0, 63);
}

const apps = (ns: string, plural: string) => `/apis/apps/v1/namespaces/${ns}/${plural}`;
const core = (ns: string, plural: string) => `/api/v1/namespaces/${ns}/${plural}`;

export interface NamespaceSpec {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function createNamespace(c: KubeClient, name: string, o: NamespaceSpec = {}): Promise<Obj> {
  return c.create<Obj>('/api/v1/namespaces', {
    metadata: { name, labels: o.labels ?? {}, annotations: o.annotations ?? {} },
  });
}

export interface DeploymentSpec {
  name: string;
  image: string;
  replicas?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Attributed in managedFields (who deployed it). */
  fieldManager?: string;
  changeCause?: string;
}

function containers(image: string) {
  return [{ name: 'app', image, resources: { limits: { memory: '1Gi' } } }];
}

/** A Deployment at revision 1 (its ReplicaSet is createReplicaSet's job). */
export function createDeployment(c: KubeClient, ns: string, d: DeploymentSpec): Promise<Obj> {
  return c.create<Obj>(
    apps(ns, 'deployments'),
    {
      metadata: {
        name: d.name,
        labels: { app: d.name, ...(d.labels ?? {}) },
        annotations: {
          'deployment.kubernetes.io/revision': '1',
          ...(d.changeCause ? { 'kubernetes.io/change-cause': d.changeCause } : {}),
          ...(d.annotations ?? {}),
        },
      },
      spec: {
        replicas: d.replicas ?? 2,
        selector: { matchLabels: { app: d.name } },
        template: { metadata: { labels: { app: d.name } }, spec: { containers: containers(d.image) } },
      },
    },
    { fieldManager: d.fieldManager ?? 'kubectl-client-side-apply' },
  );
}

const SAFE = K8S_NAME_ALPHABET;

/** The pod-template-hash the deployment controller would compute (any stable 10-char hash will do). */
export function templateHash(image: string): string {
  const h = createHash('sha256').update(image).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += SAFE[h[i]! % SAFE.length];
  return out;
}

/** A pod name suffix as generateName makes it. */
function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += SAFE[Math.floor(Math.random() * SAFE.length)];
  return out;
}

export interface ReplicaSetSpec {
  revision: number;
  image: string;
  replicas?: number;
  changeCause?: string;
}

/** A ReplicaSet owned by the Deployment, as the deployment controller makes it. */
export function createReplicaSet(c: KubeClient, ns: string, dep: Obj, r: ReplicaSetSpec): Promise<Obj> {
  const app = dep.metadata.name;
  const hash = templateHash(r.image);
  return c.create<Obj>(
    apps(ns, 'replicasets'),
    {
      metadata: {
        name: `${app}-${hash}`,
        labels: { app, 'pod-template-hash': hash },
        annotations: {
          'deployment.kubernetes.io/revision': String(r.revision),
          'deployment.kubernetes.io/desired-replicas': String(r.replicas ?? 2),
          ...(r.changeCause ? { 'kubernetes.io/change-cause': r.changeCause } : {}),
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: app,
            uid: dep.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: r.replicas ?? 2,
        selector: { matchLabels: { app, 'pod-template-hash': hash } },
        template: {
          metadata: { labels: { app, 'pod-template-hash': hash } },
          spec: { containers: containers(r.image) },
        },
      },
    },
    { fieldManager: 'kube-controller-manager' },
  );
}

export interface PodStatusSpec {
  phase?: string;
  restartCount?: number;
  ready?: boolean;
  /** state.waiting.reason, e.g. CrashLoopBackOff. */
  waitingReason?: string;
  /** lastState.terminated.reason, e.g. OOMKilled. */
  lastTerminationReason?: string;
}

export interface PodSpec {
  /** Defaults to `<replicaset>-<5 chars>`. */
  name?: string;
  node?: string;
  status?: PodStatusSpec;
  labels?: Record<string, string>;
}

/** A Pod owned by the ReplicaSet (with its labels and image), then its status set like a kubelet. */
export async function createPod(c: KubeClient, ns: string, rs: Obj, p: PodSpec = {}): Promise<Obj> {
  const spec = rs.spec as { template: { metadata: { labels: Record<string, string> }; spec: unknown } };
  const name = p.name ?? `${rs.metadata.name}-${randomSuffix()}`;
  const pod = await c.create<Obj>(core(ns, 'pods'), {
    metadata: {
      name,
      labels: { ...spec.template.metadata.labels, ...(p.labels ?? {}) },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: rs.metadata.name,
          uid: rs.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { ...(spec.template.spec as object), ...(p.node ? { nodeName: p.node } : {}) },
  });
  return setPodStatus(c, ns, pod, p.status ?? {});
}

/** Writes status through the status subresource, as the kubelet does. */
export function setPodStatus(c: KubeClient, ns: string, pod: Obj, s: PodStatusSpec): Promise<Obj> {
  const image = ((pod.spec as { containers: { image: string }[] }).containers[0] ?? { image: '' }).image;
  const now = new Date().toISOString();
  return c.merge<Obj>(`${core(ns, 'pods')}/${pod.metadata.name}/status`, {
    status: {
      phase: s.phase ?? 'Running',
      containerStatuses: [
        {
          name: 'app',
          image,
          imageID: '',
          ready: s.ready ?? !s.waitingReason,
          started: !s.waitingReason,
          restartCount: s.restartCount ?? 0,
          state: s.waitingReason ? { waiting: { reason: s.waitingReason } } : { running: { startedAt: now } },
          lastState: s.lastTerminationReason
            ? {
                terminated: {
                  reason: s.lastTerminationReason,
                  exitCode: 137,
                  startedAt: now,
                  finishedAt: now,
                },
              }
            : {},
        },
      ],
    },
  });
}

export function createService(
  c: KubeClient,
  ns: string,
  name: string,
  selector: Record<string, string>,
): Promise<Obj> {
  return c.create<Obj>(core(ns, 'services'), {
    metadata: { name },
    spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
  });
}

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
}

/** A Node with conditions (status subresource); Nodes are cluster-scoped, so use unique names. */
export async function createNode(
  c: KubeClient,
  name: string,
  conditions: NodeCondition[] = [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
  labels: Record<string, string> = {},
): Promise<Obj> {
  await c.create('/api/v1/nodes', { metadata: { name, labels } });
  const now = new Date().toISOString();
  return c.merge<Obj>(`/api/v1/nodes/${name}/status`, {
    status: {
      conditions: conditions.map((x) => ({
        ...x,
        reason: x.reason ?? x.type,
        message: '',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      })),
    },
  });
}

export interface RolloutSpec {
  image: string;
  changeCause?: string;
  /** Who changed the Deployment (managedFields), e.g. a CD pipeline. */
  fieldManager?: string;
  replicas?: number;
}

/**
 * What `kubectl set image` plus the deployment controller do: the Deployment's template and revision
 * change, a new ReplicaSet at the next revision is created, the old ones are scaled to 0, and the
 * Deployment's Progressing condition says so.
 */
export async function rollout(
  c: KubeClient,
  ns: string,
  depName: string,
  r: RolloutSpec,
): Promise<{ deployment: Obj; replicaSet: Obj }> {
  const path = `${apps(ns, 'deployments')}/${depName}`;
  const current = await c.get<Obj>(path);
  const revision =
    Number(
      (current.metadata as { annotations?: Record<string, string> }).annotations?.[
        'deployment.kubernetes.io/revision'
      ] ?? '1',
    ) + 1;
  const deployment = await c.merge<Obj>(
    path,
    {
      metadata: {
        annotations: {
          'deployment.kubernetes.io/revision': String(revision),
          ...(r.changeCause ? { 'kubernetes.io/change-cause': r.changeCause } : {}),
        },
      },
      spec: { template: { spec: { containers: containers(r.image) } } },
    },
    { fieldManager: r.fieldManager ?? 'kubectl-set' },
  );
  const old = await c.get<{ items: Obj[] }>(`${apps(ns, 'replicasets')}`);
  const replicaSet = await createReplicaSet(c, ns, deployment, {
    revision,
    image: r.image,
    replicas: r.replicas ?? 2,
    ...(r.changeCause ? { changeCause: r.changeCause } : {}),
  });
  for (const rs of old.items) {
    const owner = (rs.metadata as { ownerReferences?: { name: string }[] }).ownerReferences?.[0]?.name;
    if (owner === depName)
      await c.merge(
        `${apps(ns, 'replicasets')}/${rs.metadata.name}`,
        { spec: { replicas: 0 } },
        {
          fieldManager: 'kube-controller-manager',
        },
      );
  }
  await c.merge(`${path}/status`, {
    status: {
      observedGeneration: (deployment.metadata as { generation?: number }).generation ?? 2,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: '' },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${replicaSet.metadata.name}" has successfully progressed.`,
        },
      ],
    },
  });
  return { deployment, replicaSet };
}

export interface EventSpec {
  involvedObject: { kind: string; name: string; uid?: string; apiVersion?: string; fieldPath?: string };
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  count?: number;
}

/** A core/v1 Event, as the kubelet or a controller would record it. */
export function createEvent(c: KubeClient, ns: string, e: EventSpec): Promise<Obj> {
  const now = new Date().toISOString();
  return c.create<Obj>(core(ns, 'events'), {
    metadata: { name: `${e.involvedObject.name}.${Date.now().toString(16)}${seq++}` },
    involvedObject: { namespace: ns, apiVersion: 'v1', ...e.involvedObject },
    reason: e.reason,
    message: e.message,
    type: e.type ?? 'Warning',
    count: e.count ?? 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'kubelet' },
  });
}
