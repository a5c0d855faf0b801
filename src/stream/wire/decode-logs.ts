// logs/v1/logs.proto and collector/logs/v1/logs_service.proto (opentelemetry-proto v1.11.0).
// ExportLogsServiceRequest and LogsData are wire-identical: `repeated ResourceLogs resource_logs = 1`.
//
// | message      | fields we read                                                                 |
// |--------------|--------------------------------------------------------------------------------|
// | ResourceLogs | 1 resource; 2 scope_logs repeated; 3 schema_url                                |
// | ScopeLogs    | 1 scope; 2 log_records repeated; 3 schema_url                                  |
// | LogRecord    | 1 time_unix_nano fixed64; 11 observed_time_unix_nano fixed64; 2 severity_number|
// |              | enum; 3 severity_text; 5 body AnyValue; 6 attributes; 8 flags fixed32;         |
// |              | 9 trace_id bytes; 10 span_id bytes; 12 event_name; (7 dropped count skipped)   |
import { pushKeyValue, readAnyValue, readId, readResource, readScope } from './decode-common.ts';
import type { KeyValue, LogRecord, LogsRequest, ResourceLogs, ScopeLogs } from './otlp-model.ts';
import { ProtoReader, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './reader.ts';
import { checkPayload } from './sniff.ts';

export function decodeLogs(bytes: Uint8Array, topic = 'logs'): LogsRequest {
  checkPayload(bytes, topic);
  const r = new ProtoReader(bytes);
  const resourceLogs: ResourceLogs[] = [];
  const end = r.buf.length;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) resourceLogs.push(readResourceLogs(r, r.messageEnd()));
    else r.skip(tag & 7);
  }
  return { resourceLogs };
}

function readResourceLogs(r: ProtoReader, end: number): ResourceLogs {
  const out: ResourceLogs = { resource: undefined, scopeLogs: [], schemaUrl: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceLogs.resource', wt);
        out.resource = readResource(r, r.messageEnd());
        break;
      case 2:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceLogs.scope_logs', wt);
        out.scopeLogs.push(readScopeLogs(r, r.messageEnd()));
        break;
      case 3:
        if (wt !== WIRE_LEN) throw r.badWireType('ResourceLogs.schema_url', wt);
        out.schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return out;
}

function readScopeLogs(r: ProtoReader, end: number): ScopeLogs {
  const out: ScopeLogs = { scope: undefined, logRecords: [], schemaUrl: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeLogs.scope', wt);
        out.scope = readScope(r, r.messageEnd());
        break;
      case 2:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeLogs.log_records', wt);
        out.logRecords.push(readLogRecord(r, r.messageEnd()));
        break;
      case 3:
        if (wt !== WIRE_LEN) throw r.badWireType('ScopeLogs.schema_url', wt);
        out.schemaUrl = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return out;
}

export function readLogRecord(r: ProtoReader, end: number): LogRecord {
  let timeUnixNano = 0n;
  let observedTimeUnixNano = 0n;
  let severityNumber = 0;
  let severityText = '';
  let body: LogRecord['body'];
  const attributes: KeyValue[] = [];
  let flags = 0;
  let traceId: Uint8Array | undefined;
  let spanId: Uint8Array | undefined;
  let eventName = '';
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_I64) throw r.badWireType('LogRecord.time_unix_nano', wt);
        timeUnixNano = r.fixed64();
        break;
      case 11:
        if (wt !== WIRE_I64) throw r.badWireType('LogRecord.observed_time_unix_nano', wt);
        observedTimeUnixNano = r.fixed64();
        break;
      case 2:
        if (wt !== WIRE_VARINT) throw r.badWireType('LogRecord.severity_number', wt);
        severityNumber = r.uint32() | 0;
        break;
      case 3:
        if (wt !== WIRE_LEN) throw r.badWireType('LogRecord.severity_text', wt);
        severityText = r.string();
        break;
      case 5:
        if (wt !== WIRE_LEN) throw r.badWireType('LogRecord.body', wt);
        body = readAnyValue(r, r.messageEnd(), 0);
        break;
      case 6:
        pushKeyValue(r, attributes, wt, 'LogRecord.attributes');
        break;
      case 8:
        if (wt !== WIRE_I32) throw r.badWireType('LogRecord.flags', wt);
        flags = r.fixed32();
        break;
      case 9:
        traceId = readId(r, wt, 'LogRecord.trace_id');
        break;
      case 10:
        spanId = readId(r, wt, 'LogRecord.span_id');
        break;
      case 12:
        if (wt !== WIRE_LEN) throw r.badWireType('LogRecord.event_name', wt);
        eventName = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return {
    timeUnixNano,
    observedTimeUnixNano,
    severityNumber,
    severityText,
    body,
    attributes,
    flags,
    traceId,
    spanId,
    eventName,
  };
}
