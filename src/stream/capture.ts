// Capture files (../shared/README.md): NDJSON, one Kafka record a line:
// {"topic":"otlp_logs","partition":0,"offset":17,"timestamp":1764300000000,"key":null,"headers":{},"value":"<base64>"}
// `key` is base64 or null; `headers` maps names to base64 values; records are replayed in file order.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { KubetriageError } from '../core/errors.ts';

export interface CapturedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  headers: Record<string, Buffer>;
  value: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bad(file: string, line: number, why: string): KubetriageError {
  return new KubetriageError('CAPTURE_INVALID', `${file}:${line}: ${why}`);
}

function b64(file: string, line: number, field: string, v: unknown): Buffer {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) {
    throw bad(file, line, `"${field}" must be a base64 string`);
  }
  return Buffer.from(v, 'base64');
}

export function parseCaptureLine(text: string, file: string, line: number): CapturedRecord {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    throw bad(file, line, `not JSON (${(err as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw bad(file, line, 'expected a JSON object');
  const r = o as Record<string, unknown>;
  if (typeof r.topic !== 'string' || r.topic === '')
    throw bad(file, line, '"topic" must be a non-empty string');
  for (const f of ['partition', 'offset', 'timestamp'] as const) {
    if (typeof r[f] !== 'number' || !Number.isInteger(r[f]) || (r[f] as number) < 0) {
      throw bad(file, line, `"${f}" must be a non-negative integer`);
    }
  }
  const headers: Record<string, Buffer> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object' || Array.isArray(r.headers))
      throw bad(file, line, '"headers" must be an object');
    for (const [k, v] of Object.entries(r.headers)) headers[k] = b64(file, line, `headers.${k}`, v);
  }
  return {
    topic: r.topic,
    partition: r.partition as number,
    offset: r.offset as number,
    timestamp: r.timestamp as number,
    key: r.key === null || r.key === undefined ? null : b64(file, line, 'key', r.key),
    headers,
    value: b64(file, line, 'value', r.value),
  };
}

/** Reads a capture file record by record, in file order; blank lines are skipped. */
export async function* readCapture(file: string): AsyncGenerator<CapturedRecord> {
  const stream = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) =>
      reject(new KubetriageError('CAPTURE_INVALID', `Cannot read capture ${file}: ${err.message}`)),
    );
  });
  await opened;
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    yield parseCaptureLine(text, file, line);
  }
}

export function formatCaptureLine(r: CapturedRecord): string {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = v.toString('base64');
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('base64'),
    headers,
    value: r.value.toString('base64'),
  });
}
