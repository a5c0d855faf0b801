// Raw Kubernetes objects as the API server returns them (what `kubectl get … -o json` prints), for
// snapshot tests and bench/enrich-memory.ts. Shapes are realistic on purpose (managedFields, env,
// probes, status): the projection must drop them, and the memory figure must reflect real objects.

import { fnv1a } from '../../src/sim/prng.ts';
import { K8S_NAME_ALPHABET } from '../../src/stream/workload.ts';

export interface FixtureOptions {
  namespace?: string;
  /** ISO time of the first revision; later revisions are an hour apart. */
  start?: string;
}

type Raw = Record<string, unknown>;

let uidSeq = 0;
const uid = () => {
  uidSeq++;
  const h = uidSeq.toString(16).padStart(12, '0');
  return `5b7c2a1e-0000-4000-8000-${h}`;
};

function managedFields(manager: string, at: string, template: boolean): Raw[] {
  return [
    {
      manager,
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: at,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': template
          ? { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': {} } } } }
          : { 'f:replicas': {} },
      },
    },
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: at,
      fieldsType: 'FieldsV1',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:replicas': {}, 'f:readyReplicas': {} } },
    },
  ];
}

function podSpec(image: string, node: string): Raw {
  return {
    containers: [
      {
        name: 'app',
        image,
        ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }],
        env: [
          { name: 'OTEL_SERVICE_NAME', value: 'app' },
          { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector:4317' },
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
        ],
        resources: { limits: { memory: '1Gi', cpu: '1' }, requests: { memory: '512Mi', cpu: '250m' } },
        readinessProbe: { httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' }, periodSeconds: 5 },
        livenessProbe: { httpGet: { path: '/live', port: 8080, scheme: 'HTTP' }, periodSeconds: 10 },
        volumeMounts: [
          {
            name: 'kube-api-access',
            mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
            readOnly: true,
          },
        ],
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      },
      {
        name: 'istio-proxy',
        image: 'docker.io/istio/proxyv2:1.24.2',
        resources: { limits: { memory: '256Mi' }, requests: { memory: '128Mi', cpu: '100m' } },
      },
    ],
    nodeName: node,
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
    schedulerName: 'default-scheduler',
    tolerations: [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ],
    volumes: [
      { name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
    ],
  };
}

export interface AppFixture {
  name: string;
  team?: string;
  /** Images of revisions 1..n (the last is current). */
  images: string[];
  replicas: number;
  changeCauses?: (string | undefined)[];
  /** Who made the latest change (managedFields on the Deployment). */
  deployer?: string;
  nodes?: string[];
}

/** `n` in Kubernetes' name alphabet, `len` characters (pod-template-hash, pod suffixes). */
const safeEncode = (n: number, len: number) => {
  const a = K8S_NAME_ALPHABET;
  let out = '';
  for (let i = 0; i < len; i++, n = Math.floor(n / a.length)) out = a[n % a.length]! + out;
  return out;
};
const hashOf = (s: string) => safeEncode(fnv1a(s), 7);

/** A Deployment with one ReplicaSet per revision, `replicas` pods on the newest, and a Service. */
export function appObjects(app: AppFixture, o: FixtureOptions = {}): Raw[] {
  const ns = o.namespace ?? 'shop';
  const t0 = Date.parse(o.start ?? '2026-11-28T09:00:00Z');
  const at = (i: number) => new Date(t0 + i * 3_600_000).toISOString();
  const n = app.images.length;
  const depUid = uid();
  const labels = {
    app: app.name,
    'app.kubernetes.io/name': app.name,
    ...(app.team ? { team: app.team } : {}),
  };
  const out: Raw[] = [];
  out.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: app.name,
      namespace: ns,
      uid: depUid,
      resourceVersion: String(1000 + uidSeq),
      generation: n,
      creationTimestamp: at(0),
      labels,
      annotations: {
        'deployment.kubernetes.io/revision': String(n),
        ...(app.changeCauses?.[n - 1] ? { 'kubernetes.io/change-cause': app.changeCauses[n - 1] } : {}),
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
          spec: { replicas: app.replicas },
        }),
      },
      managedFields: managedFields(app.deployer ?? 'kubectl-client-side-apply', at(n - 1), true),
    },
    spec: {
      replicas: app.replicas,
      selector: { matchLabels: { app: app.name } },
      template: { metadata: { labels: { app: app.name } }, spec: podSpec(app.images[n - 1]!, '') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    },
    status: {
      observedGeneration: n,
      replicas: app.replicas,
      readyReplicas: app.replicas,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'progressed' },
      ],
    },
  });
  let current: { name: string; uid: string; hash: string } | undefined;
  for (let r = 1; r <= n; r++) {
    const image = app.images[r - 1]!;
    const hash = hashOf(`${app.name}|${image}|${r}`);
    const rsName = `${app.name}-${hash}`;
    const rsUid = uid();
    const cause = app.changeCauses?.[r - 1];
    out.push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace: ns,
        uid: rsUid,
        resourceVersion: String(1000 + uidSeq),
        creationTimestamp: at(r - 1),
        labels: { app: app.name, 'pod-template-hash': hash },
        annotations: {
          'deployment.kubernetes.io/revision': String(r),
          'deployment.kubernetes.io/desired-replicas': String(app.replicas),
          ...(cause ? { 'kubernetes.io/change-cause': cause } : {}),
        },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: app.name, uid: depUid, controller: true },
        ],
        managedFields: managedFields('kube-controller-manager', at(r - 1), true),
      },
      spec: {
        replicas: r === n ? app.replicas : 0,
        selector: { matchLabels: { app: app.name, 'pod-template-hash': hash } },
        template: {
          metadata: { labels: { app: app.name, 'pod-template-hash': hash } },
          spec: podSpec(image, ''),
        },
      },
      status: { replicas: r === n ? app.replicas : 0, readyReplicas: r === n ? app.replicas : 0 },
    });
    if (r === n) current = { name: rsName, uid: rsUid, hash };
  }
  const nodes = app.nodes ?? ['node-1'];
  for (let i = 0; i < app.replicas && current; i++) {
    const suffix = safeEncode(i + 1, 5);
    out.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${current.name}-${suffix}`,
        generateName: `${current.name}-`,
        namespace: ns,
        uid: uid(),
        resourceVersion: String(1000 + uidSeq),
        creationTimestamp: at(n - 1),
        labels: { app: app.name, 'pod-template-hash': current.hash, 'security.istio.io/tlsMode': 'istio' },
        annotations: { 'prometheus.io/scrape': 'true', 'sidecar.istio.io/status': '{"version":"abc"}' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: current.name,
            uid: current.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
        managedFields: managedFields('kubelet', at(n - 1), false),
      },
      spec: podSpec(app.images[n - 1]!, nodes[i % nodes.length]!),
      status: {
        phase: 'Running',
        podIP: `10.1.${(i >> 8) & 255}.${i & 255}`,
        hostIP: '192.168.0.10',
        startTime: at(n - 1),
        qosClass: 'Burstable',
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
          type,
          status: 'True',
          lastTransitionTime: at(n - 1),
        })),
        containerStatuses: [
          {
            name: 'app',
            image: app.images[n - 1],
            imageID: `docker.io/${app.images[n - 1]}@sha256:${'a'.repeat(64)}`,
            containerID: `containerd://${'b'.repeat(64)}`,
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: at(n - 1) } },
            lastState: {},
          },
          {
            name: 'istio-proxy',
            image: 'docker.io/istio/proxyv2:1.24.2',
            ready: true,
            restartCount: 0,
            state: { running: { startedAt: at(n - 1) } },
            lastState: {},
          },
        ],
      },
    });
  }
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app.name, namespace: ns, uid: uid(), resourceVersion: '1', creationTimestamp: at(0) },
    spec: {
      selector: { app: app.name },
      ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
      clusterIP: '10.0.0.10',
      type: 'ClusterIP',
    },
  });
  return out;
}

