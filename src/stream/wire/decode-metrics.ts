// metrics/v1/metrics.proto and collector/metrics/v1/metrics_service.proto (opentelemetry-proto v1.11.0).
// ExportMetricsServiceRequest and MetricsData are wire-identical: `repeated ResourceMetrics resource_metrics = 1`.
//
// | message            | fields we read                                                          |
// |--------------------|-------------------------------------------------------------------------|
// | ResourceMetrics    | 1 resource; 2 scope_metrics repeated; 3 schema_url                      |
// | ScopeMetrics       | 1 scope; 2 metrics repeated; 3 schema_url                               |
// | Metric             | 1 name; 2 description; 3 unit; oneof data: 5 gauge, 7 sum, 9 histogram, |
// |                    | 10 exponential_histogram, 11 summary (kept as 'other'); 12 metadata skip|
// | Gauge              | 1 data_points repeated NumberDataPoint                                  |
// | Sum                | 1 data_points; 2 aggregation_temporality; 3 is_monotonic                |
// | Histogram          | 1 data_points repeated HistogramDataPoint; 2 aggregation_temporality    |
// | NumberDataPoint    | 7 attributes; 2 start_time fixed64; 3 time fixed64; 4 as_double double; |
// |                    | 6 as_int sfixed64; 8 flags uint32 (5 exemplars skipped)                 |
// | HistogramDataPoint | 9 attributes; 2 start_time; 3 time; 4 count fixed64; 5 sum double;      |
// |                    | 6 bucket_counts packed fixed64; 7 explicit_bounds packed double;        |
// |                    | 10 flags; 11 min; 12 max (8 exemplars skipped)                          |
import { pushKeyValue, readResource, readScope } from './decode-common.ts';
import type {
  HistogramDataPoint,
  Metric,
  MetricsRequest,
  NumberDataPoint,
  ResourceMetrics,
  ScopeMetrics,
} from './otlp-model.ts';
import { ProtoReader, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './reader.ts';
import { checkPayload } from './sniff.ts';

export function decodeMetrics(bytes: Uint8Array, topic = 'metrics'): MetricsRequest {
  checkPayload(bytes, topic);
  const r = new ProtoReader(bytes);
  const resourceMetrics: ResourceMetrics[] = [];
  const end = r.buf.length;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) resourceMetrics.push(readResourceMetrics(r, r.messageEnd()));
    else r.skip(tag & 7);
  }
  return { resourceMetrics };
}

