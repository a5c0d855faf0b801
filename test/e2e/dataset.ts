// The telemetry the Collector e2e tests send: three incidents in namespace `shop` (checkout after a
// rollout: BackOff, OOMKilled restarts, CrashLoopBackOff, unavailable replicas, 503s and error logs;
// cart: readiness probe failures, a timeout exception, failed calls to payments; payments: an image
// pull failure), as k8s events, application logs, k8s_cluster-style metrics and spans, sent in three
// phases over OTLP/HTTP and OTLP/gRPC.
//
// Shaped so that the contexts cannot depend on how the Collector batches, splits or partitions it:
//  - phase 1 holds each workload's earliest problem signal and nothing else of it (an incident's id
//    is derived from the first signal it absorbs, so that must be the earliest in every path);
//  - the test lets the service consume a phase completely before sending the next one;
//  - within a phase, any two updates of the same evidence item or series either commute (event
//    counts keep the maximum, summaries follow the latest timestamp, distinct timestamps) or travel
//    in the same ResourceMetrics (whose order every path keeps);
//  - at most 10 distinct trace ids / pods per evidence item (refs are capped at 10, first come).
import { attrs, nanos } from '../../src/sim/attrs.ts';
import { type K8sEvent, k8sEventResourceLogs } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { OtlpSignal, Transport } from './otlp-send.ts';

export interface OtlpRequest {
  signal: OtlpSignal;
  transport: Transport;
  body: Buffer;
  /** Log records, metric data points or spans in the request (what the Collector counts). */
  items: number;
  /** Trace ids (hex) in a traces request. */
  traceIds: string[];
}

export interface Phase {
  name: string;
  requests: OtlpRequest[];
}

const NS = 'shop';
const CHECKOUT_A = 'checkout-7d9f8c6b5-x2kqz';
const CHECKOUT_B = 'checkout-7d9f8c6b5-q8wlm';
const CART = 'cart-5f4d8b7c9-pbzzz';
const PAYMENTS = 'payments-6b7c8d9f5-k4mnp';

const podAttrs = (deployment: string, pod: string, extra: Record<string, string> = {}) =>
  attrs({
    'k8s.namespace.name': NS,
    'k8s.pod.name': pod,
    'k8s.deployment.name': deployment,
    'k8s.container.name': 'app',
    'k8s.node.name': 'node-1',
    'service.name': deployment,
    ...extra,
  });

function event(
  o: Partial<K8sEvent> & Pick<K8sEvent, 'reason' | 'message' | 'uid' | 'atMs' | 'object'>,
): K8sEvent {
  return { namespace: NS, type: 'Warning', node: 'node-1', ...o };
}

const backoff = (pod: string, uid: string, count: number, atMs: number) =>
  event({
    reason: 'BackOff',
    message: `Back-off restarting failed container app in pod ${pod}`,
    object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
    uid,
    count,
    atMs,
  });
const cartProbe = (count: number, atMs: number) =>
  event({
    reason: 'Unhealthy',
    message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
    object: { kind: 'Pod', name: CART, fieldPath: 'spec.containers{app}' },
    uid: 'ev-cart-probe',
    count,
    atMs,
  });
const paymentsPull = (count: number, atMs: number) =>
  event({
    reason: 'Failed',
    message: 'Error: ImagePullBackOff',
    object: { kind: 'Pod', name: PAYMENTS, fieldPath: 'spec.containers{app}' },
    uid: 'ev-payments-pull',
    count,
    atMs,
  });
const scaling = (message: string, uid: string, atMs: number) =>
  event({
    type: 'Normal',
    reason: 'ScalingReplicaSet',
    message,
    object: { kind: 'Deployment', name: 'checkout', apiVersion: 'apps/v1' },
    uid,
    count: 1,
    atMs,
    node: '',
    reportingController: 'deployment-controller',
  });

