import { DecodeError } from '../../core/errors.ts';

/**
 * Cheap checks before decoding. A non-empty otlp_proto payload starts with 0x0A (field 1, length
 * delimited); one that starts with `{` is otlp_json, a Collector misconfiguration worth naming.
 */
export function checkPayload(bytes: Uint8Array, topic: string): void {
  if (bytes.length === 0) {
    throw new DecodeError(
      'DECODE_EMPTY_RECORD',
      `Empty record on topic ${topic}: expected an otlp_proto payload`,
      0,
    );
  }
  let i = 0;
  // Leading spaces, tabs and CRs never start a protobuf payload; 0x0A does, so it is not skipped.
  while (i < 16 && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0d)) i++;
  if (bytes[i] === 0x7b) {
    throw new DecodeError(
      'DECODE_OTLP_JSON',
      `Record on topic ${topic} is otlp_json, not otlp_proto: set the Collector's kafka exporter encoding to otlp_proto`,
      i,
    );
  }
}
