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
}

// ReplicaSet pods are `<deployment>-<pod-template-hash>-<5 char suffix>`; StatefulSet pods `<name>-<ordinal>`.
const DEPLOYMENT_POD = /^(.+)-([a-z0-9]{5,10})-([a-z0-9]{5})$/;
const REPLICASET = /^(.+)-([a-z0-9]{5,10})$/;
const STATEFULSET_POD = /^(.+)-(\d+)$/;

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
