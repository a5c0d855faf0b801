// Shared by the wire tests: a normaliser that maps our decoder's model and protobufjs' `toObject`
// output to the same plain, JSON-like form (only the fields our decoder reads), a tiny independent
// protobuf walker that finds length prefixes and injects unknown fields at every message level, and
// an assertion for DecodeError that also checks `position` stays within the buffer.
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { DecodeError, type ErrorCode } from '../../../src/core/errors.ts';
import { encodeOtlp, otlpType } from '../../../src/sim/otlp-proto.ts';
import { decodeLogs } from '../../../src/stream/wire/decode-logs.ts';
import { decodeMetrics } from '../../../src/stream/wire/decode-metrics.ts';
import { decodeTraces } from '../../../src/stream/wire/decode-traces.ts';
import {
  type AnyValue,
  type HistogramDataPoint,
  type InstrumentationScope,
  type KeyValue,
  KeyValueList,
  type LogsRequest,
  type MetricsRequest,
  type NumberDataPoint,
  type Resource,
  type TracesRequest,
} from '../../../src/stream/wire/otlp-model.ts';
import type { Pb } from '../../helpers/otlp-arbitraries.ts';

/** The comparable form: JSON-like, so deepStrictEqual diffs are readable. */
export type Norm = null | boolean | number | string | Norm[] | { [key: string]: Norm };

type RequestName = 'ExportLogsServiceRequest' | 'ExportMetricsServiceRequest' | 'ExportTraceServiceRequest';

export interface Signal {
  name: 'logs' | 'metrics' | 'traces';
  request: RequestName;
  decode: (bytes: Uint8Array, topic?: string) => unknown;
  /** Our decoder's output, normalised. */
  ours: (bytes: Uint8Array) => Norm;
  /** protobufjs reflection over the pinned protos, normalised the same way. */
  reference: (bytes: Uint8Array) => Norm;
}

export const SIGNALS: readonly Signal[] = [
  {
    name: 'logs',
    request: 'ExportLogsServiceRequest',
    decode: decodeLogs,
    ours: (b) => normLogs(decodeLogs(b)),
    reference: (b) => refLogs(referenceObject('ExportLogsServiceRequest', b)),
  },
  {
    name: 'metrics',
    request: 'ExportMetricsServiceRequest',
    decode: decodeMetrics,
    ours: (b) => normMetrics(decodeMetrics(b)),
    reference: (b) => refMetrics(referenceObject('ExportMetricsServiceRequest', b)),
  },
  {
    name: 'traces',
    request: 'ExportTraceServiceRequest',
    decode: decodeTraces,
    ours: (b) => normTraces(decodeTraces(b)),
    reference: (b) => refTraces(referenceObject('ExportTraceServiceRequest', b)),
  },
];

export function signal(name: Signal['name']): Signal {
  const s = SIGNALS.find((x) => x.name === name);
  assert.ok(s);
  return s;
}

export function encode(request: RequestName, message: Pb): Buffer {
  return encodeOtlp(request, message);
}

/** protobufjs decode + toObject: int64/fixed64 as decimal strings, bytes left as Buffers, oneof names. */
export function referenceObject(request: RequestName, bytes: Uint8Array): Pb {
  const type = otlpType(request);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return type.toObject(type.decode(buf), { longs: String, defaults: true, oneofs: true }) as Pb;
}

// ---- leaf conversions --------------------------------------------------------------------------

