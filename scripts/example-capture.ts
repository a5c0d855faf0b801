// Writes examples/checkout-rollout.ndjson: the bundled capture `./run demo` replays until the
// scenario library lands. A rollout of Deployment checkout whose new pods are OOMKilled, failing
// server spans, and ordinary noise around it. Deterministic: same bytes on every run.
//   node scripts/example-capture.ts > examples/checkout-rollout.ndjson
import { attrs, nanos } from '../src/sim/attrs.ts';
import { type K8sEvent, k8sEventsRequest } from '../src/sim/k8s-events.ts';
import { encodeOtlp } from '../src/sim/otlp-proto.ts';
import { formatCaptureLine } from '../src/stream/capture.ts';

const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);
const NEW_RS = 'checkout-6b7c8d9f4';
const OLD_RS = 'checkout-5f4d8b7c9';
const lines: string[] = [];
const offsets: Record<string, number> = {};

function out(topic: string, atMs: number, value: Buffer): void {
  offsets[topic] = (offsets[topic] ?? -1) + 1;
  lines.push(
    formatCaptureLine({
      topic,
      partition: 0,
      offset: offsets[topic],
      timestamp: atMs,
      key: null,
      headers: {},
      value,
    }),
  );
}

const ev = (
  o: Partial<K8sEvent> & Pick<K8sEvent, 'reason' | 'message' | 'object' | 'uid' | 'atMs'>,
): K8sEvent => ({
  namespace: 'shop',
  type: 'Warning',
  count: 1,
  node: 'node-a',
  ...o,
});

for (let minute = 0; minute < 12; minute++) {
  const at = T0 + minute * 60_000;
  const events: K8sEvent[] = [
    // Noise: healthy pods of other workloads doing ordinary things.
    ev({
      type: 'Normal',
      reason: 'Pulled',
      message: 'Container image "cart:1.4.2" already present on machine',
      object: { kind: 'Pod', name: 'cart-7c9d5b6f8-kq2xz' },
      uid: `n-${minute}`,
      atMs: at + 1000,
    }),
  ];
  if (minute === 2) {
    events.push(
      ev({
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: `Scaled up replica set ${NEW_RS} to 1`,
        object: { kind: 'Deployment', name: 'checkout', apiVersion: 'apps/v1' },
        uid: 'roll-1',
        atMs: at,
        reportingController: 'deployment-controller',
      }),
      ev({
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: `Scaled down replica set ${OLD_RS} to 2`,
        object: { kind: 'Deployment', name: 'checkout', apiVersion: 'apps/v1' },
        uid: 'roll-2',
        atMs: at + 20_000,
        reportingController: 'deployment-controller',
      }),
    );
  }
  if (minute >= 5) {
    const n = minute - 4;
    events.push(
      ev({
        reason: 'BackOff',
        message: `Back-off restarting failed container app in pod ${NEW_RS}-x2kqz_shop`,
        object: { kind: 'Pod', name: `${NEW_RS}-x2kqz`, fieldPath: 'spec.containers{app}' },
        uid: 'bo-1',
        count: n,
        atMs: at + 5000,
      }),
      ev({
        reason: 'Unhealthy',
        message: 'Readiness probe failed: Get "http://10.1.2.3:8080/ready": connection refused',
        object: { kind: 'Pod', name: `${NEW_RS}-x2kqz`, fieldPath: 'spec.containers{app}' },
        uid: 'un-1',
        count: n * 3,
        atMs: at + 7000,
      }),
    );
  }
  out('otlp_logs', at + 10_000, encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events)));

  // k8s_cluster: restart counters of the new pod, with the last termination reason.
  const restarts = Math.max(0, minute - 4);
  out(
    'otlp_metrics',
    at + 15_000,
    encodeOtlp('ExportMetricsServiceRequest', {
      resourceMetrics: [
        {
          resource: {
            attributes: attrs({
              'k8s.namespace.name': 'shop',
              'k8s.pod.name': `${NEW_RS}-x2kqz`,
              'k8s.container.name': 'app',
              'k8s.node.name': 'node-a',
              'k8s.container.status.last_terminated_reason': restarts > 0 ? 'OOMKilled' : undefined,
            }),
          },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'k8s.container.restarts',
                  unit: '{restart}',
                  gauge: { dataPoints: [{ timeUnixNano: nanos(at + 15_000), asInt: restarts }] },
                },
              ],
            },
          ],
        },
        {
          resource: {
            attributes: attrs({ 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout' }),
          },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'k8s.deployment.desired',
                  gauge: { dataPoints: [{ timeUnixNano: nanos(at + 15_000), asInt: 3 }] },
                },
                {
                  name: 'k8s.deployment.available',
                  gauge: { dataPoints: [{ timeUnixNano: nanos(at + 15_000), asInt: minute >= 6 ? 2 : 3 }] },
                },
              ],
            },
          ],
        },
      ],
    }),
  );

  // Application traces from checkout: failures start with the new pods.
  const spans = [];
  for (let i = 0; i < 20; i++) {
    const failing = minute >= 5 && i % 4 === 0;
    const start = at + i * 2000;
    spans.push({
      traceId: Buffer.from(
        `${minute.toString(16).padStart(2, '0')}${i.toString(16).padStart(2, '0')}`.padEnd(32, 'a'),
        'hex',
      ),
      spanId: Buffer.from(`${i.toString(16).padStart(2, '0')}`.padEnd(16, 'b'), 'hex'),
      name: 'POST /checkout',
      kind: 2,
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(start + (failing ? 1200 : 80)),
      attributes: attrs({ 'http.request.method': 'POST', 'http.response.status_code': failing ? 503 : 200 }),
      status: { code: failing ? 2 : 0 },
    });
  }
  out(
    'otlp_spans',
    at + 50_000,
    encodeOtlp('ExportTraceServiceRequest', {
      resourceSpans: [
        {
          resource: {
            attributes: attrs({
              'service.name': 'checkout',
              'k8s.namespace.name': 'shop',
              'k8s.pod.name': minute >= 5 ? `${NEW_RS}-x2kqz` : `${OLD_RS}-abcde`,
              'k8s.deployment.name': 'checkout',
            }),
          },
          scopeSpans: [{ scope: { name: 'io.opentelemetry.http' }, spans }],
        },
      ],
    }),
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