export function nodeObject(name: string, conditions: Record<string, 'True' | 'False'> = {}): Raw {
  const base: Record<string, 'True' | 'False'> = {
    Ready: 'True',
    MemoryPressure: 'False',
    DiskPressure: 'False',
    PIDPressure: 'False',
    ...conditions,
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: uid(),
      resourceVersion: '1',
      creationTimestamp: '2026-11-01T00:00:00Z',
      labels: { 'topology.kubernetes.io/zone': 'eu-west-1a', 'kubernetes.io/hostname': name },
    },
    spec: {},
    status: {
      conditions: Object.entries(base).map(([type, status]) => ({
        type,
        status,
        reason: `Kubelet${type}${status}`,
        lastHeartbeatTime: '2026-11-28T09:00:00Z',
      })),
      nodeInfo: { kubeletVersion: 'v1.36.3', osImage: 'Debian GNU/Linux 13' },
    },
  };
}

export function namespaceObject(name: string, labels: Record<string, string> = {}): Raw {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: uid(), resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z', labels },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** The list kubectl prints, for snapshot files. */
export function v1List(items: Raw[]): Raw {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/**
 * A large cluster: `pods` pods in Deployments of `podsPerApp` replicas, each Deployment with
 * `revisions` ReplicaSets and a Service, spread over namespaces of 50 apps and `pods / 50` nodes.
 * Calls `each` per object so the caller need not hold them all.
 */
export function bigCluster(
  pods: number,
  each: (raw: Raw) => void,
  o: { podsPerApp?: number; revisions?: number } = {},
): { apps: number; namespaces: number; nodes: number } {
  const perApp = o.podsPerApp ?? 10;
  const revisions = o.revisions ?? 3;
  const apps = Math.ceil(pods / perApp);
  const nodes = Math.max(1, Math.ceil(pods / 50));
  const nodeNames = Array.from({ length: nodes }, (_, i) => `node-${i}`);
  for (const n of nodeNames) each(nodeObject(n));
  const namespaces = Math.ceil(apps / 50);
  for (let i = 0; i < namespaces; i++) each(namespaceObject(`team-${i}`, { team: `team-${i % 7}` }));
  let left = pods;
  for (let a = 0; a < apps; a++) {
    const replicas = Math.min(perApp, left);
    left -= replicas;
    const images = Array.from({ length: revisions }, (_, r) => `registry.example.com/app-${a}:1.${r}.0`);
    const objs = appObjects(
      {
        name: `app-${a}`,
        team: `team-${a % 13}`,
        images,
        replicas,
        changeCauses: images.map((i) => `deploy ${i}`),
        nodes: nodeNames.slice(a % nodes, (a % nodes) + 3).concat(nodeNames.slice(0, 3)),
      },
      { namespace: `team-${Math.floor(a / 50)}` },
    );
    for (const obj of objs) each(obj);
  }
  return { apps, namespaces, nodes };
}
