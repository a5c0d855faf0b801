import type { SignalSite } from '../signals.ts';
import type { KeyValue } from '../wire/otlp-model.ts';
import { getStringAttr } from '../wire/otlp-model.ts';
import type { NormaliseContext } from './context.ts';

/**
 * Where a resource's telemetry comes from (k8sattributes resource attributes, FORMATS.md §5).
 * Computed once per resource, not per record. Without Kubernetes attributes, the OTel service is the
 * best identity we have.
 */
export function resourceSite(attrs: readonly KeyValue[], ctx: NormaliseContext): SignalSite {
  const cluster = getStringAttr(attrs, 'k8s.cluster.name') || ctx.defaultCluster;
  const namespace =
    getStringAttr(attrs, 'k8s.namespace.name') ?? getStringAttr(attrs, 'service.namespace') ?? '';
  const pod = getStringAttr(attrs, 'k8s.pod.name') ?? '';
  const node = getStringAttr(attrs, 'k8s.node.name') ?? '';
  let workload = ctx.resolver.resolve(namespace, 'Pod', pod, attrs);
  if (!workload || (workload.kind === 'Pod' && !pod)) {
    const service = getStringAttr(attrs, 'service.name');
    workload =
      service && !service.startsWith('unknown_service') ? { kind: 'Service', name: service } : workload;
  }
  const site: SignalSite = { cluster, namespace, pod, node, workload };
  // OTel semconv: deployment.environment.name (1.27+), deployment.environment before it.
  for (const key of ENVIRONMENT_ATTRS) {
    const env = getStringAttr(attrs, key);
    if (env) {
      site.environment = env.slice(0, 64);
      site.environmentSource = `resource:${key}`;
      break;
    }
  }
  return site;
}

const ENVIRONMENT_ATTRS = ['deployment.environment.name', 'deployment.environment'] as const;

export function serviceName(attrs: readonly KeyValue[], site: SignalSite): string {
  return getStringAttr(attrs, 'service.name') ?? site.workload?.name ?? '';
}
