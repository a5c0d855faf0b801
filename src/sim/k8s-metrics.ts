// k8s_cluster and kubelet_stats metrics (../../shared/FORMATS.md §6) read off the simulated cluster,
// one ResourceMetrics per object as the receivers emit them. The receiver configuration this models:
//   k8s_cluster:
//     collection_interval: 60s
//     node_conditions_to_report: [Ready, MemoryPressure]
//     metrics:
//       k8s.container.status.reason: {enabled: true}
//       k8s.container.cpu_request: {enabled: false}
//       k8s.container.memory_request: {enabled: false}
//     resource_attributes: {k8s.container.status.last_terminated_reason: {enabled: true}}
//   kubelet_stats: {collection_interval: 60s, auth_type: serviceAccount}
// Metric descriptions are left out and the two request metrics disabled to keep captures small
// (pdata carries descriptions; decoders ignore them).
// As in the receiver's fixtures, `k8s.container.status.reason` is reported (every reason, 1 for the
// current one) only for containers that are waiting or terminated.
import { attrs, nanos } from './attrs.ts';
import type { ClusterModel, ContainerModel, DeploymentModel, NodeModel, PodModel } from './cluster.ts';
import type { Prng } from './prng.ts';

const CLUSTER_SCOPE = {
  name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8sclusterreceiver',
  version: '0.165.1',
};
const KUBELET_SCOPE = {
  name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kubeletstatsreceiver',
  version: '0.165.1',
};
const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.18.0';

/**
 * Which container metrics k8s_cluster sends. The default above (status reason and last-terminated
 * reason enabled) is what most scenarios model; the Collector's own defaults leave both off, and a
 * cluster may not report container restarts at all: then only pod status says why a container died.
 */
export interface ContainerMetricsConfig {
  statusReason: boolean;
  lastTerminatedReason: boolean;
  restarts: boolean;
}

export const MODELLED_CONTAINER_METRICS: ContainerMetricsConfig = {
  statusReason: true,
  lastTerminatedReason: true,
  restarts: true,
};

export const STATUS_REASONS = [
  'Completed',
  'ContainerCannotRun',
  'ContainerCreating',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'ErrImagePull',
  'Error',
  'ImagePullBackOff',
  'OOMKilled',
] as const;

const PHASE = { Pending: 1, Running: 2, Succeeded: 3, Failed: 4 } as const;

type Metric = Record<string, unknown>;

function gaugeInt(name: string, unit: string, v: number, at: number, start: number): Metric {
  return {
    name,
    unit,
    gauge: {
      dataPoints: [{ startTimeUnixNano: nanos(start), timeUnixNano: nanos(at), asInt: Math.round(v) }],
    },
  };
}

function gaugeDouble(name: string, unit: string, v: number, at: number, start: number): Metric {
  return {
    name,
    unit,
    gauge: { dataPoints: [{ startTimeUnixNano: nanos(start), timeUnixNano: nanos(at), asDouble: v }] },
  };
}

function resource(
  a: Record<string, string | undefined>,
  scope: { name: string; version: string },
  metrics: Metric[],
): Record<string, unknown> {
  return { resource: { attributes: attrs(a) }, scopeMetrics: [{ scope, metrics }], schemaUrl: SCHEMA_URL };
}

