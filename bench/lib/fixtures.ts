// Realistic OTLP batches for the benchmarks, deterministic (seeded): what a Collector with
// k8sattributes and the k8s_events / k8s_cluster receivers writes to Kafka.
import { attrs, nanos } from '../../src/sim/attrs.ts';
import { type K8sEvent, k8sEventResourceLogs } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';

export type Signal = 'logs' | 'metrics' | 'traces';

/** Small deterministic PRNG (mulberry32) so every run benchmarks the same bytes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REASONS: [string, 'Normal' | 'Warning', string][] = [
  ['BackOff', 'Warning', 'Back-off restarting failed container app in pod {pod}'],
  ['Unhealthy', 'Warning', 'Readiness probe failed: HTTP probe failed with statuscode: 503'],
  ['Pulled', 'Normal', 'Container image "registry.example.com/shop/app:v2.3.1" already present on machine'],
  ['Started', 'Normal', 'Started container app'],
  ['Created', 'Normal', 'Created container app'],
  ['Killing', 'Normal', 'Stopping container app'],
];

export interface FixtureOptions {
  records: number;
  seed?: number;
  /** Distinct workloads the records spread over. */
  workloads?: number;
  /** Fraction of events that repeat an already-emitted (uid, count): 0, 0.5, 0.95. */
  repeat?: number;
  startMs?: number;
  /**
   * Appended to every name and uid (namespaces, pods, nodes, workloads): batches with different
   * variants share no such string, for decoding with the intern cache cold (bench/decode.ts).
   */
  variant?: string;
}

/**
 * A stream of logs batches in which `repeat` of the events are re-deliveries of an earlier (uid, count):
 * the dedup hit ratio the pipeline benchmark varies.
 */
export function logsStream(batches: number, size: number, repeat: number, seed = 7): Buffer[] {
  const state: StreamState = { r: rng(seed), emitted: [], unique: 0 };
  const out: Buffer[] = [];
  for (let b = 0; b < batches; b++)
    out.push(
      logsBatch(
        { records: size, repeat, seed, startMs: Date.UTC(2026, 10, 28, 10, 0, 0) + b * 10_000 },
        state,
      ),
    );
  return out;
}

interface StreamState {
  r: () => number;
  emitted: { uid: string; count: number; w: number; reason: number }[];
  unique: number;
}

/** A logs batch: k8seventsreceiver events (as the Collector batches them) plus some application logs. */
export function logsBatch(o: FixtureOptions, state?: StreamState): Buffer {
  const st = state ?? { r: rng(o.seed ?? 1), emitted: [], unique: 0 };
  const r = st.r;
  const workloads = o.workloads ?? 50;
  const start = o.startMs ?? Date.UTC(2026, 10, 28, 10, 0, 0);
  const v = o.variant ?? '';
  const resourceLogs: Record<string, unknown>[] = [];
  const emitted = st.emitted;
  for (let i = 0; i < o.records; i++) {
    const at = start + i * 7;
    if (i % 10 === 9) {
      // One in ten records is an application log line with k8sattributes resource attributes.
      const w = Math.floor(r() * workloads);
      resourceLogs.push({
        resource: { attributes: podAttrs(w, r, v) },
        scopeLogs: [
          {
            scope: { name: 'io.opentelemetry.logback' },
            logRecords: [
              {
                timeUnixNano: nanos(at),
                observedTimeUnixNano: nanos(at + 1),
                severityNumber: r() < 0.3 ? 17 : 9,
                severityText: 'INFO',
                body: {
                  stringValue: `request ${i} handled in ${Math.floor(r() * 300)} ms for customer ${Math.floor(r() * 1e6)}`,
                },
                attributes: attrs({ 'thread.name': 'http-nio-8080-exec-3', 'code.function': 'handle' }),
                traceId: Buffer.alloc(16, i & 0xff),
                spanId: Buffer.alloc(8, i & 0xff),
              },
            ],
          },
        ],
      });
      continue;
    }
    let ev: { uid: string; count: number; w: number; reason: number };
    if (emitted.length > 0 && r() < (o.repeat ?? 0)) {
      ev = emitted[Math.floor(r() * emitted.length)]!;
    } else {
      ev = {
        uid: `ev-${st.unique++}`,
        count: 1 + Math.floor(r() * 20),
        w: Math.floor(r() * workloads),
        reason: Math.floor(r() * REASONS.length),
      };
      emitted.push(ev);
    }
    const [reason, type, msg] = REASONS[ev.reason]!;
    const pod = `app-${ev.w}-7d9f8c6b5-x${(ev.w % 100).toString().padStart(4, 'k')}${v}`;
    const e: K8sEvent = {
      namespace: `team-${ev.w % 8}${v}`,
      reason,
      type,
      message: msg.replace('{pod}', pod),
      object: { kind: 'Pod', name: pod, uid: `pod-uid-${ev.w}${v}`, fieldPath: 'spec.containers{app}' },
      uid: `${ev.uid}${v}`,
      count: ev.count,
      atMs: at,
      node: `node-${ev.w % 12}${v}`,
    };
    resourceLogs.push(k8sEventResourceLogs(e));
  }
  return encodeOtlp('ExportLogsServiceRequest', { resourceLogs });
}