function logsRequest(transport: Transport, resourceLogs: Record<string, unknown>[]): OtlpRequest {
  let items = 0;
  for (const rl of resourceLogs)
    for (const sl of (rl.scopeLogs as { logRecords: unknown[] }[]) ?? []) items += sl.logRecords.length;
  return {
    signal: 'logs',
    transport,
    body: encodeOtlp('ExportLogsServiceRequest', { resourceLogs }),
    items,
    traceIds: [],
  };
}

function appLog(
  deployment: string,
  pod: string,
  atMs: number,
  o: { body?: string; traceId?: string; exception?: [string, string] },
): Record<string, unknown> {
  return {
    resource: { attributes: podAttrs(deployment, pod) },
    scopeLogs: [
      {
        scope: { name: 'io.opentelemetry.logback' },
        logRecords: [
          {
            timeUnixNano: nanos(atMs),
            observedTimeUnixNano: nanos(atMs),
            severityNumber: 17,
            severityText: 'ERROR',
            body: o.body === undefined ? undefined : { stringValue: o.body },
            eventName: o.exception ? 'exception' : '',
            attributes: attrs(
              o.exception ? { 'exception.type': o.exception[0], 'exception.message': o.exception[1] } : {},
            ),
            traceId: o.traceId ? Buffer.from(o.traceId, 'hex') : undefined,
            spanId: o.traceId ? Buffer.from(o.traceId.slice(0, 16), 'hex') : undefined,
          },
        ],
      },
    ],
  };
}

type Point = { name: string; value: number; atMs: number; pointAttrs?: Record<string, string> };

function resourceMetrics(resource: Record<string, string>, points: Point[]): Record<string, unknown> {
  return {
    resource: { attributes: attrs(resource) },
    scopeMetrics: [
      {
        scope: {
          name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8sclusterreceiver',
          version: '0.165.1',
        },
        metrics: points.map((p) => ({
          name: p.name,
          unit: '1',
          gauge: {
            dataPoints: [
              { timeUnixNano: nanos(p.atMs), asInt: p.value, attributes: attrs(p.pointAttrs ?? {}) },
            ],
          },
        })),
      },
    ],
  };
}

function metricsRequest(transport: Transport, resourceMetricsList: Record<string, unknown>[]): OtlpRequest {
  let items = 0;
  for (const rm of resourceMetricsList)
    for (const sm of rm.scopeMetrics as { metrics: unknown[] }[]) items += sm.metrics.length;
  return {
    signal: 'metrics',
    transport,
    body: encodeOtlp('ExportMetricsServiceRequest', { resourceMetrics: resourceMetricsList }),
    items,
    traceIds: [],
  };
}

const containerRes = (pod: string, lastTerminated?: string): Record<string, string> => ({
  'k8s.namespace.name': NS,
  'k8s.pod.name': pod,
  'k8s.deployment.name': 'checkout',
  'k8s.container.name': 'app',
  'k8s.node.name': 'node-1',
  ...(lastTerminated ? { 'k8s.container.status.last_terminated_reason': lastTerminated } : {}),
});
const deploymentRes = (name: string): Record<string, string> => ({
  'k8s.namespace.name': NS,
  'k8s.deployment.name': name,
});

interface SpanSpec {
  traceId: string;
  spanSeq: number;
  name: string;
  kind: 2 | 3;
  atMs: number;
  durationMs: number;
  httpStatus?: number;
  error?: boolean;
  peer?: string;
}

function spanObj(s: SpanSpec): Record<string, unknown> {
  return {
    traceId: Buffer.from(s.traceId, 'hex'),
    spanId: Buffer.from(s.spanSeq.toString(16).padStart(16, '0'), 'hex'),
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: nanos(s.atMs - s.durationMs),
    endTimeUnixNano: nanos(s.atMs),
    attributes: attrs({
      ...(s.httpStatus ? { 'http.response.status_code': s.httpStatus } : {}),
      ...(s.peer ? { 'peer.service': s.peer, 'server.address': s.peer } : {}),
    }),
    status: s.error || (s.httpStatus ?? 0) >= 500 ? { code: 2, message: 'error' } : { code: 0 },
  };
}