export function hex(b: Uint8Array | undefined): string {
  return b === undefined ? '' : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Doubles keep NaN and -0 apart from everything else. */
export function dbl(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Our numbers (int64 as number-or-bigint, doubles as numbers). The model cannot tell an integral
 * double from a small int, so both normalise to `num`; a bigint must be outside the safe range.
 */
function ourNum(v: number | bigint): Norm {
  if (typeof v === 'bigint') {
    assert.ok(v > MAX_SAFE || v < -MAX_SAFE, `bigint ${v} should have been a number`);
    return { t: 'int', v: String(v) };
  }
  return { t: 'num', v: dbl(v) };
}

/** A reference int64 (decimal string): exact numbers while safe, bigints beyond. */
function refInt(s: unknown): Norm {
  const b = BigInt(str(s));
  return b > MAX_SAFE || b < -MAX_SAFE ? { t: 'int', v: b.toString() } : { t: 'num', v: dbl(Number(b)) };
}

function big(v: bigint): string {
  assert.equal(typeof v, 'bigint');
  return v.toString();
}

function str(v: unknown): string {
  assert.equal(typeof v, 'string', `expected a string, got ${typeof v}`);
  return v as string;
}

function num(v: unknown): number {
  assert.equal(typeof v, 'number', `expected a number, got ${typeof v}`);
  return v as number;
}

function bool(v: unknown): boolean {
  assert.equal(typeof v, 'boolean');
  return v as boolean;
}

function list(v: unknown): Pb[] {
  assert.ok(Array.isArray(v), 'expected an array');
  return v as Pb[];
}

function msg(v: unknown): Pb | null {
  return v === null || v === undefined ? null : (v as Pb);
}

function refBytes(v: unknown): string {
  assert.ok(v instanceof Uint8Array, 'expected bytes');
  return hex(v);
}

/** fixed64 counts: our model keeps them as numbers (exact up to 2^53, nearest double beyond). */
function refCount(v: unknown): string {
  return dbl(Number(BigInt(str(v))));
}

// ---- AnyValue / KeyValue ---------------------------------------------------------------------

const NONE: Norm = { t: 'none' };

export function normAny(v: AnyValue): Norm {
  if (v === undefined) return NONE;
  if (typeof v === 'string') return { t: 'str', v };
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (typeof v === 'number' || typeof v === 'bigint') return ourNum(v);
  if (Array.isArray(v)) return { t: 'arr', v: v.map(normAny) };
  if (v instanceof KeyValueList) return { t: 'kv', v: normKvs(v.values) };
  assert.ok(v instanceof Uint8Array, 'AnyValue of unexpected type');
  return { t: 'bytes', v: hex(v) };
}

export function normKvs(kvs: readonly KeyValue[]): Norm {
  return kvs.map((kv) => ({ key: kv.key, value: normAny(kv.value) }));
}

function refAny(o: Pb | null): Norm {
  if (o === null) return NONE;
  switch (o.value) {
    case 'stringValue':
      return { t: 'str', v: str(o.stringValue) };
    case 'boolValue':
      return { t: 'bool', v: bool(o.boolValue) };
    case 'intValue':
      return refInt(o.intValue);
    case 'doubleValue':
      return { t: 'num', v: dbl(num(o.doubleValue)) };
    case 'bytesValue':
      return { t: 'bytes', v: refBytes(o.bytesValue) };
    case 'arrayValue':
      return { t: 'arr', v: list((o.arrayValue as Pb).values).map((x) => refAny(msg(x))) };
    case 'kvlistValue':
      return { t: 'kv', v: refKvs((o.kvlistValue as Pb).values) };
    default:
      // Unset, or string_value_strindex (profiles only): our decoder reads both as undefined.
      return NONE;
  }
}

function refKvs(v: unknown): Norm {
  return list(v).map((kv) => ({ key: str(kv.key), value: refAny(msg(kv.value)) }));
}

// ---- Resource / scope ------------------------------------------------------------------------

function normResource(r: Resource | undefined): Norm {
  if (r === undefined) return null;
  return { attributes: normKvs(r.attributes), droppedAttributesCount: r.droppedAttributesCount };
}

function refResource(o: Pb | null): Norm {
  if (o === null) return null;
  return { attributes: refKvs(o.attributes), droppedAttributesCount: num(o.droppedAttributesCount) };
}

function normScope(s: InstrumentationScope | undefined): Norm {
  if (s === undefined) return null;
  return { name: s.name, version: s.version, attributes: normKvs(s.attributes) };
}

function refScope(o: Pb | null): Norm {
  if (o === null) return null;
  return { name: str(o.name), version: str(o.version), attributes: refKvs(o.attributes) };
}

// ---- logs ------------------------------------------------------------------------------------

export function normLogs(req: LogsRequest): Norm {
  return {
    resourceLogs: req.resourceLogs.map((rl) => ({
      resource: normResource(rl.resource),
      scopeLogs: rl.scopeLogs.map((sl) => ({
        scope: normScope(sl.scope),
        logRecords: sl.logRecords.map((lr) => ({
          timeUnixNano: big(lr.timeUnixNano),
          observedTimeUnixNano: big(lr.observedTimeUnixNano),
          severityNumber: lr.severityNumber,
          severityText: lr.severityText,
          body: normAny(lr.body),
          attributes: normKvs(lr.attributes),
          flags: lr.flags,
          traceId: hex(lr.traceId),
          spanId: hex(lr.spanId),
          eventName: lr.eventName,
        })),
        schemaUrl: sl.schemaUrl,
      })),
      schemaUrl: rl.schemaUrl,
    })),
  };
}

export function refLogs(o: Pb): Norm {
  return {
    resourceLogs: list(o.resourceLogs).map((rl) => ({
      resource: refResource(msg(rl.resource)),
      scopeLogs: list(rl.scopeLogs).map((sl) => ({
        scope: refScope(msg(sl.scope)),
        logRecords: list(sl.logRecords).map((lr) => ({
          timeUnixNano: str(lr.timeUnixNano),
          observedTimeUnixNano: str(lr.observedTimeUnixNano),
          severityNumber: num(lr.severityNumber),
          severityText: str(lr.severityText),
          body: refAny(msg(lr.body)),
          attributes: refKvs(lr.attributes),
          flags: num(lr.flags),
          traceId: refBytes(lr.traceId),
          spanId: refBytes(lr.spanId),
          eventName: str(lr.eventName),
        })),
        schemaUrl: str(sl.schemaUrl),
      })),
      schemaUrl: str(rl.schemaUrl),
    })),
  };
}

// ---- metrics ---------------------------------------------------------------------------------

function optDbl(v: number | undefined): Norm {
  return v === undefined ? null : dbl(v);
}

function refOptDbl(v: unknown): Norm {
  return v === undefined || v === null ? null : dbl(num(v));
}

function normNumberPoint(p: NumberDataPoint): Norm {
  return {
    attributes: normKvs(p.attributes),
    startTimeUnixNano: big(p.startTimeUnixNano),
    timeUnixNano: big(p.timeUnixNano),
    value: p.value === undefined ? null : ourNum(p.value),
    flags: p.flags,
  };
}

function refNumberPoint(o: Pb): Norm {
  return {
    attributes: refKvs(o.attributes),
    startTimeUnixNano: str(o.startTimeUnixNano),
    timeUnixNano: str(o.timeUnixNano),
    value:
      o.value === 'asDouble'
        ? { t: 'num', v: dbl(num(o.asDouble)) }
        : o.value === 'asInt'
          ? refInt(o.asInt)
          : null,
    flags: num(o.flags),
  };
}

function normHistogramPoint(p: HistogramDataPoint): Norm {
  return {
    attributes: normKvs(p.attributes),
    startTimeUnixNano: big(p.startTimeUnixNano),
    timeUnixNano: big(p.timeUnixNano),
    count: dbl(p.count),
    sum: optDbl(p.sum),
    bucketCounts: p.bucketCounts.map(dbl),
    explicitBounds: p.explicitBounds.map(dbl),
    min: optDbl(p.min),
    max: optDbl(p.max),
    flags: p.flags,
  };
}

function refHistogramPoint(o: Pb): Norm {
  return {
    attributes: refKvs(o.attributes),
    startTimeUnixNano: str(o.startTimeUnixNano),
    timeUnixNano: str(o.timeUnixNano),
    count: refCount(o.count),
    sum: refOptDbl(o.sum),
    bucketCounts: list(o.bucketCounts).map(refCount),
    explicitBounds: list(o.explicitBounds).map((x) => dbl(num(x))),
    min: refOptDbl(o.min),
    max: refOptDbl(o.max),
    flags: num(o.flags),
  };
}

export function normMetrics(req: MetricsRequest): Norm {
  return {
    resourceMetrics: req.resourceMetrics.map((rm) => ({
      resource: normResource(rm.resource),
      scopeMetrics: rm.scopeMetrics.map((sm) => ({
        scope: normScope(sm.scope),
        metrics: sm.metrics.map((m) => {
          let data: Norm;
          switch (m.data.type) {
            case 'gauge':
              data = { type: 'gauge', dataPoints: m.data.dataPoints.map(normNumberPoint) };
              break;
            case 'sum':
              data = {
                type: 'sum',
                dataPoints: m.data.dataPoints.map(normNumberPoint),
                aggregationTemporality: m.data.aggregationTemporality,
                isMonotonic: m.data.isMonotonic,
              };
              break;
            case 'histogram':
              data = {
                type: 'histogram',
                dataPoints: m.data.dataPoints.map(normHistogramPoint),
                aggregationTemporality: m.data.aggregationTemporality,
              };
              break;
            default:
              data = { type: m.data.type };
          }
          return { name: m.name, description: m.description, unit: m.unit, data };
        }),
        schemaUrl: sm.schemaUrl,
      })),
      schemaUrl: rm.schemaUrl,
    })),
  };
}

function refMetricData(m: Pb): Norm {
  switch (m.data) {
    case 'gauge': {
      const g = m.gauge as Pb;
      return { type: 'gauge', dataPoints: list(g.dataPoints).map(refNumberPoint) };
    }
    case 'sum': {
      const s = m.sum as Pb;
      return {
        type: 'sum',
        dataPoints: list(s.dataPoints).map(refNumberPoint),
        aggregationTemporality: num(s.aggregationTemporality),
        isMonotonic: bool(s.isMonotonic),
      };
    }
    case 'histogram': {
      const h = m.histogram as Pb;
      return {
        type: 'histogram',
        dataPoints: list(h.dataPoints).map(refHistogramPoint),
        aggregationTemporality: num(h.aggregationTemporality),
      };
    }
    case 'exponentialHistogram':
    case 'summary':
      return { type: 'other' };
    default:
      return { type: 'none' };
  }
}

export function refMetrics(o: Pb): Norm {
  return {
    resourceMetrics: list(o.resourceMetrics).map((rm) => ({
      resource: refResource(msg(rm.resource)),
      scopeMetrics: list(rm.scopeMetrics).map((sm) => ({
        scope: refScope(msg(sm.scope)),
        metrics: list(sm.metrics).map((m) => ({
          name: str(m.name),
          description: str(m.description),
          unit: str(m.unit),
          data: refMetricData(m),
        })),
        schemaUrl: str(sm.schemaUrl),
      })),
      schemaUrl: str(rm.schemaUrl),
    })),
  };
}

// ---- traces ----------------------------------------------------------------------------------

export function normTraces(req: TracesRequest): Norm {
  return {
    resourceSpans: req.resourceSpans.map((rs) => ({
      resource: normResource(rs.resource),
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: normScope(ss.scope),
        spans: ss.spans.map((s) => ({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: big(s.startTimeUnixNano),
          endTimeUnixNano: big(s.endTimeUnixNano),
          attributes: normKvs(s.attributes),
          events: s.events.map((e) => ({
            timeUnixNano: big(e.timeUnixNano),
            name: e.name,
            attributes: normKvs(e.attributes),
          })),
          statusCode: s.statusCode,
          statusMessage: s.statusMessage,
        })),
        schemaUrl: ss.schemaUrl,
      })),
      schemaUrl: rs.schemaUrl,
    })),
  };
}

