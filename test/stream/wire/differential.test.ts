// Differential tests: our hand-written decoder against protobufjs reflection over the pinned protos,
// field for field (for exactly the fields our decoder reads), on generated batches and on bytes
// written by the OpenTelemetry JS SDK's own protobuf serializers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ROOT_CONTEXT,
  SeverityNumber,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  ValueType,
} from '@opentelemetry/api';
import {
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { k8sEventsRequest } from '../../../src/sim/k8s-events.ts';
import { otlpType } from '../../../src/sim/otlp-proto.ts';
import { decodeLogs } from '../../../src/stream/wire/decode-logs.ts';
import { decodeMetrics } from '../../../src/stream/wire/decode-metrics.ts';
import { decodeTraces } from '../../../src/stream/wire/decode-traces.ts';
import { KeyValueList } from '../../../src/stream/wire/otlp-model.ts';
import {
  anyValueArb,
  INT64_EXTREMES,
  logsRequestArb,
  metricsRequestArb,
  tracesRequestArb,
} from '../../helpers/otlp-arbitraries.ts';
import {
  encode,
  lenField,
  mulberry32,
  type Norm,
  normAny,
  referenceObject,
  refLogs,
  SIGNALS,
  shuffleFields,
  signal,
  tag,
} from './wire-helpers.ts';

const SEED = 20261128;
const NUM_RUNS = 200;

const ARBS = { logs: logsRequestArb, metrics: metricsRequestArb, traces: tracesRequestArb } as const;

function agree(name: 'logs' | 'metrics' | 'traces', bytes: Uint8Array): Norm {
  const s = signal(name);
  const ours = s.ours(bytes);
  assert.deepStrictEqual(ours, s.reference(bytes));
  return ours;
}

describe('differential: generated batches, ours vs protobufjs', () => {
  for (const s of SIGNALS) {
    it(`${s.name}: every field we read agrees on ${NUM_RUNS} generated batches`, () => {
      fc.assert(
        fc.property(ARBS[s.name], (req) => {
          const bytes = encode(s.request, req);
          if (bytes.length === 0) return; // an empty request is an empty record: covered by fuzz.test.ts
          agree(s.name, bytes);
        }),
        { seed: SEED, numRuns: NUM_RUNS },
      );
    });
  }

  for (const s of SIGNALS) {
    it(`${s.name}: field order on the wire does not matter`, () => {
      const type = otlpType(s.request);
      fc.assert(
        fc.property(ARBS[s.name], fc.integer(), (req, seed) => {
          const bytes = encode(s.request, req);
          if (bytes.length === 0) return;
          const shuffled = shuffleFields(bytes, type, mulberry32(seed));
          const expected = s.ours(bytes);
          assert.deepStrictEqual(s.ours(shuffled), expected);
          assert.deepStrictEqual(s.reference(shuffled), expected);
        }),
        { seed: SEED, numRuns: 100 },
      );
    });
  }

  it('unpacked (one tag per element) and mixed bucket_counts/explicit_bounds read like packed ones', () => {
    const counts = [0n, 1n, 2n ** 53n - 1n, 7n];
    const bounds = [-0, 0.5, Number.POSITIVE_INFINITY];
    const fixed64 = (v: bigint) => Buffer.from(new BigUint64Array([v]).buffer);
    const double = (v: number) => Buffer.from(new Float64Array([v]).buffer);
    const packed = (field: number, parts: Buffer[]) => lenField(field, Buffer.concat(parts));
    const unpacked = (field: number, parts: Buffer[]) =>
      Buffer.concat(parts.map((p) => Buffer.concat([tag(field, 1), p])));
    const c = counts.map(fixed64);
    const b = bounds.map(double);
    const request = (point: Buffer) => lenField(1, lenField(2, lenField(2, lenField(9, lenField(1, point)))));
    const variants = [
      Buffer.concat([packed(6, c), packed(7, b)]),
      Buffer.concat([unpacked(6, c), unpacked(7, b)]),
      Buffer.concat([
        packed(6, c.slice(0, 2)),
        unpacked(6, c.slice(2)),
        unpacked(7, b.slice(0, 1)),
        packed(7, b.slice(1)),
      ]),
    ];
    const results = variants.map((v) => agree('metrics', request(v)));
    assert.deepStrictEqual(results[1], results[0]);
    assert.deepStrictEqual(results[2], results[0]);
    const data = decodeMetrics(request(variants[1]!)).resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.data;
    assert.ok(data?.type === 'histogram');
    assert.deepStrictEqual(data.dataPoints[0]?.bucketCounts, counts.map(Number));
    assert.deepStrictEqual(data.dataPoints[0]?.explicitBounds, bounds);
  });

  it('invalid UTF-8 in a string is repaired with U+FFFD, where protobufjs 8 rejects the whole message', () => {
    // A deliberate difference: proto3 says strings are UTF-8 and protobufjs' decoder enforces it, but
    // one bad byte from a misbehaving SDK should not dead-letter a whole batch of a triage pipeline.
    const bad = Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62, 0xff, 0xc3]); // a, lone surrogate, b, 0xff, cut-off 2-byte
    const kv = Buffer.concat([lenField(1, bad), lenField(2, lenField(1, bad))]);
    const bytes = lenField(1, lenField(2, lenField(2, Buffer.concat([lenField(3, bad), lenField(6, kv)]))));
    const rec = decodeLogs(bytes).resourceLogs[0]?.scopeLogs[0]?.logRecords[0];
    assert.ok(rec);
    const repaired = bad.toString('utf8');
    assert.ok(repaired.startsWith('a\ufffd') && repaired.includes('b'));
    assert.equal(rec.severityText, repaired);
    assert.deepStrictEqual(rec.attributes, [{ key: repaired, value: repaired }]);
    assert.throws(() => referenceObject('ExportLogsServiceRequest', bytes), /not valid for encoding utf-8/);
  });

  it('the generators reach the interesting shapes (so agreement is not vacuous)', () => {
    const seen = new Set<string>();
    const visit = (n: Norm): void => {
      if (Array.isArray(n)) n.forEach(visit);
      else if (n !== null && typeof n === 'object') {
        if (typeof n.t === 'string') seen.add(`any:${n.t}`);
        if (typeof n.type === 'string') seen.add(`metric:${n.type}`);
        if (n.t === 'num' && (n.v === 'NaN' || n.v === '-0' || n.v === 'Infinity')) seen.add(`double:${n.v}`);
        Object.values(n).forEach(visit);
      }
    };
    for (const s of SIGNALS) {
      for (const req of fc.sample(ARBS[s.name], { seed: SEED, numRuns: NUM_RUNS })) {
        const bytes = encode(s.request, req);
        if (bytes.length > 0) visit(s.ours(bytes));
      }
    }
    for (const want of [
      'any:str',
      'any:bool',
      'any:num',
      'any:int',
      'any:bytes',
      'any:arr',
      'any:kv',
      'any:none',
      'metric:gauge',
      'metric:sum',
      'metric:histogram',
      'metric:other',
      'metric:none',
      'double:NaN',
      'double:-0',
      'double:Infinity',
    ]) {
      assert.ok(seen.has(want), `generators never produced ${want}`);
    }
  });

  it('nested AnyValue (depth 3) with int64 extremes agrees inside a log body and attributes', () => {
    fc.assert(
      fc.property(anyValueArb(3), anyValueArb(3), (body, attr) => {
        const bytes = encode('ExportLogsServiceRequest', {
          resourceLogs: [
            { scopeLogs: [{ logRecords: [{ body, attributes: [{ key: 'k8s.pod.name', value: attr }] }] }] },
          ],
        });
        agree('logs', bytes);
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  });

  it('int64 values are numbers exactly when Number.isSafeInteger, bigints beyond (both signs)', () => {
    const attributes = INT64_EXTREMES.map((v, i) => ({ key: `i${i}`, value: { intValue: v.toString() } }));
    const bytes = encode('ExportLogsServiceRequest', {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes }] }] }],
    });
    const rec = decodeLogs(bytes).resourceLogs[0]?.scopeLogs[0]?.logRecords[0];
    assert.ok(rec);
    assert.equal(rec.attributes.length, INT64_EXTREMES.length);
    rec.attributes.forEach((kv, i) => {
      const want = INT64_EXTREMES[i]!;
      const safe = want >= -BigInt(Number.MAX_SAFE_INTEGER) && want <= BigInt(Number.MAX_SAFE_INTEGER);
      assert.equal(typeof kv.value, safe ? 'number' : 'bigint', `${want}`);
      assert.equal(BigInt(kv.value as number | bigint), want);
    });
    agree('logs', bytes);
  });

  it('k8seventsreceiver-shaped batches (the simulator) agree', () => {
    const events = Array.from({ length: 20 }, (_, i) => ({
      namespace: i % 2 ? 'shop' : 'kube-system',
      reason: i % 3 ? 'BackOff' : 'OOMKilling',
      message: `Back-off restarting failed container ${i} — ünïcödé 🚀`,
      type: i % 2 ? ('Warning' as const) : ('Normal' as const),
      object: { kind: 'Pod', name: `api-7d9f8c6b5-${i}`, uid: `pod-${i}` },
      uid: `0f2c6c1e-2b1d-4b8e-9a51-${String(i).padStart(12, '0')}`,
      count: i,
      atMs: Date.UTC(2026, 10, 28, 10, 0, i),
      node: 'node-1',
    }));
    const bytes = encode('ExportLogsServiceRequest', k8sEventsRequest(events));
    const ours = agree('logs', bytes);
    assert.equal((ours as { resourceLogs: Norm[] }).resourceLogs.length, 20);
  });
});