function readResourceMetrics(r: ProtoReader, end: number): ResourceMetrics {
  const out: ResourceMetrics = { resource: undefined, scopeMetrics: [], schemaUrl: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceMetrics.resource', wt);
        out.resource = readResource(r, r.messageEnd());
        break;
      case 2:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceMetrics.scope_metrics', wt);
        out.scopeMetrics.push(readScopeMetrics(r, r.messageEnd()));
        break;
      case 3:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceMetrics.schema_url', wt);
        out.schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return out;
}

function readScopeMetrics(r: ProtoReader, end: number): ScopeMetrics {
  const out: ScopeMetrics = { scope: undefined, metrics: [], schemaUrl: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeMetrics.scope', wt);
        out.scope = readScope(r, r.messageEnd());
        break;
      case 2:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeMetrics.metrics', wt);
        out.metrics.push(readMetric(r, r.messageEnd()));
        break;
      case 3:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeMetrics.schema_url', wt);
        out.schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return out;
}

function readMetric(r: ProtoReader, end: number): Metric {
  const m: Metric = { name: '', description: '', unit: '', data: { type: 'none' } };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const field = tag >>> 3;
    if (wt !== WIRE_LEN) {
      r.skip(wt);
      continue;
    }
    switch (field) {
      case 1:
        m.name = r.string();
        break;
      case 2:
        m.description = r.string();
        break;
      case 3:
        m.unit = r.string();
        break;
      case 5:
      case 7:
        m.data = readNumberData(r, r.messageEnd(), field === 5);
        break;
      case 9:
        m.data = readHistogram(r, r.messageEnd());
        break;
      case 10:
      case 11:
        r.skip(wt);
        m.data = { type: 'other' };
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return m;
}

function readNumberData(r: ProtoReader, end: number, gauge: boolean): Metric['data'] {
  const dataPoints: NumberDataPoint[] = [];
  let aggregationTemporality = 0;
  let isMonotonic = false;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wt === WIRE_LEN) dataPoints.push(readNumberPoint(r, r.messageEnd()));
    else if (field === 2 && wt === WIRE_VARINT && !gauge) aggregationTemporality = r.uint32() | 0;
    else if (field === 3 && wt === WIRE_VARINT && !gauge) isMonotonic = r.bool();
    else r.skip(wt);
  }
  r.expectEnd(end);
  return gauge
    ? { type: 'gauge', dataPoints }
    : { type: 'sum', dataPoints, aggregationTemporality, isMonotonic };
}

function readNumberPoint(r: ProtoReader, end: number): NumberDataPoint {
  const p: NumberDataPoint = {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    value: undefined,
    flags: 0,
  };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 7:
        pushKeyValue(r, p.attributes, wt, 'NumberDataPoint.attributes');
        break;
      case 2:
        if (wt !== WIRE_I64) throw r.badWireType('NumberDataPoint.start_time_unix_nano', wt);
        p.startTimeUnixNano = r.fixed64();
        break;
      case 3:
        if (wt !== WIRE_I64) throw r.badWireType('NumberDataPoint.time_unix_nano', wt);
        p.timeUnixNano = r.fixed64();
        break;
      case 4:
        if (wt !== WIRE_I64) throw r.badWireType('NumberDataPoint.as_double', wt);
        p.value = r.double();
        break;
      case 6:
        if (wt !== WIRE_I64) throw r.badWireType('NumberDataPoint.as_int', wt);
        p.value = r.sfixed64();
        break;
      case 8:
        if (wt !== WIRE_VARINT) throw r.badWireType('NumberDataPoint.flags', wt);
        p.flags = r.uint32();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return p;
}

function readHistogram(r: ProtoReader, end: number): Metric['data'] {
  const dataPoints: HistogramDataPoint[] = [];
  let aggregationTemporality = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wt === WIRE_LEN) dataPoints.push(readHistogramPoint(r, r.messageEnd()));
    else if (field === 2 && wt === WIRE_VARINT) aggregationTemporality = r.uint32() | 0;
    else r.skip(wt);
  }
  r.expectEnd(end);
  return { type: 'histogram', dataPoints, aggregationTemporality };
}

function readHistogramPoint(r: ProtoReader, end: number): HistogramDataPoint {
  const p: HistogramDataPoint = {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    count: 0,
    sum: undefined,
    bucketCounts: [],
    explicitBounds: [],
    min: undefined,
    max: undefined,
    flags: 0,
  };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 9:
        pushKeyValue(r, p.attributes, wt, 'HistogramDataPoint.attributes');
        break;
      case 2:
        if (wt !== WIRE_I64) throw r.badWireType('HistogramDataPoint.start_time_unix_nano', wt);
        p.startTimeUnixNano = r.fixed64();
        break;
      case 3:
        if (wt !== WIRE_I64) throw r.badWireType('HistogramDataPoint.time_unix_nano', wt);
        p.timeUnixNano = r.fixed64();
        break;
      case 4:
        if (wt !== WIRE_I64) throw r.badWireType('HistogramDataPoint.count', wt);
        p.count = r.fixed64Count();
        break;
      case 5:
        if (wt !== WIRE_I64) throw r.badWireType('HistogramDataPoint.sum', wt);
        p.sum = r.double();
        break;
      case 6:
        // Packed (the proto3 default) or, from older writers, one element per tag.
        if (wt === WIRE_LEN) {
          const pEnd = r.messageEnd();
          while (r.pos < pEnd) p.bucketCounts.push(r.fixed64Count());
          r.expectEnd(pEnd);
        } else if (wt === WIRE_I64) p.bucketCounts.push(r.fixed64Count());
        else throw r.badWireType('HistogramDataPoint.bucket_counts', wt);
        break;
      case 7:
        if (wt === WIRE_LEN) {
          const pEnd = r.messageEnd();
          while (r.pos < pEnd) p.explicitBounds.push(r.double());
          r.expectEnd(pEnd);
        } else if (wt === WIRE_I64) p.explicitBounds.push(r.double());
        else throw r.badWireType('HistogramDataPoint.explicit_bounds', wt);
        break;
      case 10:
        if (wt !== WIRE_VARINT) throw r.badWireType('HistogramDataPoint.flags', wt);
        p.flags = r.uint32();
        break;
      case 11:
        if (wt !== WIRE_I64) throw r.badWireType('HistogramDataPoint.min', wt);
        p.min = r.double();
        break;
      case 12:
        if (wt !== WIRE_I64) throw r.badWireType('HistogramDataPoint.max', wt);
        p.max = r.double();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return p;
}