export function refTraces(o: Pb): Norm {
  return {
    resourceSpans: list(o.resourceSpans).map((rs) => ({
      resource: refResource(msg(rs.resource)),
      scopeSpans: list(rs.scopeSpans).map((ss) => ({
        scope: refScope(msg(ss.scope)),
        spans: list(ss.spans).map((s) => {
          const status = msg(s.status);
          return {
            traceId: refBytes(s.traceId),
            spanId: refBytes(s.spanId),
            parentSpanId: refBytes(s.parentSpanId),
            name: str(s.name),
            kind: num(s.kind),
            startTimeUnixNano: str(s.startTimeUnixNano),
            endTimeUnixNano: str(s.endTimeUnixNano),
            attributes: refKvs(s.attributes),
            events: list(s.events).map((e) => ({
              timeUnixNano: str(e.timeUnixNano),
              name: str(e.name),
              attributes: refKvs(e.attributes),
            })),
            statusCode: status === null ? 0 : num(status.code),
            statusMessage: status === null ? '' : str(status.message),
          };
        }),
        schemaUrl: str(ss.schemaUrl),
      })),
      schemaUrl: str(rs.schemaUrl),
    })),
  };
}

// ---- DecodeError -----------------------------------------------------------------------------

/** Every DecodeError must carry an integer byte offset inside the input (0..byteLength). */
export function assertPosition(err: DecodeError, bytes: Uint8Array): void {
  assert.equal(typeof err.position, 'number', 'DecodeError.position is not a number');
  assert.ok(Number.isInteger(err.position), `DecodeError.position ${err.position} is not an integer`);
  assert.ok(
    err.position >= 0 && err.position <= bytes.byteLength,
    `DecodeError.position ${err.position} outside 0..${bytes.byteLength}: ${err.message}`,
  );
  assert.ok(err.message.includes(`(at byte ${err.position})`), err.message);
}

