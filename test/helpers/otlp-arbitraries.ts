// fast-check arbitraries for OTLP requests in protobufjs plain-object form (what `encodeOtlp` and
// `Type.fromObject` accept): int64/fixed64 as decimal strings so every digit survives, bytes as
// Uint8Array, optional fields left out at random. They generate the fields our decoder reads *and*
// fields it skips (exemplars, links, trace_state, metadata, entity_refs, exponential histograms,
// summaries, *_strindex), so a differential test also proves that skipping lands on the next field.
import fc from 'fast-check';

/** A message in protobufjs plain-object form. */
export type Pb = { [key: string]: unknown };

export const K8S_KEYS = [
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.pod.uid',
  'k8s.deployment.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.container.name',
  'k8s.container.restart_count',
  'k8s.node.name',
  'k8s.object.kind',
  'k8s.object.name',
  'k8s.event.reason',
  'k8s.event.uid',
  'k8s.event.count',
  'k8s.event.start_time',
  'service.name',
  'http.response.status_code',
  'exception.type',
  'exception.message',
] as const;

const K8S_VALUES = [
  '',
  'shop',
  'kube-system',
  'api-7d9f8c6b5-x2kqz',
  'api',
  'node-1',
  'BackOff',
  'OOMKilled',
  'Back-off restarting failed container api in pod api-7d9f8c6b5-x2kqz_shop(pod-1)',
  '2026-11-28 10:00:00 +0000 UTC',
] as const;

const TWO_63 = 2n ** 63n;
const TWO_64 = 2n ** 64n;
const TWO_53 = 2n ** 53n;

/**
 * Any Unicode scalar values (astral planes included), not just ASCII. No lone surrogates: protobufjs
 * would write them as invalid UTF-8, which its own decoder then rejects (see differential.test.ts).
 */
export const unicodeString = (maxLength = 24): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength });

export const textArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...K8S_VALUES) },
  { weight: 3, arbitrary: unicodeString() },
);

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...K8S_KEYS) },
  { weight: 1, arbitrary: unicodeString(16) },
);

/** Boundaries of the int64 range and of exact doubles (where the decoder switches number ↔ bigint). */
export const INT64_EXTREMES: readonly bigint[] = [
  0n,
  1n,
  -1n,
  -TWO_63,
  TWO_63 - 1n,
  -TWO_63 + 1n,
  TWO_53 - 1n,
  TWO_53,
  TWO_53 + 1n,
  -(TWO_53 - 1n),
  -TWO_53,
  -(TWO_53 + 1n),
  2n ** 31n - 1n,
  -(2n ** 31n),
  2n ** 32n,
  -(2n ** 32n),
];

export const int64Arb: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...INT64_EXTREMES),
  fc.bigInt({ min: -TWO_63, max: TWO_63 - 1n }),
  fc.integer().map(BigInt),
);

export const uint64Arb: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(0n, 1n, TWO_53 - 1n, TWO_53, TWO_53 + 1n, TWO_63, TWO_64 - 1n),
  fc.bigInt({ min: 0n, max: TWO_64 - 1n }),
  fc.bigInt({ min: 0n, max: 1000n }),
);

/** Nanosecond timestamps: real ones are ~1.76e18, far beyond 2^53. */
export const TIMESTAMP_EXTREMES: readonly bigint[] = [
  0n,
  1764300000123456789n,
  1764300000000000001n,
  TWO_53 + 1n,
  TWO_63 - 1n,
  TWO_63,
  TWO_64 - 1n,
];

export const timestampArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...TIMESTAMP_EXTREMES),
  fc.bigInt({ min: 1_700_000_000_000_000_000n, max: 1_900_000_000_000_000_000n }),
  fc.bigInt({ min: 0n, max: TWO_64 - 1n }),
);

export const DOUBLE_SPECIALS: readonly number[] = [
  Number.NaN,
  -0,
  0,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  Number.MAX_VALUE,
  Number.EPSILON,
  2 ** 53 + 2,
  0.1,
];

