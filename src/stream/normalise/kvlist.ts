import { type AnyValue, KeyValueList } from '../wire/otlp-model.ts';

/** Reads a field of an AnyValue map (kvlist), as k8sobjectsreceiver writes whole objects into bodies. */
export function field(v: AnyValue, key: string): AnyValue {
  if (!(v instanceof KeyValueList)) return undefined;
  for (const kv of v.values) if (kv.key === key) return kv.value;
  return undefined;
}

export function str(v: AnyValue): string {
  return typeof v === 'string' ? v : '';
}

export function num(v: AnyValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

/** RFC 3339 timestamp string to epoch ms; 0 when absent or unparsable. */
export function timeMs(v: AnyValue): number {
  if (typeof v !== 'string' || v === '') return 0;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : 0;
}