function podAttrs(w: number, r: () => number, v = ''): ReturnType<typeof attrs> {
  return attrs({
    'k8s.cluster.name': 'prod-eu-1',
    'k8s.namespace.name': `team-${w % 8}${v}`,
    'k8s.pod.name': `app-${w}-7d9f8c6b5-x${Math.floor(r() * 1000)}${v}`,
    'k8s.pod.uid': `0b6f1c2e-${w}-4d3b-9a1e-${Math.floor(r() * 1e6)}${v}`,
    'k8s.deployment.name': `app-${w}${v}`,
    'k8s.node.name': `node-${w % 12}${v}`,
    'k8s.pod.start_time': '2026-11-28T09:00:00Z',
    'k8s.container.name': 'app',
    'service.name': `app-${w}${v}`,
    'service.version': '2.3.1',
    'container.image.name': 'registry.example.com/shop/app',
    'container.image.tag': 'v2.3.1',
  });
}

/** A metrics batch as k8s_cluster writes it: one resource per container, a few gauges each. */
export function metricsBatch(o: FixtureOptions): Buffer {
  const r = rng(o.seed ?? 2);
  const workloads = o.workloads ?? 50;
  const start = o.startMs ?? Date.UTC(2026, 10, 28, 10, 0, 0);
  const resourceMetrics: Record<string, unknown>[] = [];
  // One "record" = one data point; four metrics per resource.
  for (let i = 0; i < o.records; i += 4) {
    const w = Math.floor(r() * workloads);
    const at = nanos(start + i * 10);
    const point = (v: number, extra: Record<string, string> = {}) => ({
      timeUnixNano: at,
      startTimeUnixNano: at,
      asInt: v,
      attributes: attrs(extra),
    });
    resourceMetrics.push({
      resource: { attributes: podAttrs(w, r) },
      scopeMetrics: [
        {
          scope: {
            name: 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8sclusterreceiver',
            version: '0.165.1',
          },
          metrics: [
            {
              name: 'k8s.container.restarts',
              unit: '{restart}',
              gauge: { dataPoints: [point(Math.floor(r() * 3))] },
            },
            { name: 'k8s.container.ready', unit: '', gauge: { dataPoints: [point(1)] } },
            { name: 'k8s.container.memory_limit', unit: 'By', gauge: { dataPoints: [point(536870912)] } },
            {
              name: 'k8s.container.cpu_request',
              unit: '{cpu}',
              gauge: { dataPoints: [{ timeUnixNano: at, asDouble: 0.25 }] },
            },
          ],
        },
      ],
    });
  }
  return encodeOtlp('ExportMetricsServiceRequest', { resourceMetrics });
}

/** A traces batch: server and client spans with HTTP attributes, a few failing. */
export function tracesBatch(o: FixtureOptions): Buffer {
  const r = rng(o.seed ?? 3);
  const workloads = o.workloads ?? 50;
  const start = o.startMs ?? Date.UTC(2026, 10, 28, 10, 0, 0);
  const perResource = 10;
  const resourceSpans: Record<string, unknown>[] = [];
  for (let i = 0; i < o.records; i += perResource) {
    const w = Math.floor(r() * workloads);
    const spans: Record<string, unknown>[] = [];
    for (let j = 0; j < perResource && i + j < o.records; j++) {
      const s = start + (i + j) * 5;
      const server = j % 2 === 0;
      const failed = r() < 0.05;
      spans.push({
        traceId: Buffer.from(`${(i + j).toString(16).padStart(8, '0')}`.repeat(4), 'hex'),
        spanId: Buffer.from(`${(i + j).toString(16).padStart(8, '0')}`.repeat(2), 'hex'),
        parentSpanId: server
          ? undefined
          : Buffer.from(`${(i + j - 1).toString(16).padStart(8, '0')}`.repeat(2), 'hex'),
        name: server ? 'POST /api/v1/orders' : 'GET',
        kind: server ? 2 : 3,
        startTimeUnixNano: nanos(s),
        endTimeUnixNano: nanos(s + 5 + r() * 200),
        attributes: attrs({
          'http.request.method': server ? 'POST' : 'GET',
          'http.response.status_code': failed ? 503 : 200,
          'url.path': '/api/v1/orders',
          'server.address': server ? undefined : `inventory.team-${w % 8}.svc`,
          'network.protocol.version': '1.1',
        }),
        status: { code: failed ? 2 : 0 },
      });
    }
    resourceSpans.push({
      resource: { attributes: podAttrs(w, r) },
      scopeSpans: [{ scope: { name: 'io.opentelemetry.spring-webmvc-6.0', version: '2.10.0' }, spans }],
    });
  }
  return encodeOtlp('ExportTraceServiceRequest', { resourceSpans });
}

export function batch(signal: Signal, o: FixtureOptions): Buffer {
  return signal === 'logs' ? logsBatch(o) : signal === 'metrics' ? metricsBatch(o) : tracesBatch(o);
}
