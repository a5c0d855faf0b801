// trace/v1/trace.proto and collector/trace/v1/trace_service.proto (opentelemetry-proto v1.11.0).
// ExportTraceServiceRequest and TracesData are wire-identical: `repeated ResourceSpans resource_spans = 1`.
//
// | message       | fields we read                                                                |
// |---------------|-------------------------------------------------------------------------------|
// | ResourceSpans | 1 resource; 2 scope_spans repeated; 3 schema_url                              |
// | ScopeSpans    | 1 scope; 2 spans repeated; 3 schema_url                                       |
// | Span          | 1 trace_id; 2 span_id; 4 parent_span_id; 5 name; 6 kind enum;                 |
// |               | 7 start_time_unix_nano fixed64; 8 end_time_unix_nano fixed64; 9 attributes;   |
// |               | 11 events repeated Event; 15 status Status (3 trace_state, 10, 12, 13 links,  |
// |               | 14, 16 flags skipped)                                                         |
// | Span.Event    | 1 time_unix_nano fixed64; 2 name; 3 attributes                                |
// | Status        | 2 message; 3 code enum (0 UNSET, 1 OK, 2 ERROR)                               |
import { pushKeyValue, readId, readResource, readScope } from './decode-common.ts';
import type { KeyValue, ResourceSpans, ScopeSpans, Span, SpanEvent, TracesRequest } from './otlp-model.ts';
import { ProtoReader, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './reader.ts';
import { checkPayload } from './sniff.ts';

export function decodeTraces(bytes: Uint8Array, topic = 'traces'): TracesRequest {
  checkPayload(bytes, topic);
  const r = new ProtoReader(bytes);
  const resourceSpans: ResourceSpans[] = [];
  const end = r.buf.length;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) resourceSpans.push(readResourceSpans(r, r.messageEnd()));
    else r.skip(tag & 7);
  }
  return { resourceSpans };
}

function readResourceSpans(r: ProtoReader, end: number): ResourceSpans {
  const out: ResourceSpans = { resource: undefined, scopeSpans: [], schemaUrl: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceSpans.resource', wt);
        out.resource = readResource(r, r.messageEnd());
        break;
      case 2:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceSpans.scope_spans', wt);
        out.scopeSpans.push(readScopeSpans(r, r.messageEnd()));
        break;
      case 3:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceSpans.schema_url', wt);
        out.schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return out;
}

function readScopeSpans(r: ProtoReader, end: number): ScopeSpans {
  const out: ScopeSpans = { scope: undefined, spans: [], schemaUrl: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeSpans.scope', wt);
        out.scope = readScope(r, r.messageEnd());
        break;
      case 2:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeSpans.spans', wt);
        out.spans.push(readSpan(r, r.messageEnd()));
        break;
      case 3:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeSpans.schema_url', wt);
        out.schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return out;
}

function readSpan(r: ProtoReader, end: number): Span {
  const span: Span = {
    traceId: undefined,
    spanId: undefined,
    parentSpanId: undefined,
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    events: [],
    statusCode: 0,
    statusMessage: '',
  };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        span.traceId = readId(r, wt, 'Span.trace_id');
        break;
      case 2:
        span.spanId = readId(r, wt, 'Span.span_id');
        break;
      case 4:
        span.parentSpanId = readId(r, wt, 'Span.parent_span_id');
        break;
      case 5:
        if (wt !== WIRE_LEN) throw r.badWireType('Span.name', wt);
        span.name = r.string();
        break;
      case 6:
        if (wt !== WIRE_VARINT) throw r.badWireType('Span.kind', wt);
        span.kind = r.uint32() | 0;
        break;
      case 7:
        if (wt !== WIRE_I64) throw r.badWireType('Span.start_time_unix_nano', wt);
        span.startTimeUnixNano = r.fixed64();
        break;
      case 8:
        if (wt !== WIRE_I64) throw r.badWireType('Span.end_time_unix_nano', wt);
        span.endTimeUnixNano = r.fixed64();
        break;
      case 9:
        pushKeyValue(r, span.attributes, wt, 'Span.attributes');
        break;
      case 11:
        if (wt !== WIRE_LEN) throw r.badWireType('Span.events', wt);
        span.events.push(readEvent(r, r.messageEnd()));
        break;
      case 15: {
        if (wt !== WIRE_LEN) throw r.badWireType('Span.status', wt);
        const sEnd = r.messageEnd();
        while (r.pos < sEnd) {
          const t = r.uint32();
          const f = t >>> 3;
          if (f === 2 && (t & 7) === WIRE_LEN) span.statusMessage = r.string();
          else if (f === 3 && (t & 7) === WIRE_VARINT) span.statusCode = r.uint32() | 0;
          else r.skip(t & 7);
        }
        r.expectEnd(sEnd);
        break;
      }
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return span;
}

function readEvent(r: ProtoReader, end: number): SpanEvent {
  let timeUnixNano = 0n;
  let name = '';
  const attributes: KeyValue[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wt === WIRE_I64) timeUnixNano = r.fixed64();
    else if (field === 2 && wt === WIRE_LEN) name = r.string();
    else if (field === 3) pushKeyValue(r, attributes, wt, 'Span.Event.attributes');
    else r.skip(wt);
  }
  r.expectEnd(end);
  return { timeUnixNano, name, attributes };
}