// ---- the OpenTelemetry JS SDK's serializers ----------------------------------------------------

const T_SEC = 1764300000;
const RESOURCE = resourceFromAttributes({
  'k8s.namespace.name': 'shop',
  'k8s.pod.name': 'api-7d9f8c6b5-x2kqz',
  'k8s.deployment.name': 'api',
  'k8s.container.restart_count': 3,
  'host.arch.bits': 2 ** 60,
  'process.ratio': 0.5,
  'process.flags': [true, false],
});

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

function assertSame(name: 'logs' | 'metrics' | 'traces', bytes: Uint8Array | undefined): Uint8Array {
  assert.ok(bytes && bytes.length > 0, 'the SDK serializer produced no bytes');
  agree(name, bytes);
  return bytes;
}

describe('differential: bytes from the OpenTelemetry JS SDK serializers', () => {
  it('logs (ProtobufLogsSerializer over LoggerProvider records) decode identically', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: RESOURCE,
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const events = provider.getLogger('github.com/open-telemetry/k8seventsreceiver', '0.165.1');
    const app = provider.getLogger('app', '1.0.0');
    events.emit({
      eventName: 'k8s.event',
      timestamp: [T_SEC, 123456789],
      observedTimestamp: [T_SEC, 987654321],
      severityNumber: SeverityNumber.WARN,
      severityText: 'Warning',
      body: 'Back-off restarting failed container api in pod api-7d9f8c6b5-x2kqz_shop',
      attributes: {
        'k8s.event.reason': 'BackOff',
        'k8s.event.count': 17,
        'k8s.namespace.name': 'shop',
        'k8s.event.uid': 'ev-1',
      },
    });
    app.emit({
      timestamp: [T_SEC, 5],
      severityNumber: SeverityNumber.ERROR,
      body: {
        object: {
          kind: 'Pod',
          metadata: { name: 'api', labels: { app: 'api', 'pod-template-hash': '7d9f8c6b5' } },
          restarts: [1, 2, 3.5, -(2 ** 62)],
          raw: new Uint8Array([0, 1, 254, 255]),
          nothing: null,
        },
        unicode: 'naïve ☃ 𝄞 中文',
        big: 2 ** 63,
        neg: -(2 ** 63),
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        negZero: -0,
      },
      attributes: { list: ['a', 'b'], ints: [1, 2 ** 53 + 2], flag: false },
    });
    const tracer = new TracerProvider({}).getTracer('t');
    // A log emitted inside an active span carries its trace/span ids and flags.
    const span = tracer.startSpan('x');
    const ctx = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
    app.emit({
      timestamp: [T_SEC, 6],
      body: 'in a span',
      context: trace.setSpan(ROOT_CONTEXT, span),
    });
    await provider.forceFlush();
    const records = exporter.getFinishedLogRecords();
    assert.equal(records.length, 3);

    const bytes = assertSame('logs', ProtobufLogsSerializer.serializeRequest(records));
    const req = decodeLogs(bytes);
    const logs = req.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));
    const ev = logs.find((l) => l.eventName === 'k8s.event');
    assert.ok(ev);
    assert.equal(ev.timeUnixNano, 1764300000123456789n);
    assert.equal(ev.observedTimeUnixNano, 1764300000987654321n);
    const body = logs.find((l) => l.body instanceof KeyValueList)?.body;
    assert.ok(body instanceof KeyValueList);
    const traced = logs.find((l) => l.body === 'in a span');
    assert.ok(traced);
    assert.equal(Buffer.from(traced.traceId ?? []).toString('hex'), ctx.traceId);
    assert.equal(Buffer.from(traced.spanId ?? []).toString('hex'), ctx.spanId);
    assert.equal(traced.flags, TraceFlags.SAMPLED);
    const resource = req.resourceLogs[0]?.resource;
    assert.ok(resource);
    assert.deepStrictEqual(
      resource.attributes.map((kv) => [kv.key, normAny(kv.value)]),
      [
        ['k8s.namespace.name', { t: 'str', v: 'shop' }],
        ['k8s.pod.name', { t: 'str', v: 'api-7d9f8c6b5-x2kqz' }],
        ['k8s.deployment.name', { t: 'str', v: 'api' }],
        ['k8s.container.restart_count', { t: 'num', v: '3' }],
        ['host.arch.bits', { t: 'int', v: String(2n ** 60n) }],
        ['process.ratio', { t: 'num', v: '0.5' }],
        [
          'process.flags',
          {
            t: 'arr',
            v: [
              { t: 'bool', v: true },
              { t: 'bool', v: false },
            ],
          },
        ],
      ],
    );
    await provider.shutdown();
  });

  it('traces (ProtobufTraceSerializer over TracerProvider spans) decode identically', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: RESOURCE,
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('io.opentelemetry.http', '2.0.0');
    const kinds = [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER];
    const root = tracer.startSpan('GET /api/orders', {
      kind: SpanKind.SERVER,
      startTime: [T_SEC, 123456789],
      attributes: { 'http.response.status_code': 503, 'k8s.pod.name': 'api-1', retries: [1, 2] },
    });
    const parentCtx = trace.setSpan(ROOT_CONTEXT, root);
    kinds.forEach((kind, i) => {
      const child = tracer.startSpan(
        `child-${i}`,
        {
          kind,
          startTime: [T_SEC, 200000000 + i],
          links: [{ context: root.spanContext(), attributes: { 'link.i': i } }],
        },
        parentCtx,
      );
      child.addEvent('retry', { attempt: i, 'exception.message': 'ünïcödé' }, [T_SEC, 300000000 + i]);
      if (i % 2) child.setStatus({ code: SpanStatusCode.ERROR, message: `boom ${i}` });
      else child.setStatus({ code: SpanStatusCode.OK });
      child.end([T_SEC + 1, i]);
    });
    root.recordException(new Error('upstream timed out'), [T_SEC, 400000000]);
    root.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timed out' });
    root.end([T_SEC + 2, 999999999]);
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 6);

    const bytes = assertSame('traces', ProtobufTraceSerializer.serializeRequest(spans));
    const decoded = decodeTraces(bytes).resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans),
    );
    const server = decoded.find((s) => s.name === 'GET /api/orders');
    assert.ok(server);
    assert.equal(server.kind, 2);
    assert.equal(server.startTimeUnixNano, 1764300000123456789n);
    assert.equal(server.endTimeUnixNano, 1764300002999999999n);
    assert.equal(server.statusCode, 2);
    assert.equal(server.statusMessage, 'upstream timed out');
    assert.equal(server.events[0]?.name, 'exception');
    assert.equal(server.parentSpanId, undefined);
    assert.deepStrictEqual(decoded.map((s) => s.kind).sort(), [1, 2, 2, 3, 4, 5]);
    for (const child of decoded.filter((s) => s !== server)) {
      assert.deepStrictEqual(child.parentSpanId, server.spanId);
      assert.deepStrictEqual(child.traceId, server.traceId);
    }
    await provider.shutdown();
  });

  it('metrics (ProtobufMetricsSerializer over a MeterProvider collection) decode identically', async () => {
    const reader = new CollectingReader({
      aggregationTemporalitySelector: () => AggregationTemporality.DELTA,
    });
    const provider = new MeterProvider({
      resource: RESOURCE,
      readers: [reader],
      views: [
        { instrumentName: 'exp.*', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
        {
          instrumentName: 'http.server.request.duration',
          aggregation: {
            type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
            options: { boundaries: [0.1, 1, 10] },
          },
        },
      ],
    });
    const meter = provider.getMeter('k8sclusterreceiver', '0.165.1');
    meter.createCounter('k8s.container.restarts').add(3, { 'k8s.pod.name': 'api-1' });
    meter.createCounter('k8s.container.restarts').add(2, { 'k8s.pod.name': 'api-2' });
    meter.createUpDownCounter('k8s.pod.pending').add(-2.5);
    meter
      .createGauge('k8s.pod.phase', { valueType: ValueType.INT })
      .record(-7, { 'k8s.namespace.name': 'shop' });
    meter.createGauge('k8s.node.cpu', { valueType: ValueType.DOUBLE }).record(0.25);
    const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
    for (const v of [0.05, 0.5, 5, 50, 50]) duration.record(v, { 'http.route': '/api/orders' });
    const defaultHist = meter.createHistogram('k8s.request.size', { unit: 'By' });
    defaultHist.record(12.5);
    const exp = meter.createHistogram('exp.latency');
    for (const v of [1, 2, 4, 1000]) exp.record(v);
    meter
      .createObservableGauge('k8s.node.memory', { valueType: ValueType.INT })
      .addCallback((r) => r.observe(2 ** 40, { 'k8s.node.name': 'node-1' }));

    const { resourceMetrics, errors } = await reader.collect();
    assert.deepStrictEqual(errors, []);
    const bytes = assertSame('metrics', ProtobufMetricsSerializer.serializeRequest(resourceMetrics));
    const metrics = decodeMetrics(bytes).resourceMetrics.flatMap((rm) =>
      rm.scopeMetrics.flatMap((sm) => sm.metrics),
    );
    const byName = new Map(metrics.map((m) => [m.name, m]));
    assert.equal(byName.get('exp.latency')?.data.type, 'other');
    assert.equal(byName.get('k8s.container.restarts')?.data.type, 'sum');
    assert.equal(byName.get('k8s.pod.phase')?.data.type, 'gauge');
    const hist = byName.get('http.server.request.duration')?.data;
    assert.ok(hist?.type === 'histogram');
    const p = hist.dataPoints[0];
    assert.ok(p);
    assert.equal(p.count, 5);
    assert.deepStrictEqual(p.explicitBounds, [0.1, 1, 10]);
    assert.deepStrictEqual(p.bucketCounts, [1, 1, 1, 2]);
    assert.equal(p.min, 0.05);
    assert.equal(p.max, 50);
    assert.equal(byName.size, metrics.length);
    await provider.shutdown();
  });

  it('the SDK logs serializer with generated bodies and attributes decodes identically', async () => {
    // API-shaped AnyValues (what a user passes to logger.emit), generated and sent through the SDK.
    const leaf = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(2 ** 53 + 2, -(2 ** 63), 2 ** 62, null),
      fc.uint8Array({ maxLength: 6 }),
    );
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { maxDepth: 3, depthSize: 'small' },
        { weight: 4, arbitrary: leaf },
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 }),
      ),
    }));
    const samples = fc.sample(
      fc.tuple(value, fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 4 })),
      {
        seed: SEED,
        numRuns: 100,
      },
    );
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    const logger = provider.getLogger('gen');
    samples.forEach(([body, attributes], i) => {
      logger.emit({ timestamp: [T_SEC, i], body: body as never, attributes: attributes as never });
    });
    await provider.forceFlush();
    const bytes = assertSame(
      'logs',
      ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords()),
    );
    const ref = refLogs(referenceObject('ExportLogsServiceRequest', bytes)) as { resourceLogs: Norm[] };
    assert.equal(ref.resourceLogs.length, 1);
    await provider.shutdown();
  });
});