export const doubleArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...DOUBLE_SPECIALS),
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }),
);

const uint32Arb = fc.oneof(fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff), fc.nat());
/** Enum fields are int32 on the wire; unknown and negative values must round-trip too. */
const enumArb = (max: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max }) },
    fc.constantFrom(-1, 99, 2 ** 31 - 1, -(2 ** 31)),
  );

/** Trace/span ids: usually the right length, sometimes empty or a wrong length (kept as-is). */
export const idArb = (len: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ minLength: len, maxLength: len }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }) },
  );

const u64s = uint64Arb.map(String);
const i64s = int64Arb.map(String);
const ts = timestampArb.map(String);

const scalarValueArb: fc.Arbitrary<Pb> = fc.oneof(
  fc.record({ stringValue: textArb }),
  fc.record({ boolValue: fc.boolean() }),
  fc.record({ intValue: i64s }),
  fc.record({ doubleValue: doubleArb }),
  fc.record({ bytesValue: fc.uint8Array({ maxLength: 12 }) }),
  // Unset AnyValue (an empty message) and the profiles-only string_value_strindex: both read as undefined.
  fc.constant({}),
  fc.record({ stringValueStrindex: fc.integer() }),
);

/** AnyValue with arrays and kvlists nested up to `maxDepth` levels. */
export function anyValueArb(maxDepth = 3): fc.Arbitrary<Pb> {
  const { value } = fc.letrec<{ value: Pb; array: Pb; kvlist: Pb }>((tie) => ({
    value: fc.oneof(
      { maxDepth, depthSize: 'small', withCrossShrink: true },
      { weight: 6, arbitrary: scalarValueArb },
      { weight: 1, arbitrary: tie('array') },
      { weight: 1, arbitrary: tie('kvlist') },
    ),
    array: fc.record({ arrayValue: fc.record({ values: fc.array(tie('value'), { maxLength: 4 }) }) }),
    kvlist: fc.record({
      kvlistValue: fc.record({ values: fc.array(keyValueOf(tie('value')), { maxLength: 4 }) }),
    }),
  }));
  return value;
}

function keyValueOf(value: fc.Arbitrary<Pb>): fc.Arbitrary<Pb> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ key: keyArb, value }) },
    // KeyValue without a value, and the profiles-only key_strindex (skipped).
    { weight: 1, arbitrary: fc.record({ key: keyArb }) },
    { weight: 1, arbitrary: fc.record({ key: keyArb, value, keyStrindex: fc.integer() }) },
  );
}

export const attributesArb = (maxLength = 4, maxDepth = 2): fc.Arbitrary<Pb[]> =>
  fc.array(keyValueOf(anyValueArb(maxDepth)), { maxLength });