/** Runs `fn`, which must throw a DecodeError (of `code`, when given) with an in-bounds position. */
export function expectDecodeError(fn: () => unknown, bytes: Uint8Array, code?: ErrorCode): DecodeError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `expected a DecodeError${code ? ` ${code}` : ''}, but decoding succeeded`);
  assert.ok(thrown instanceof DecodeError, `expected a DecodeError, got ${String(thrown)}`);
  if (code !== undefined) assert.equal(thrown.code, code, thrown.message);
  assert.equal(thrown.permanent, true);
  assertPosition(thrown, bytes);
  return thrown;
}

// ---- a tiny independent wire walker ------------------------------------------------------------

export function varint(v: number | bigint): Buffer {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Buffer.from(out);
}

export function tag(field: number, wireType: number): Buffer {
  return varint(field * 8 + wireType);
}

export function lenField(field: number, body: Uint8Array): Buffer {
  return Buffer.concat([tag(field, 2), varint(body.length), body]);
}

function readVarint(buf: Uint8Array, pos: number): { value: bigint; next: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos + i];
    assert.ok(b !== undefined, 'walker: truncated varint');
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return { value, next: pos + i + 1 };
  }
  assert.fail('walker: varint too long');
}

interface RawField {
  field: number;
  wireType: number;
  /** Offset of the tag. */
  start: number;
  /** Offset of the length prefix (LEN only). */
  lenPos: number;
  /** Offset of the value (after the length prefix for LEN). */
  valueStart: number;
  end: number;
}

