// Small builders for OTLP test payloads in the Collector's shapes (protobufjs plain-object form).
import { type AttrValue, attrs, nanos } from '../../src/sim/attrs.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';

export { attrs, nanos };

export function metricsRecord(
  resources: { attrs: Record<string, AttrValue | undefined>; metrics: Record<string, unknown>[] }[],
): Buffer {
  return encodeOtlp('ExportMetricsServiceRequest', {
    resourceMetrics: resources.map((r) => ({
      resource: { attributes: attrs(r.attrs) },
      scopeMetrics: [
        {
          scope: {
            name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8sclusterreceiver',
          },
          metrics: r.metrics,
        },
      ],
    })),
  });
}

export function gauge(
  name: string,
  value: number,
  atMs: number,
  pointAttrs: Record<string, AttrValue> = {},
): Record<string, unknown> {
  return {
    name,
    unit: '1',
    gauge: {
      dataPoints: [
        {
          timeUnixNano: nanos(atMs),
          asInt: Number.isInteger(value) ? value : undefined,
          asDouble: Number.isInteger(value) ? undefined : value,
          attributes: attrs(pointAttrs),
        },
      ],
    },
  };
}

export function tracesRecord(
  resources: { attrs: Record<string, AttrValue | undefined>; spans: Record<string, unknown>[] }[],
): Buffer {
  return encodeOtlp('ExportTraceServiceRequest', {
    resourceSpans: resources.map((r) => ({
      resource: { attributes: attrs(r.attrs) },
      scopeSpans: [{ scope: { name: 'io.opentelemetry.http' }, spans: r.spans }],
    })),
  });
}

let spanSeq = 1;
export function span(o: {
  name: string;
  kind: number;
  startMs: number;
  durationMs: number;
  error?: boolean;
  httpStatus?: number;
  exception?: string;
  attrs?: Record<string, AttrValue>;
}): Record<string, unknown> {
  const id = spanSeq++;
  return {
    traceId: Buffer.from(id.toString(16).padStart(32, '0'), 'hex'),
    spanId: Buffer.from(id.toString(16).padStart(16, '0'), 'hex'),
    name: o.name,
    kind: o.kind,
    startTimeUnixNano: nanos(o.startMs),
    endTimeUnixNano: nanos(o.startMs + o.durationMs),
    attributes: attrs({
      ...(o.httpStatus ? { 'http.response.status_code': o.httpStatus } : {}),
      ...(o.attrs ?? {}),
    }),
    events: o.exception
      ? [
          {
            name: 'exception',
            timeUnixNano: nanos(o.startMs),
            attributes: attrs({ 'exception.type': o.exception, 'exception.message': 'boom' }),
          },
        ]
      : [],
    status: o.error ? { code: 2, message: 'error' } : { code: 0 },
  };
}

export function logsRecord(
  resources: { attrs: Record<string, AttrValue | undefined>; records: Record<string, unknown>[] }[],
): Buffer {
  return encodeOtlp('ExportLogsServiceRequest', {
    resourceLogs: resources.map((r) => ({
      resource: { attributes: attrs(r.attrs) },
      scopeLogs: [{ scope: { name: 'app' }, logRecords: r.records }],
    })),
  });
}

export const POD_ATTRS = (ns: string, deployment: string, pod: string, container = 'app') => ({
  'k8s.namespace.name': ns,
  'k8s.pod.name': pod,
  'k8s.deployment.name': deployment,
  'k8s.container.name': container,
  'k8s.node.name': 'node-1',
  'service.name': deployment,
});