/** v1.5+ Resource.entity_refs: the decoder skips them. */
const entityRefArb: fc.Arbitrary<Pb> = fc.record(
  {
    schemaUrl: textArb,
    type: fc.constantFrom('k8s.pod', 'k8s.deployment', 'service'),
    idKeys: fc.array(keyArb, { maxLength: 2 }),
    descriptionKeys: fc.array(keyArb, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

export const resourceArb: fc.Arbitrary<Pb> = fc.record(
  {
    attributes: attributesArb(6),
    droppedAttributesCount: uint32Arb,
    entityRefs: fc.array(entityRefArb, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

export const scopeArb: fc.Arbitrary<Pb> = fc.record(
  {
    name: textArb,
    version: textArb,
    attributes: attributesArb(2),
    droppedAttributesCount: uint32Arb,
  },
  { requiredKeys: [] },
);

const schemaUrlArb = fc.constantFrom('', 'https://opentelemetry.io/schemas/1.26.0');

// ---- logs ----------------------------------------------------------------------------------

export const logRecordArb: fc.Arbitrary<Pb> = fc.record(
  {
    timeUnixNano: ts,
    observedTimeUnixNano: ts,
    severityNumber: enumArb(24),
    severityText: fc.oneof(fc.constantFrom('Normal', 'Warning', 'ERROR'), textArb),
    body: anyValueArb(3),
    attributes: attributesArb(),
    droppedAttributesCount: uint32Arb,
    flags: uint32Arb,
    traceId: idArb(16),
    spanId: idArb(8),
    eventName: fc.oneof(fc.constantFrom('k8s.event', 'device.app.lifecycle'), textArb),
  },
  { requiredKeys: [] },
);

export const logsRequestArb: fc.Arbitrary<Pb> = fc.record({
  resourceLogs: fc.array(
    fc.record(
      {
        resource: resourceArb,
        scopeLogs: fc.array(
          fc.record(
            {
              scope: scopeArb,
              logRecords: fc.array(logRecordArb, { maxLength: 4 }),
              schemaUrl: schemaUrlArb,
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        schemaUrl: schemaUrlArb,
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
});

// ---- metrics -------------------------------------------------------------------------------

const exemplarArb: fc.Arbitrary<Pb> = fc
  .tuple(
    fc.record(
      { filteredAttributes: attributesArb(2, 1), timeUnixNano: ts, spanId: idArb(8), traceId: idArb(16) },
      { requiredKeys: [] },
    ),
    fc.oneof(fc.record({ asDouble: doubleArb }), fc.record({ asInt: i64s }), fc.constant({})),
  )
  .map(([e, v]) => ({ ...e, ...v }));

const exemplarsArb = fc.array(exemplarArb, { maxLength: 2 });

const numberPointArb: fc.Arbitrary<Pb> = fc
  .tuple(
    fc.record(
      {
        attributes: attributesArb(),
        startTimeUnixNano: ts,
        timeUnixNano: ts,
        exemplars: exemplarsArb,
        flags: uint32Arb,
      },
      { requiredKeys: [] },
    ),
    fc.oneof(fc.record({ asDouble: doubleArb }), fc.record({ asInt: i64s }), fc.constant({})),
  )
  .map(([p, v]) => ({ ...p, ...v }));

const histogramPointArb: fc.Arbitrary<Pb> = fc.record(
  {
    attributes: attributesArb(),
    startTimeUnixNano: ts,
    timeUnixNano: ts,
    count: u64s,
    sum: doubleArb,
    bucketCounts: fc.array(u64s, { maxLength: 8 }),
    explicitBounds: fc.array(doubleArb, { maxLength: 8 }),
    exemplars: exemplarsArb,
    flags: uint32Arb,
    min: doubleArb,
    max: doubleArb,
  },
  { requiredKeys: [] },
);

const bucketsArb: fc.Arbitrary<Pb> = fc.record(
  { offset: fc.integer(), bucketCounts: fc.array(u64s, { maxLength: 4 }) },
  { requiredKeys: [] },
);

const expHistogramPointArb: fc.Arbitrary<Pb> = fc.record(
  {
    attributes: attributesArb(2),
    startTimeUnixNano: ts,
    timeUnixNano: ts,
    count: u64s,
    sum: doubleArb,
    scale: fc.integer({ min: -10, max: 20 }),
    zeroCount: u64s,
    positive: bucketsArb,
    negative: bucketsArb,
    flags: uint32Arb,
    exemplars: exemplarsArb,
    min: doubleArb,
    max: doubleArb,
    zeroThreshold: doubleArb,
  },
  { requiredKeys: [] },
);

const summaryPointArb: fc.Arbitrary<Pb> = fc.record(
  {
    attributes: attributesArb(2),
    startTimeUnixNano: ts,
    timeUnixNano: ts,
    count: u64s,
    sum: doubleArb,
    quantileValues: fc.array(fc.record({ quantile: doubleArb, value: doubleArb }), { maxLength: 3 }),
    flags: uint32Arb,
  },
  { requiredKeys: [] },
);

const points = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { maxLength: 3 });
const temporalityArb = enumArb(2);

const metricDataArb: fc.Arbitrary<Pb> = fc.oneof(
  fc.record({ gauge: fc.record({ dataPoints: points(numberPointArb) }, { requiredKeys: [] }) }),
  fc.record({
    sum: fc.record(
      {
        dataPoints: points(numberPointArb),
        aggregationTemporality: temporalityArb,
        isMonotonic: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    histogram: fc.record(
      { dataPoints: points(histogramPointArb), aggregationTemporality: temporalityArb },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    exponentialHistogram: fc.record(
      { dataPoints: points(expHistogramPointArb), aggregationTemporality: temporalityArb },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ summary: fc.record({ dataPoints: points(summaryPointArb) }, { requiredKeys: [] }) }),
  fc.constant({}),
);

export const metricArb: fc.Arbitrary<Pb> = fc
  .tuple(
    fc.record(
      {
        name: fc.oneof(
          fc.constantFrom('k8s.container.restarts', 'k8s.pod.phase', 'http.server.request.duration'),
          textArb,
        ),
        description: textArb,
        unit: fc.constantFrom('', '1', 's', 'By', '{restart}'),
        metadata: attributesArb(2, 1),
      },
      { requiredKeys: [] },
    ),
    metricDataArb,
  )
  .map(([m, d]) => ({ ...m, ...d }));

export const metricsRequestArb: fc.Arbitrary<Pb> = fc.record({
  resourceMetrics: fc.array(
    fc.record(
      {
        resource: resourceArb,
        scopeMetrics: fc.array(
          fc.record(
            { scope: scopeArb, metrics: fc.array(metricArb, { maxLength: 4 }), schemaUrl: schemaUrlArb },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        schemaUrl: schemaUrlArb,
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
});

// ---- traces --------------------------------------------------------------------------------

const traceStateArb = fc.constantFrom('', 'rojo=00f067aa0ba902b7', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');

const spanEventArb: fc.Arbitrary<Pb> = fc.record(
  {
    timeUnixNano: ts,
    name: fc.oneof(fc.constantFrom('exception', 'retry'), textArb),
    attributes: attributesArb(3),
    droppedAttributesCount: uint32Arb,
  },
  { requiredKeys: [] },
);

const spanLinkArb: fc.Arbitrary<Pb> = fc.record(
  {
    traceId: idArb(16),
    spanId: idArb(8),
    traceState: traceStateArb,
    attributes: attributesArb(2),
    droppedAttributesCount: uint32Arb,
    flags: uint32Arb,
  },
  { requiredKeys: [] },
);

export const spanArb: fc.Arbitrary<Pb> = fc.record(
  {
    traceId: idArb(16),
    spanId: idArb(8),
    traceState: traceStateArb,
    parentSpanId: idArb(8),
    flags: uint32Arb,
    name: fc.oneof(fc.constantFrom('GET /api/orders', 'SELECT shop.orders'), textArb),
    kind: enumArb(5),
    startTimeUnixNano: ts,
    endTimeUnixNano: ts,
    attributes: attributesArb(),
    droppedAttributesCount: uint32Arb,
    events: fc.array(spanEventArb, { maxLength: 3 }),
    droppedEventsCount: uint32Arb,
    links: fc.array(spanLinkArb, { maxLength: 2 }),
    droppedLinksCount: uint32Arb,
    status: fc.record({ message: textArb, code: enumArb(2) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

export const tracesRequestArb: fc.Arbitrary<Pb> = fc.record({
  resourceSpans: fc.array(
    fc.record(
      {
        resource: resourceArb,
        scopeSpans: fc.array(
          fc.record(
            { scope: scopeArb, spans: fc.array(spanArb, { maxLength: 4 }), schemaUrl: schemaUrlArb },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        schemaUrl: schemaUrlArb,
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
});
