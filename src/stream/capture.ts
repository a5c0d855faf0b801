// Capture files (../shared/README.md): NDJSON, one Kafka record a line:
// {"topic":"otlp_logs","partition":0,"offset":17,"timestamp":1764300000000,"key":null,"headers":{},"value":"<base64>"}
// `key` is base64 or null; `headers` maps names to base64 values; records are replayed in file order.
import { createReadStream } from 'node:fs';
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
const EQUALS = 0x3d;

function bad(file: string, line: number, why: string): KubetriageError {
  return new KubetriageError('CAPTURE_INVALID', `${file}:${line}: ${why}`);
}

function b64(file: string, line: number, field: string, v: unknown): Buffer {
  if (typeof v !== 'string' || v.length % 4 !== 0) throw notBase64(file, line, field);
  const out = Buffer.from(v, 'base64');
  // Node's decoder skips characters outside the alphabet and stops at '=', so anything the BASE64
  // pattern rejects decodes to fewer bytes than the text's length promises, except the URL-safe
  // '-' and '_' it also accepts. The pattern over each ~1 MB value was 6 % of a 100k-record replay's
  // CPU profile (bench/replay.ts); this check is a length compare and two memchr-speed scans.
  let pad = 0;
  while (pad < 3 && pad < v.length && v.charCodeAt(v.length - 1 - pad) === EQUALS) pad++;
  if (pad > 2 || out.length !== (v.length / 4) * 3 - pad || v.includes('-') || v.includes('_')) {
    if (!BASE64.test(v)) throw notBase64(file, line, field);
  }
  return out;
}

function notBase64(file: string, line: number, field: string): KubetriageError {
  return bad(file, line, `"${field}" must be a base64 string`);
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
  // 1 MiB reads: a Collector batch is ~1 MB of base64 per line, which 64 KiB reads cut in 16.
  const stream = createReadStream(file, { highWaterMark: READ_CHUNK });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) =>
      reject(new KubetriageError('CAPTURE_INVALID', `Cannot read capture ${file}: ${err.message}`)),
    );
  });
  await opened;
  let line = 0;
  for await (const bytes of captureLineBytes(stream)) {
    line++;
    const rec = parseCaptureBytes(bytes, file, line);
    if (rec) yield rec;
  }
}

const VALUE_KEY = Buffer.from('"value":"');
const QUOTE = 0x22;
const CLOSE = 0x7d;
const COMMA = 0x2c;
const OPEN = 0x7b;

/**
 * One line's record; undefined for a blank line. A line as formatCaptureLine writes it (value last)
 * has its ~1 MB value decoded straight from the bytes, and only the rest goes through JSON.parse
 * (with the value emptied): the same record and the same errors as parseCaptureLine over the whole
 * text, without making a UTF-8 string of the value and scanning it again. Anything else takes that
 * path. Whole-process replay of the 100k-record event capture: 1.68 → 1.61 CPU-s, median of 7
 * (bench/replay.ts --kubetriage <the tree before>; parseCaptureLine and the line's toString were
 * 10 % of its profile).
 */
export function parseCaptureBytes(bytes: Buffer, file: string, line: number): CapturedRecord | undefined {
  const n = bytes.length;
  if (n > 2 && bytes[n - 1] === CLOSE && bytes[n - 2] === QUOTE) {
    const at = bytes.lastIndexOf(VALUE_KEY);
    // After ',' or '{' the key's quote cannot close a string: if what precedes parses, it is the last
    // top-level key (JSON.parse keeps the last of duplicate keys), and its text runs to the final '"}'.
    if (at > 0 && (bytes[at - 1] === COMMA || bytes[at - 1] === OPEN)) {
      const text = bytes.toString('latin1', at + VALUE_KEY.length, n - 2);
      // Only base64's alphabet decodes to exactly this length (see b64): no quote, backslash or
      // control character hides in the text, so it is the JSON string's value as written.
      const value = exactBase64(text);
      if (value) {
        let rec: CapturedRecord | undefined;
        try {
          rec = parseCaptureLine(`${bytes.toString('utf8', 0, at + VALUE_KEY.length)}"}`, file, line);
        } catch {
          // The whole line says why (its own error, its own positions).
        }
        if (rec) {
          rec.value = value;
          return rec;
        }
      }
    }
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  return parseCaptureLine(text, file, line);
}

/** The bytes of a base64 text that is nothing but the standard alphabet and its padding; else undefined. */
function exactBase64(v: string): Buffer | undefined {
  if (v.length % 4 !== 0) return undefined;
  const out = Buffer.from(v, 'base64');
  let pad = 0;
  while (pad < 3 && pad < v.length && v.charCodeAt(v.length - 1 - pad) === EQUALS) pad++;
  if (pad > 2 || out.length !== (v.length / 4) * 3 - pad || v.includes('-') || v.includes('_'))
    return undefined;
  return out;
}

const READ_CHUNK = 1 << 20;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The file's lines, split as readline splits them with crlfDelay Infinity (\r\n, \n or a lone \r
 * ends a line), each decoded once as UTF-8. Replaces readline, whose string decoder and
 * concatenation of ~1 MB lines from 64 KiB pieces cost 5 % of a 100k-record replay (bench/replay.ts).
 */
export async function* captureLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  for await (const bytes of captureLineBytes(chunks)) yield bytes.toString('utf8');
}

/** captureLines before decoding: each line's bytes (views into the chunks, or one copy where a line spans them). */
export async function* captureLineBytes(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const chunk of chunks) {
    let from = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, from)) {
      const piece = chunk.subarray(from, nl);
      from = nl + 1;
      if (pending.length === 0) yield* splitCR(piece);
      else {
        pending.push(piece);
        const whole = Buffer.concat(pending);
        pending = [];
        yield* splitCR(whole);
      }
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
  }
  if (pending.length > 0) yield* splitCR(Buffer.concat(pending), true);
}

/** One \n-ended segment: its trailing \r belongs to the \r\n; any other \r ends a line of its own. */
function* splitCR(seg: Buffer, last = false): Generator<Buffer> {
  let end = seg.length;
  if (!last && end > 0 && seg[end - 1] === CR) end--;
  let from = 0;
  for (let cr = seg.indexOf(CR); cr !== -1 && cr < end; cr = seg.indexOf(CR, from)) {
    yield seg.subarray(from, cr);
    from = cr + 1;
  }
  // A final segment with no newline after it is a line only when it has content (as in readline).
  if (!last || from < seg.length) yield seg.subarray(from, end);
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
