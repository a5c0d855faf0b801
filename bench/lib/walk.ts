// The practical ceiling for decoding: visit every field of an OTLP payload, descend into every
// nested message, allocate nothing. Any real decoder does at least this much work.
/**
 * Which (depth, field) pairs hold sub-messages worth descending into, per signal. A generic walker
 * cannot know bytes from messages, so this mirrors the proto structure down to attribute values.
 */
const MESSAGES = {
  // ExportLogsServiceRequest(1) > ResourceLogs(1 resource, 2 scope_logs) > ScopeLogs(1, 2 log_records) > LogRecord(5 body, 6 attrs)
  logs: [[1], [1, 2], [1, 2], [5, 6]],
  metrics: [[1], [1, 2], [1, 2], [5, 7, 9], [1], [7, 9]],
  traces: [[1], [1, 2], [1, 2], [9, 11, 15]],
} as const;

function varint(b: Uint8Array, p: { pos: number }): number {
  let r = 0;
  let shift = 0;
  for (;;) {
    const x = b[p.pos++]!;
    if (shift < 28) r |= (x & 0x7f) << shift;
    if (x < 0x80) return r >>> 0;
    shift += 7;
  }
}

function walk(
  b: Uint8Array,
  p: { pos: number },
  end: number,
  depth: number,
  plan: readonly (readonly number[])[],
): number {
  let fields = 0;
  const nested = plan[depth];
  while (p.pos < end) {
    const tag = varint(b, p);
    fields++;
    const wt = tag & 7;
    if (wt === 0) varint(b, p);
    else if (wt === 1) p.pos += 8;
    else if (wt === 5) p.pos += 4;
    else if (wt === 2) {
      const len = varint(b, p);
      const e = p.pos + len;
      if (nested?.includes(tag >>> 3)) fields += walk(b, p, e, depth + 1, plan);
      p.pos = e;
    } else return fields;
  }
  return fields;
}

/** Returns the number of fields visited (so the work cannot be optimised away). */
export function walkOtlp(signal: keyof typeof MESSAGES, bytes: Uint8Array): number {
  return walk(bytes, { pos: 0 }, bytes.length, 0, MESSAGES[signal]);
}
