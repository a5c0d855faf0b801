// common/v1/common.proto and resource/v1/resource.proto (opentelemetry-proto v1.11.0).
//
// | message              | fields we read                                                        |
// |----------------------|-----------------------------------------------------------------------|
// | AnyValue (oneof)     | 1 string_value; 2 bool_value; 3 int_value int64; 4 double_value;      |
// |                      | 5 array_value ArrayValue{1 values}; 6 kvlist_value KeyValueList{1};   |
// |                      | 7 bytes_value; 8 string_value_strindex (profiles only, skipped)       |
// | KeyValue             | 1 key; 2 value AnyValue; 3 key_strindex (profiles only, skipped)      |
// | InstrumentationScope | 1 name; 2 version; 3 attributes; 4 dropped_attributes_count           |
// | Resource             | 1 attributes; 2 dropped_attributes_count; 3 entity_refs (skipped)     |
import { DecodeError } from '../../core/errors.ts';
import {
  type AnyValue,
  type InstrumentationScope,
  type KeyValue,
  KeyValueList,
  type Resource,
} from './otlp-model.ts';
import { type ProtoReader, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './reader.ts';

// Attribute values can nest (arrays of kvlists of arrays…); bound it so hostile input cannot blow the stack.
export const MAX_DEPTH = 32;

export function readAnyValue(r: ProtoReader, end: number, depth: number): AnyValue {
  if (depth > MAX_DEPTH) throw new DecodeError('DECODE_TOO_DEEP', 'AnyValue nested too deeply', r.pos);
  let value: AnyValue;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== WIRE_LEN) throw r.badWireType('AnyValue.string_value', wt);
        value = r.string();
        break;
      case 2:
        if (wt !== WIRE_VARINT) throw r.badWireType('AnyValue.bool_value', wt);
        value = r.bool();
        break;
      case 3:
        if (wt !== WIRE_VARINT) throw r.badWireType('AnyValue.int_value', wt);
        value = r.int64(true);
        break;
      case 4:
        if (wt !== WIRE_I64) throw r.badWireType('AnyValue.double_value', wt);
        value = r.double();
        break;
      case 5: {
        if (wt !== WIRE_LEN) throw r.badWireType('AnyValue.array_value', wt);
        const arrEnd = r.messageEnd();
        const values: AnyValue[] = [];
        while (r.pos < arrEnd) {
          const t = r.uint32();
          if (t >>> 3 === 1 && (t & 7) === WIRE_LEN) {
            const vEnd = r.messageEnd();
            values.push(readAnyValue(r, vEnd, depth + 1));
            r.expectEnd(vEnd);
          } else r.skip(t & 7);
        }
        r.expectEnd(arrEnd);
        value = values;
        break;
      }
      case 6: {
        if (wt !== WIRE_LEN) throw r.badWireType('AnyValue.kvlist_value', wt);
        const listEnd = r.messageEnd();
        const values: KeyValue[] = [];
        while (r.pos < listEnd) {
          const t = r.uint32();
          if (t >>> 3 === 1 && (t & 7) === WIRE_LEN) {
            const kvEnd = r.messageEnd();
            values.push(readKeyValue(r, kvEnd, depth + 1));
          } else r.skip(t & 7);
        }
        r.expectEnd(listEnd);
        value = new KeyValueList(values);
        break;
      }
      case 7:
        if (wt !== WIRE_LEN) throw r.badWireType('AnyValue.bytes_value', wt);
        value = r.bytes();
        break;
      default:
        r.skip(wt);
    }
  }
  r.expectEnd(end);
  return value;
}

export function readKeyValue(r: ProtoReader, end: number, depth: number): KeyValue {
  let key = '';
  let value: AnyValue;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wt === WIRE_LEN) key = r.string();
    else if (field === 2 && wt === WIRE_LEN) {
      const vEnd = r.messageEnd();
      value = readAnyValue(r, vEnd, depth);
    } else r.skip(wt);
  }
  r.expectEnd(end);
  return { key, value };
}

/** Reads one `repeated KeyValue` element (the tag is already consumed) and appends it. */
export function pushKeyValue(r: ProtoReader, out: KeyValue[], wt: number, field: string): void {
  if (wt !== WIRE_LEN) throw r.badWireType(field, wt);
  const end = r.messageEnd();
  out.push(readKeyValue(r, end, 0));
}

export function readResource(r: ProtoReader, end: number): Resource {
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const field = tag >>> 3;
    if (field === 1) pushKeyValue(r, attributes, wt, 'Resource.attributes');
    else if (field === 2 && wt === WIRE_VARINT) droppedAttributesCount = r.uint32();
    else r.skip(wt);
  }
  r.expectEnd(end);
  return { attributes, droppedAttributesCount };
}

export function readScope(r: ProtoReader, end: number): InstrumentationScope {
  let name = '';
  let version = '';
  const attributes: KeyValue[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wt === WIRE_LEN) name = r.string();
    else if (field === 2 && wt === WIRE_LEN) version = r.string();
    else if (field === 3) pushKeyValue(r, attributes, wt, 'InstrumentationScope.attributes');
    else r.skip(wt);
  }
  r.expectEnd(end);
  return { name, version, attributes };
}

/** Trace and span ids are raw bytes; a wrong length is kept as-is and shown hex-encoded. */
export function readId(r: ProtoReader, wt: number, field: string): Uint8Array | undefined {
  if (wt !== WIRE_LEN) throw r.badWireType(field, wt);
  const b = r.bytes();
  return b.length === 0 ? undefined : b;
}
