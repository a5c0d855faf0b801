// Plain-object builders for OTLP attributes, in the shape protobufjs' fromObject accepts.

export type AttrValue = string | number | boolean | { int: number } | { double: number };

export interface OtlpKeyValue {
  key: string;
  value: Record<string, unknown>;
}

/** `{int: n}` forces int_value, `{double: n}` double_value; plain integers become int_value. */
export function kv(key: string, v: AttrValue): OtlpKeyValue {
  if (typeof v === 'string') return { key, value: { stringValue: v } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  if (typeof v === 'number')
    return { key, value: Number.isInteger(v) ? { intValue: v } : { doubleValue: v } };
  if ('int' in v) return { key, value: { intValue: v.int } };
  return { key, value: { doubleValue: v.double } };
}

export function attrs(o: Record<string, AttrValue | undefined>): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out.push(kv(k, v));
  return out;
}

/** Epoch ms → the decimal nanosecond string protobufjs accepts for fixed64 (keeps full precision). */
export function nanos(ms: number): string {
  return (BigInt(Math.round(ms)) * 1_000_000n).toString();
}
