// Traces of kubetriage itself (config `tracing`): a span per incident context emitted, per triage
// report (with a child per agent and per model call, gen_ai.* conventions), per approval and per
// execution. Every span of one incident lands in ONE trace whose id is derived from the incident id,
// so the context, the report, the approval and the execution line up in any trace backend without
// passing context through Kafka or Slack; each span also carries `kubetriage.incident.id`.
//
// Off by default and then free: nothing below imports the OpenTelemetry SDK; startTracing() loads it
// with a dynamic import only when tracing is enabled. The exporter is OTLP/HTTP protobuf; with no
// endpoint configured it honours the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS
// variables, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES apply, OTEL_SDK_DISABLED=true turns it off.
import { createHash } from 'node:crypto';

export type SpanAttrs = Record<string, string | number | boolean | undefined>;

export interface TraceSpan {
  set(attrs: SpanAttrs): void;
  /** Marks the span as failed (status ERROR) with a short reason. */
  fail(message: string): void;
  end(): void;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Starts a span in the incident's trace (or under `parent`); `incident` null: a trace of its own. */
  span(name: string, incident: string | null, attrs?: SpanAttrs, parent?: TraceSpan): TraceSpan;
  /** Exports what is buffered and stops; never rejects (an unreachable backend goes to `onError`). */
  shutdown(): Promise<void>;
}

export interface TracingConfig {
  enabled: boolean;
  endpoint: string | null;
  serviceName: string;
}

const NOOP_SPAN: TraceSpan = { set() {}, fail() {}, end() {} };
export const NO_TRACING: Tracing = {
  enabled: false,
  span: () => NOOP_SPAN,
  shutdown: async () => {},
};

export const INCIDENT_ATTR = 'kubetriage.incident.id';

/** The trace id (32 hex) and the synthetic remote parent span id (16 hex) every span of an incident shares. */
export function incidentTraceIds(incident: string): { traceId: string; spanId: string } {
  const h = createHash('sha256').update(`kubetriage/incident/${incident}`).digest('hex');
  return { traceId: h.slice(0, 32), spanId: h.slice(32, 48) };
}

function clean(attrs: SpanAttrs): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v;
  return out;
}

/** The span for an incident context handed to the agents (an instant: the work was the stream's). */
export function traceContextEmitted(
  tracing: Tracing,
  doc: { id: string; revision: number; status: string; scope: { namespace: string } },
): void {
  tracing
    .span('kubetriage.context', doc.id, {
      'kubetriage.incident.revision': doc.revision,
      'kubetriage.incident.status': doc.status,
      'k8s.namespace.name': doc.scope.namespace,
    })
    .end();
}

/** NO_TRACING unless enabled; otherwise an SDK tracer provider exporting OTLP/HTTP protobuf. */
export async function startTracing(
  cfg: TracingConfig,
  env: Record<string, string | undefined> = process.env,
  onError: (err: Error) => void = () => {},
): Promise<Tracing> {
  if (!cfg.enabled || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return NO_TRACING;
  const [api, sdk, resources, otlp] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const exporter = new otlp.OTLPTraceExporter(cfg.endpoint ? { url: cfg.endpoint } : {});
  const resource = resources
    .resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || cfg.serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('kubetriage');
  const handles = new WeakMap<TraceSpan, import('@opentelemetry/api').Span>();

  return {
    enabled: true,
    span(name, incident, attrs = {}, parent) {
      const parentSpan = parent ? handles.get(parent) : undefined;
      let ctx = api.ROOT_CONTEXT;
      if (parentSpan) ctx = api.trace.setSpan(ctx, parentSpan);
      else if (incident)
        ctx = api.trace.setSpanContext(ctx, {
          ...incidentTraceIds(incident),
          traceFlags: api.TraceFlags.SAMPLED,
          isRemote: true,
        });
      const span = tracer.startSpan(
        name,
        { attributes: clean({ ...(incident ? { [INCIDENT_ATTR]: incident } : {}), ...attrs }) },
        ctx,
      );
      const handle: TraceSpan = {
        set: (a) => void span.setAttributes(clean(a)),
        fail: (message) => void span.setStatus({ code: api.SpanStatusCode.ERROR, message }),
        end: () => span.end(),
      };
      handles.set(handle, span);
      return handle;
    },
    shutdown: () => provider.shutdown().catch((err: unknown) => onError(err as Error)),
  };
}