/** One k8s_cluster collection: every container, pod, Deployment, ReplicaSet, set, HPA and node. */
export function clusterScrape(
  c: ClusterModel,
  at: number,
  receiverStart: number,
  cm: ContainerMetricsConfig = MODELLED_CONTAINER_METRICS,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const p of c.pods()) {
    for (const ct of p.node ? p.containers : []) out.push(containerMetrics(p, ct, at, receiverStart, cm));
    out.push(
      resource(
        {
          'k8s.namespace.name': p.namespace,
          'k8s.node.name': p.node,
          'k8s.pod.name': p.name,
          'k8s.pod.uid': p.uid,
        },
        CLUSTER_SCOPE,
        [gaugeInt('k8s.pod.phase', '', PHASE[p.phase], at, receiverStart)],
      ),
    );
  }
  for (const d of c.deployments) {
    out.push(deploymentMetrics(d, at, receiverStart));
    for (const rs of d.replicaSets) {
      const pods = rs.livePods().filter((p) => p.phase !== 'Failed');
      out.push(
        resource(
          {
            'k8s.namespace.name': rs.namespace,
            'k8s.replicaset.name': rs.name,
            'k8s.replicaset.uid': rs.uid,
          },
          CLUSTER_SCOPE,
          [
            gaugeInt('k8s.replicaset.desired', '{pod}', rs.replicas, at, receiverStart),
            gaugeInt(
              'k8s.replicaset.available',
              '{pod}',
              pods.filter((p) => p.ready).length,
              at,
              receiverStart,
            ),
          ],
        ),
      );
    }
  }
  for (const s of c.directSets) {
    const pods = s.livePods();
    const ready = pods.filter((p) => p.ready).length;
    if (s.kind === 'StatefulSet') {
      out.push(
        resource(
          { 'k8s.namespace.name': s.namespace, 'k8s.statefulset.name': s.name, 'k8s.statefulset.uid': s.uid },
          CLUSTER_SCOPE,
          [
            gaugeInt('k8s.statefulset.desired_pods', '{pod}', pods.length, at, receiverStart),
            gaugeInt('k8s.statefulset.ready_pods', '{pod}', ready, at, receiverStart),
            gaugeInt('k8s.statefulset.current_pods', '{pod}', pods.length, at, receiverStart),
            gaugeInt('k8s.statefulset.updated_pods', '{pod}', pods.length, at, receiverStart),
          ],
        ),
      );
    } else {
      out.push(
        resource(
          { 'k8s.daemonset.name': s.name, 'k8s.daemonset.uid': s.uid, 'k8s.namespace.name': s.namespace },
          CLUSTER_SCOPE,
          [
            gaugeInt('k8s.daemonset.current_scheduled_nodes', '{node}', pods.length, at, receiverStart),
            gaugeInt('k8s.daemonset.desired_scheduled_nodes', '{node}', c.nodes.length, at, receiverStart),
            gaugeInt('k8s.daemonset.misscheduled_nodes', '{node}', 0, at, receiverStart),
            gaugeInt('k8s.daemonset.ready_nodes', '{node}', ready, at, receiverStart),
          ],
        ),
      );
    }
  }
  for (const h of c.hpas) {
    out.push(
      resource(
        { 'k8s.hpa.name': h.name, 'k8s.hpa.uid': h.uid, 'k8s.namespace.name': h.namespace },
        CLUSTER_SCOPE,
        [
          gaugeInt('k8s.hpa.max_replicas', '{pod}', h.max, at, receiverStart),
          gaugeInt('k8s.hpa.min_replicas', '{pod}', h.min, at, receiverStart),
          gaugeInt('k8s.hpa.current_replicas', '{pod}', h.current, at, receiverStart),
          gaugeInt('k8s.hpa.desired_replicas', '{pod}', h.desired, at, receiverStart),
        ],
      ),
    );
  }
  for (const n of c.nodes) out.push(nodeConditions(n, at, receiverStart));
  return out;
}

function containerMetrics(
  p: PodModel,
  ct: ContainerModel,
  at: number,
  start: number,
  cm: ContainerMetricsConfig,
): Record<string, unknown> {
  const img = ct.image();
  const metrics: Metric[] = [
    gaugeInt('k8s.container.memory_limit', 'By', ct.spec.memLimit, at, start),
    gaugeInt('k8s.container.ready', '', ct.ready ? 1 : 0, at, start),
  ];
  if (cm.restarts) metrics.push(gaugeInt('k8s.container.restarts', '{restart}', ct.restartCount, at, start));
  const reason = cm.statusReason ? ct.statusReason() : undefined;
  if (reason !== undefined) {
    metrics.push({
      name: 'k8s.container.status.reason',
      unit: '{container}',
      sum: {
        aggregationTemporality: 2,
        isMonotonic: false,
        dataPoints: STATUS_REASONS.map((r) => ({
          startTimeUnixNano: nanos(start),
          timeUnixNano: nanos(at),
          asInt: r === reason ? 1 : 0,
          attributes: attrs({ 'k8s.container.status.reason': r }),
        })),
      },
    });
  }
  return resource(
    {
      'container.id': ct.containerId,
      'container.image.name': img.name,
      'container.image.tag': img.tag,
      'k8s.container.name': ct.spec.name,
      'k8s.container.status.last_terminated_reason': cm.lastTerminatedReason ? ct.last?.reason : undefined,
      'k8s.namespace.name': p.namespace,
      'k8s.node.name': p.node,
      'k8s.pod.name': p.name,
      'k8s.pod.uid': p.uid,
    },
    CLUSTER_SCOPE,
    metrics,
  );
}