/** Splits one message's bytes into its top-level fields (no groups: protobufjs never writes them). */
export function rawFields(buf: Uint8Array, from = 0, to = buf.length): RawField[] {
  const out: RawField[] = [];
  let pos = from;
  while (pos < to) {
    const start = pos;
    const t = readVarint(buf, pos);
    pos = t.next;
    const field = Number(t.value >> 3n);
    const wireType = Number(t.value & 7n);
    let lenPos = -1;
    let valueStart = pos;
    switch (wireType) {
      case 0:
        pos = readVarint(buf, pos).next;
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        lenPos = pos;
        const l = readVarint(buf, pos);
        valueStart = l.next;
        pos = l.next + Number(l.value);
        break;
      }
      default:
        assert.fail(`walker: unexpected wire type ${wireType}`);
    }
    assert.ok(pos <= to, 'walker: field overruns its message');
    out.push({ field, wireType, start, lenPos, valueStart, end: pos });
  }
  return out;
}

function messageType(type: protobuf.Type, field: number): protobuf.Type | undefined {
  const f = type.fieldsById[field];
  if (f === undefined) return undefined;
  f.resolve();
  return f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
}

/** Every length-delimited field, at every message level: where its prefix is and what it says. */
export function lengthPrefixes(
  bytes: Uint8Array,
  type: protobuf.Type,
): { lenPos: number; valueStart: number; end: number }[] {
  const out: { lenPos: number; valueStart: number; end: number }[] = [];
  const walk = (t: protobuf.Type, from: number, to: number): void => {
    for (const f of rawFields(bytes, from, to)) {
      if (f.wireType !== 2) continue;
      out.push({ lenPos: f.lenPos, valueStart: f.valueStart, end: f.end });
      const sub = messageType(t, f.field);
      if (sub) walk(sub, f.valueStart, f.end);
    }
  };
  walk(type, 0, bytes.length);
  return out;
}

