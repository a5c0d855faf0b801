// The decoded OTLP model: plain objects named like the proto fields (camelCase, as protobufjs
// names them), so a differential test can compare field for field with a reference decoder.
// Integer values are numbers while exact and bigints beyond 2^53; fixed64 timestamps are bigints.

export type AnyValue =
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | AnyValue[]
  | KeyValueList
  | undefined;

/** AnyValue.kvlist_value; a class so it can be told apart from arrays and plain values. */
export class KeyValueList {
  readonly values: KeyValue[];
  constructor(values: KeyValue[]) {
    this.values = values;
  }
}

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
}

export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  flags: number;
  traceId: Uint8Array | undefined;
  spanId: Uint8Array | undefined;
  eventName: string;
}

export interface ScopeLogs {
  scope: InstrumentationScope | undefined;
  logRecords: LogRecord[];
  schemaUrl: string;
}

export interface ResourceLogs {
  resource: Resource | undefined;
  scopeLogs: ScopeLogs[];
  schemaUrl: string;
}

export interface LogsRequest {
  resourceLogs: ResourceLogs[];
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** as_double or as_int; undefined when neither is set. */
  value: number | bigint | undefined;
  flags: number;
}

export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: number;
  sum: number | undefined;
  bucketCounts: number[];
  explicitBounds: number[];
  min: number | undefined;
  max: number | undefined;
  flags: number;
}

export type MetricData =
  | { type: 'gauge'; dataPoints: NumberDataPoint[] }
  | { type: 'sum'; dataPoints: NumberDataPoint[]; aggregationTemporality: number; isMonotonic: boolean }
  | { type: 'histogram'; dataPoints: HistogramDataPoint[]; aggregationTemporality: number }
  | { type: 'other' }
  | { type: 'none' };

export interface Metric {
  name: string;
  description: string;
  unit: string;
  data: MetricData;
}

export interface ScopeMetrics {
  scope: InstrumentationScope | undefined;
  metrics: Metric[];
  schemaUrl: string;
}

export interface ResourceMetrics {
  resource: Resource | undefined;
  scopeMetrics: ScopeMetrics[];
  schemaUrl: string;
}

export interface MetricsRequest {
  resourceMetrics: ResourceMetrics[];
}

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
}

export interface Span {
  traceId: Uint8Array | undefined;
  spanId: Uint8Array | undefined;
  parentSpanId: Uint8Array | undefined;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: KeyValue[];
  events: SpanEvent[];
  statusCode: number;
  statusMessage: string;
}

export interface ScopeSpans {
  scope: InstrumentationScope | undefined;
  spans: Span[];
  schemaUrl: string;
}

export interface ResourceSpans {
  resource: Resource | undefined;
  scopeSpans: ScopeSpans[];
  schemaUrl: string;
}

export interface TracesRequest {
  resourceSpans: ResourceSpans[];
}

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const STATUS_CODE_ERROR = 2;

/** Linear lookup: OTLP attribute lists are short, and an array scan beats building a map per record. */
export function getAttr(attrs: readonly KeyValue[], key: string): AnyValue {
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    if (kv.key === key) return kv.value;
  }
  return undefined;
}

export function getStringAttr(attrs: readonly KeyValue[], key: string): string | undefined {
  const v = getAttr(attrs, key);
  return typeof v === 'string' ? v : undefined;
}

export function getNumberAttr(attrs: readonly KeyValue[], key: string): number | undefined {
  return numberValue(getAttr(attrs, key));
}

/** A number, an int64 or a numeric string as a number; undefined for anything else. */
export function numberValue(v: AnyValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}