function deploymentMetrics(d: DeploymentModel, at: number, start: number): Record<string, unknown> {
  return resource(
    { 'k8s.deployment.name': d.name, 'k8s.deployment.uid': d.uid, 'k8s.namespace.name': d.namespace },
    CLUSTER_SCOPE,
    [
      gaugeInt('k8s.deployment.available', '{pod}', d.available(), at, start),
      gaugeInt('k8s.deployment.desired', '{pod}', d.replicas, at, start),
    ],
  );
}

function nodeConditions(n: NodeModel, at: number, start: number): Record<string, unknown> {
  const v = (x: boolean | 'Unknown') => (x === 'Unknown' ? -1 : x ? 1 : 0);
  const unknown = n.conditions.Ready === 'Unknown';
  return resource({ 'k8s.node.name': n.name, 'k8s.node.uid': n.uid }, CLUSTER_SCOPE, [
    gaugeInt('k8s.node.condition_ready', '', v(n.conditions.Ready), at, start),
    gaugeInt(
      'k8s.node.condition_memory_pressure',
      '',
      unknown ? -1 : v(n.conditions.MemoryPressure),
      at,
      start,
    ),
  ]);
}

/** Working set of a container right now (override or a steady share of its limit, with jitter). */
export function workingSet(ct: ContainerModel, rng: Prng): number {
  if (ct.state.kind !== 'running') return 0;
  if (ct.memWorkingSet !== undefined) return Math.round(ct.memWorkingSet * rng.float(0.985, 1.015));
  return Math.round(ct.spec.memLimit * (ct.spec.memFraction ?? 0.42) * rng.float(0.97, 1.03));
}

export function cpuUsage(ct: ContainerModel, rng: Prng): number {
  if (ct.state.kind !== 'running') return 0;
  const typical = ct.cpuUsage ?? ct.spec.cpuTypical ?? ct.spec.cpuRequest * 0.35;
  return Math.round(typical * rng.float(0.8, 1.2) * 10_000) / 10_000;
}

/**
 * One kubelet_stats collection per node: the node itself and each running container on it.
 * Unreachable kubelets (node Ready=Unknown) report nothing.
 */
export function kubeletScrape(c: ClusterModel, at: number, rng: Prng): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const n of c.nodes) {
    if (n.conditions.Ready === 'Unknown') continue;
    let podMem = 0;
    let podCpu = 0;
    for (const p of c.pods()) {
      if (p.node !== n.name || p.phase !== 'Running') continue;
      for (const ct of p.containers) {
        if (ct.state.kind !== 'running') continue;
        const ws = workingSet(ct, rng);
        const cpu = cpuUsage(ct, rng);
        podMem += ws;
        podCpu += cpu;
        out.push(
          resource(
            {
              'k8s.container.name': ct.spec.name,
              'k8s.namespace.name': p.namespace,
              'k8s.pod.name': p.name,
              'k8s.pod.uid': p.uid,
            },
            KUBELET_SCOPE,
            [
              gaugeDouble('container.cpu.usage', '{cpu}', cpu, at, ct.state.startedAt),
              gaugeInt('container.memory.working_set', 'By', ws, at, ct.state.startedAt),
            ],
          ),
        );
      }
    }
    const used = Math.min(n.memory, n.systemMemory + podMem);
    out.push(
      resource({ 'k8s.node.name': n.name }, KUBELET_SCOPE, [
        gaugeDouble(
          'k8s.node.cpu.usage',
          '{cpu}',
          Math.round((podCpu + 0.12) * 10_000) / 10_000,
          at,
          n.createdAt,
        ),
        gaugeInt('k8s.node.memory.available', 'By', n.memory - used, at, n.createdAt),
        gaugeInt('k8s.node.memory.working_set', 'By', used, at, n.createdAt),
      ]),
    );
  }
  return out;
}