/**
 * Re-encodes `bytes` (a message of `type`), recursing into every embedded message, and lets
 * `junk(typeName, gap)` return bytes to insert before field `gap` (gap = field count: at the end).
 * Lengths are recomputed, so the result is a valid encoding of the same message plus unknown fields.
 */
export function injectUnknown(
  bytes: Uint8Array,
  type: protobuf.Type,
  junk: (typeName: string, gap: number) => Uint8Array | undefined,
): Buffer {
  const rebuild = (t: protobuf.Type, from: number, to: number): Buffer => {
    const parts: Uint8Array[] = [];
    const fields = rawFields(bytes, from, to);
    fields.forEach((f, i) => {
      const j = junk(t.name, i);
      if (j) parts.push(j);
      const sub = f.wireType === 2 ? messageType(t, f.field) : undefined;
      if (sub) parts.push(lenField(f.field, rebuild(sub, f.valueStart, f.end)));
      else parts.push(bytes.subarray(f.start, f.end));
    });
    const j = junk(t.name, fields.length);
    if (j) parts.push(j);
    return Buffer.concat(parts);
  };
  return rebuild(type, 0, bytes.length);
}

/**
 * Re-encodes `bytes` with the fields of every message in a random order (fields with the same
 * number keep their relative order, so repeated fields stay in sequence). Field order on the wire
 * carries no meaning for singular fields, so a decoder must not depend on it.
 */
export function shuffleFields(bytes: Uint8Array, type: protobuf.Type, rand: () => number): Buffer {
  const rebuild = (t: protobuf.Type, from: number, to: number): Buffer => {
    const rank = new Map<number, number>();
    const fields = rawFields(bytes, from, to).map((f, i) => {
      if (!rank.has(f.field)) rank.set(f.field, rand());
      const sub = f.wireType === 2 ? messageType(t, f.field) : undefined;
      const raw = sub ? lenField(f.field, rebuild(sub, f.valueStart, f.end)) : bytes.subarray(f.start, f.end);
      return { rank: rank.get(f.field)!, i, raw };
    });
    fields.sort((a, b) => a.rank - b.rank || a.i - b.i);
    return Buffer.concat(fields.map((f) => f.raw));
  };
  return rebuild(type, 0, bytes.length);
}

/** Builders for unknown fields of every wire type. */
export const unknown = {
  varint: (field: number, v: number | bigint): Buffer => Buffer.concat([tag(field, 0), varint(v)]),
  i64: (field: number, b: Uint8Array): Buffer =>
    Buffer.concat([tag(field, 1), Buffer.from(b.subarray(0, 8))]),
  len: (field: number, b: Uint8Array): Buffer => lenField(field, b),
  i32: (field: number, b: Uint8Array): Buffer =>
    Buffer.concat([tag(field, 5), Buffer.from(b.subarray(0, 4))]),
  group: (field: number, inner: readonly Uint8Array[]): Buffer =>
    Buffer.concat([tag(field, 3), ...inner, tag(field, 4)]),
};

/** Small deterministic PRNG so a generated seed decides where the junk goes. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
