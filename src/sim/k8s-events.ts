// Kubernetes Events in exactly the shape k8seventsreceiver writes (FORMATS.md §3): one ResourceLogs
// per Event, resource attributes k8s.object.* and k8s.node.name, log attributes k8s.event.*, body =
// message, severity from the Event type. The Collector's batch processor then merges many of them
// into one ExportLogsServiceRequest, which the Kafka exporter writes as one record.
import { attrs, nanos } from './attrs.ts';

export interface K8sEvent {
  namespace: string;
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  object: { kind: string; name: string; uid?: string; fieldPath?: string; apiVersion?: string };
  /** Event object uid (stable across updates of the same Event). */
  uid: string;
  name?: string;
  count?: number;
  atMs: number;
  node?: string;
  reportingController?: string;
  /** When the Event object was created (its first occurrence); `k8s.event.start_time`. Default: atMs. */
  firstAtMs?: number;
  /** involvedObject.resourceVersion (`k8s.object.resource_version`). Default: "1". */
  resourceVersion?: string;
}

const SCOPE = {
  name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8seventsreceiver',
  version: '0.165.1',
};

const SEVERITY: Record<string, [number, string]> = {
  normal: [9, 'Normal'],
  warning: [13, 'Warning'],
};

export function k8sEventResourceLogs(ev: K8sEvent): Record<string, unknown> {
  const [severityNumber, severityText] = SEVERITY[ev.type.toLowerCase()] ?? [0, ev.type];
  return {
    resource: {
      attributes: attrs({
        'k8s.node.name': ev.node ?? '',
        'k8s.object.kind': ev.object.kind,
        'k8s.object.name': ev.object.name,
        'k8s.object.uid': ev.object.uid ?? '',
        'k8s.object.fieldpath': ev.object.fieldPath ?? '',
        'k8s.object.api_version': ev.object.apiVersion ?? 'v1',
        'k8s.object.resource_version': ev.resourceVersion ?? '1',
      }),
    },
    scopeLogs: [
      {
        scope: SCOPE,
        logRecords: [
          {
            timeUnixNano: nanos(ev.atMs),
            severityNumber,
            severityText,
            body: { stringValue: ev.message },
            attributes: attrs({
              'k8s.event.reason': ev.reason,
              'k8s.event.action': '',
              'k8s.event.start_time': goTimeString(ev.firstAtMs ?? ev.atMs),
              'k8s.event.name': ev.name ?? `${ev.object.name}.${ev.uid.slice(0, 8)}`,
              'k8s.event.uid': ev.uid,
              'k8s.namespace.name': ev.namespace,
              'k8s.event.reporting_controller': ev.reportingController ?? 'kubelet',
              'k8s.event.reporting_instance': ev.node ?? '',
              'k8s.event.count': ev.count && ev.count !== 0 ? { int: ev.count } : undefined,
            }),
          },
        ],
      },
    ],
  };
}

/** Go's `time.Time.String()` of a metav1.Time in UTC, e.g. `2026-11-28 09:00:00 +0000 UTC`. */
export function goTimeString(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' +0000 UTC');
}

/** A batch as the Kafka exporter writes it with default settings: every event's ResourceLogs in one request. */
export function k8sEventsRequest(events: readonly K8sEvent[]): Record<string, unknown> {
  return { resourceLogs: events.map(k8sEventResourceLogs) };
}