function tracesRequest(
  transport: Transport,
  resources: { deployment: string; pod: string; spans: SpanSpec[] }[],
): OtlpRequest {
  const traceIds = new Set<string>();
  let items = 0;
  const resourceSpans = resources.map((r) => {
    for (const s of r.spans) traceIds.add(s.traceId);
    items += r.spans.length;
    return {
      resource: { attributes: podAttrs(r.deployment, r.pod) },
      scopeSpans: [{ scope: { name: 'io.opentelemetry.spring-webmvc' }, spans: r.spans.map(spanObj) }],
    };
  });
  return {
    signal: 'traces',
    transport,
    body: encodeOtlp('ExportTraceServiceRequest', { resourceSpans }),
    items,
    traceIds: [...traceIds],
  };
}

/** Trace id n of this data set (32 hex chars). */
const tid = (n: number) => `4bf92f3577b34da6a3ce929d0e0e${n.toString(16).padStart(4, '0')}`;

/** The data set, relative to `t0` (epoch ms of the first problem signal; keep it in the past). */
export function buildPhases(t0: number): Phase[] {
  const s = (sec: number) => t0 + sec * 1000;
  let seq = 1;
  const checkoutFailure = (n: number, atMs: number): { checkout: SpanSpec[]; payments: SpanSpec[] } => ({
    checkout: [
      {
        traceId: tid(n),
        spanSeq: seq++,
        name: 'POST /api/checkout',
        kind: 2,
        atMs,
        durationMs: 120,
        httpStatus: 503,
      },
      {
        traceId: tid(n),
        spanSeq: seq++,
        name: 'POST /v1/charge',
        kind: 3,
        atMs: atMs - 5,
        durationMs: 100,
        error: true,
        peer: 'payments',
      },
    ],
    payments: [
      {
        traceId: tid(n),
        spanSeq: seq++,
        name: 'POST /v1/charge',
        kind: 2,
        atMs: atMs - 10,
        durationMs: 90,
        httpStatus: 500,
      },
    ],
  });

  const phase1: Phase = {
    name: 'opening signals',
    requests: [
      logsRequest(
        'http',
        [
          scaling('Scaled up replica set checkout-7d9f8c6b5 to 1', 'ev-scale-up', s(-120)),
          scaling('Scaled down replica set checkout-5c6d7e8f9 to 2', 'ev-scale-down', s(-110)),
          backoff(CHECKOUT_A, 'ev-checkout-a', 1, s(0)),
          cartProbe(1, s(1)),
          paymentsPull(1, s(2)),
        ].map(k8sEventResourceLogs),
      ),
      metricsRequest('grpc', [
        resourceMetrics(containerRes(CHECKOUT_A), [
          { name: 'k8s.container.restarts', value: 0, atMs: s(-60) },
        ]),
        resourceMetrics(deploymentRes('checkout'), [
          { name: 'k8s.deployment.desired', value: 3, atMs: s(-60) },
          { name: 'k8s.deployment.available', value: 3, atMs: s(-60) },
        ]),
      ]),
      tracesRequest('http', [
        {
          deployment: 'checkout',
          pod: CHECKOUT_A,
          spans: [
            {
              traceId: tid(1),
              spanSeq: seq++,
              name: 'GET /health',
              kind: 2,
              atMs: s(-30),
              durationMs: 2,
              httpStatus: 200,
            },
          ],
        },
      ]),
    ],
  };

  const f3 = checkoutFailure(3, s(50));
  const f4 = checkoutFailure(4, s(51));
  const f5 = checkoutFailure(5, s(52));
  const phase2: Phase = {
    name: 'evidence',
    requests: [
      logsRequest('grpc', [
        ...[
          backoff(CHECKOUT_A, 'ev-checkout-a', 5, s(30)),
          backoff(CHECKOUT_B, 'ev-checkout-b', 2, s(35)),
          cartProbe(4, s(32)),
          paymentsPull(3, s(33)),
        ].map(k8sEventResourceLogs),
        appLog('checkout', CHECKOUT_A, s(40), {
          body: 'payment call failed: connection refused (payments:8080)',
          traceId: tid(3),
        }),
        appLog('checkout', CHECKOUT_B, s(41), {
          body: 'payment call failed: connection refused (payments:8080)',
          traceId: tid(4),
        }),
        appLog('cart', CART, s(42), { exception: ['java.net.SocketTimeoutException', 'Read timed out'] }),
      ]),
      metricsRequest('http', [
        resourceMetrics(containerRes(CHECKOUT_A, 'OOMKilled'), [
          { name: 'k8s.container.restarts', value: 2, atMs: s(45) },
          {
            name: 'k8s.container.status.reason',
            value: 1,
            atMs: s(45),
            pointAttrs: { 'k8s.container.status.reason': 'CrashLoopBackOff' },
          },
        ]),
        resourceMetrics(deploymentRes('checkout'), [
          { name: 'k8s.deployment.desired', value: 3, atMs: s(46) },
          { name: 'k8s.deployment.available', value: 1, atMs: s(46) },
        ]),
      ]),
      tracesRequest('grpc', [
        { deployment: 'checkout', pod: CHECKOUT_A, spans: [...f3.checkout, ...f4.checkout] },
        { deployment: 'checkout', pod: CHECKOUT_B, spans: f5.checkout },
        { deployment: 'payments', pod: PAYMENTS, spans: [...f3.payments, ...f4.payments, ...f5.payments] },
      ]),
    ],
  };

  const f8 = checkoutFailure(8, s(105));
  const f9 = checkoutFailure(9, s(106));
  const phase3: Phase = {
    name: 'escalation, over both transports at once',
    requests: [
      logsRequest('http', [
        ...[backoff(CHECKOUT_A, 'ev-checkout-a', 9, s(90)), cartProbe(6, s(92))].map(k8sEventResourceLogs),
      ]),
      logsRequest('grpc', [
        appLog('checkout', CHECKOUT_A, s(95), {
          body: 'payment call failed: connection refused (payments:8080)',
          traceId: tid(8),
        }),
        k8sEventResourceLogs(paymentsPull(5, s(96))),
      ]),
      metricsRequest('grpc', [
        resourceMetrics(containerRes(CHECKOUT_A, 'OOMKilled'), [
          { name: 'k8s.container.restarts', value: 4, atMs: s(100) },
          {
            name: 'k8s.container.status.reason',
            value: 1,
            atMs: s(100),
            pointAttrs: { 'k8s.container.status.reason': 'CrashLoopBackOff' },
          },
        ]),
      ]),
      metricsRequest('http', [
        resourceMetrics(deploymentRes('checkout'), [
          { name: 'k8s.deployment.desired', value: 3, atMs: s(101) },
          { name: 'k8s.deployment.available', value: 1, atMs: s(101) },
        ]),
        resourceMetrics(deploymentRes('cart'), [
          { name: 'k8s.deployment.desired', value: 2, atMs: s(101) },
          { name: 'k8s.deployment.available', value: 2, atMs: s(101) },
        ]),
      ]),
      tracesRequest('http', [
        { deployment: 'checkout', pod: CHECKOUT_A, spans: [...f8.checkout, ...f9.checkout] },
        { deployment: 'payments', pod: PAYMENTS, spans: [...f8.payments, ...f9.payments] },
      ]),
      tracesRequest('grpc', [
        {
          deployment: 'cart',
          pod: CART,
          spans: [
            {
              traceId: tid(10),
              spanSeq: seq++,
              name: 'GET /v1/quote',
              kind: 3,
              atMs: s(108),
              durationMs: 3000,
              error: true,
              peer: 'payments',
            },
          ],
        },
      ]),
    ],
  };
  return [phase1, phase2, phase3];
}
