// The cluster's objects printed the way `kubectl get … -o json` prints them (field order, defaults,
// status blocks, quantities): the snapshot a scenario ends in. One printer per object kind.
import {
  type ContainerSpec,
  type ContainerState,
  type DeploymentModel,
  type DirectSetModel,
  GiB,
  type Json,
  type JsonObject,
  k8sTime,
  MiB,
  type NodeConditions,
  type NodeModel,
  type PodModel,
  type PodTemplate,
  type ReplicaSetModel,
  type ServiceModel,
} from './objects.ts';

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

export function podJson(p: PodModel): JsonObject {
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

export function replicaSetJson(rs: ReplicaSetModel): JsonObject {
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

export function deploymentJson(d: DeploymentModel): JsonObject {
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

export function directSetJson(s: DirectSetModel, nodes = 0): JsonObject {
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

export function serviceJson(s: ServiceModel): JsonObject {
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

export function nodeJson(n: NodeModel): JsonObject {
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
