// The repartition topic's record: what normalising one input record produced for one incident scope,
// with where it came from. Binary (format 2), because JSON text cost about a fifth of a replica's main
// thread (stringify per signal on ingest, parse and a UTF-8 copy per record on the owner):
//   0x02 · strings · src · ops
//   strings: varint n, then n × (varint byte length, UTF-8): every string of the record once.
//   src:     varint topic (string index), varint partition, f64 offset, varint index, f64 timestamp
//   ops:     varint n, then n × (tag byte, fields): 'g' type byte, each value of SIGNAL_FIELDS[type]
//            (0xff: value(signal), keys and all) | 'v' value(site) varint(service)
//            value(atMs) value(durationMs) bool(failed) | 't' value(site) value(atMs) bool(failed) varint(traceId)
//   value:   a type byte, then: string index | f64 | varint | object (varint n, n × (key index, value)) | …
// Format 1 (JSON, `{"v":1,…}`: what replicas before format 2 produce) is still read; a format-1 owner
// skips format-2 records, so upgrading from format 1 replaces all replicas at once (src/stream/README.md).
// A record in neither format is malformed (counted and skipped by the owner).
import type { NormaliseContext } from '../normalise/context.ts';
import type { Signal, SignalSite } from '../signals.ts';
import { internUtf8 } from '../wire/intern.ts';

export const SIGNALS_FORMAT_VERSION = 2;

/** The input record a signals record came from; `index` tells apart the scopes of one record. */
export interface SignalSource {
  topic: string;
  partition: number;
  offset: number;
  index: number;
  timestamp: number;
}

const OP_SIGNAL = 0x67; // 'g'
const OP_SERVER_SPAN = 0x76; // 'v'
const OP_SPAN = 0x74; // 't'

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_STRING = 4;
const T_FLOAT = 5;
const T_UINT = 6;
const T_OBJECT = 7;
const T_ARRAY = 8;

/**
 * Each signal type's fields, in the order they are written: no keys on the wire and no Object.keys per
 * signal (a generic object encoding cost more than JSON.stringify). A field not listed here would not
 * cross the hop: test/stream/scaleout.test.ts checks every field the normalisers emit is listed.
 */
const SITE_FIELDS = ['cluster', 'namespace', 'pod', 'node', 'workload', 'environment', 'environmentSource'];
export const SIGNAL_FIELDS: Record<Signal['type'], readonly string[]> = {
  event: [
    ...SITE_FIELDS,
    'atMs',
    'eventType',
    'reason',
    'message',
    'objectKind',
    'objectName',
    'objectUid',
    'fieldPath',
    'count',
    'eventUid',
    'firstAtMs',
  ],
  container: [...SITE_FIELDS, 'atMs', 'container', 'reason', 'restarts', 'via', 'eventUid', 'count'],
  metric: [...SITE_FIELDS, 'atMs', 'name', 'value', 'series', 'detail'],
  span_error: [
    ...SITE_FIELDS,
    'atMs',
    'service',
    'operation',
    'spanKind',
    'httpStatus',
    'errorType',
    'peer',
    'traceId',
    'callee',
  ],
  log: [...SITE_FIELDS, 'atMs', 'service', 'severity', 'exceptionType', 'body', 'traceId', 'logClass'],
};
const SIGNAL_TYPES = Object.keys(SIGNAL_FIELDS) as Signal['type'][];
const TYPE_CODES = new Map(SIGNAL_TYPES.map((t, i) => [t, i]));
/** A signal of a type not listed above still crosses, with its keys (older owners refuse it). */
const TYPE_GENERIC = 0xff;

/** Signals nest a workload or a callee in the site; anything deeper is not a signal. */
const MAX_DEPTH = 4;

/**
 * One scope's ops of the record being split, encoded as the normalisers emit them (they may reuse
 * objects, so nothing is kept by reference). Strings go to the record's table once.
 */
export class SignalOps {
  #body = new Uint8Array(256);
  #len = 0;
  readonly #index = new Map<string, number>();
  readonly #strings: string[] = [];
  #count = 0;
  readonly #f64 = new Float64Array(1);
  readonly #f64Bytes = new Uint8Array(this.#f64.buffer);

  get length(): number {
    return this.#count;
  }

  signal(s: Signal): void {
    this.#count++;
    this.#byte(OP_SIGNAL);
    const code = TYPE_CODES.get(s.type);
    if (code === undefined) {
      this.#byte(TYPE_GENERIC);
      this.#value(s, 0);
      return;
    }
    this.#byte(code);
    const fields = SIGNAL_FIELDS[s.type];
    const o = s as unknown as Record<string, unknown>;
    for (let i = 0; i < fields.length; i++) this.#value(o[fields[i]!], 1);
  }

  serverSpan(site: SignalSite, service: string, atMs: number, durationMs: number, failed: boolean): void {
    this.#count++;
    this.#byte(OP_SERVER_SPAN);
    this.#value(site, 0);
    this.#varint(this.#string(service));
    this.#value(atMs, 0);
    this.#value(durationMs, 0);
    this.#byte(failed ? T_TRUE : T_FALSE);
  }

  span(site: SignalSite, atMs: number, failed: boolean, traceId: string): void {
    this.#count++;
    this.#byte(OP_SPAN);
    this.#value(site, 0);
    this.#value(atMs, 0);
    this.#byte(failed ? T_TRUE : T_FALSE);
    this.#varint(this.#string(traceId));
  }

  /** The whole record: version, strings, source and ops. */
  encode(src: SignalSource): Buffer {
    const topic = this.#string(src.topic);
    let size = 1 + 5 + 5 + 5 + 8 + 5 + 8 + 5 + this.#len;
    for (const s of this.#strings) size += 5 + s.length * 3;
    const out = Buffer.allocUnsafe(size);
    out[0] = SIGNALS_FORMAT_VERSION;
    let at = writeVarint(out, 1, this.#strings.length);
    for (const s of this.#strings) {
      // The byte length is known only once written: its varint is padded to the width the bound needs.
      const width = varintWidth(s.length * 3);
      const n = out.write(s, at + width);
      writePaddedVarint(out, at, n, width);
      at += width + n;
    }
    at = writeVarint(out, at, topic);
    at = writeVarint(out, at, src.partition);
    at = out.writeDoubleLE(src.offset, at);
    at = writeVarint(out, at, src.index);
    at = out.writeDoubleLE(src.timestamp, at);
    at = writeVarint(out, at, this.#count);
    out.set(this.#body.subarray(0, this.#len), at);
    return out.subarray(0, at + this.#len);
  }

  #string(s: string): number {
    let i = this.#index.get(s);
    if (i === undefined) {
      i = this.#strings.length;
      this.#strings.push(s);
      this.#index.set(s, i);
    }
    return i;
  }

  #value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        this.#byte(T_STRING);
        this.#varint(this.#string(v));
        return;
      case 'number':
        if (Number.isInteger(v) && v >= 0 && v <= 0x7fffffff) {
          this.#byte(T_UINT);
          this.#varint(v);
        } else {
          this.#byte(T_FLOAT);
          this.#f64[0] = v;
          this.#ensure(8);
          this.#body.set(this.#f64Bytes, this.#len);
          this.#len += 8;
        }
        return;
      case 'boolean':
        this.#byte(v ? T_TRUE : T_FALSE);
        return;
      case 'undefined':
        this.#byte(T_UNDEFINED);
        return;
      case 'object':
        if (v === null) this.#byte(T_NULL);
        else if (depth >= MAX_DEPTH) this.#byte(T_NULL);
        else if (Array.isArray(v)) {
          this.#byte(T_ARRAY);
          this.#varint(v.length);
          for (const x of v) this.#value(x, depth + 1);
        } else {
          // Keys with undefined values are kept (as JSON would drop them, the decoder drops them).
          const keys = Object.keys(v);
          this.#byte(T_OBJECT);
          this.#varint(keys.length);
          for (const k of keys) {
            this.#varint(this.#string(k));
            this.#value((v as Record<string, unknown>)[k], depth + 1);
          }
        }
        return;
      default:
        this.#byte(T_NULL);
    }
  }

  #byte(b: number): void {
    this.#ensure(1);
    this.#body[this.#len++] = b;
  }

  #varint(n: number): void {
    this.#ensure(5);
    this.#len = writeVarint(this.#body, this.#len, n);
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#body.length) return;
    const next = new Uint8Array(Math.max(this.#body.length * 2, this.#len + n));
    next.set(this.#body.subarray(0, this.#len));
    this.#body = next;
  }
}

export interface SignalsRecord {
  src: SignalSource;
  ops: SignalOps;
}

export const encodeSignalsRecord = (r: SignalsRecord): Buffer => r.ops.encode(r.src);

function varintWidth(max: number): number {
  let w = 1;
  while (max >= 0x80) {
    max = Math.floor(max / 128);
    w++;
  }
  return w;
}

/** Unsigned LEB128 of a non-negative integer below 2^32 (counts, indices, lengths, partitions). */
function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

function writePaddedVarint(buf: Uint8Array, at: number, n: number, width: number): void {
  for (let i = 0; i < width - 1; i++) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at] = n;
}

/** A decoded signals record; its ops are applied to a pipeline's normalise context. */
export interface DecodedSignals {
  src: SignalSource;
  ops: unknown[][];
}

/** Thrown inside the decoder only, for a record that ends early or holds what no encoder writes. */
class Malformed extends Error {}
const MALFORMED = new Malformed('malformed signals record');

class Reader {
  at = 1;
  strings: string[] = [];
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  byte(): number {
    if (this.at >= this.buf.length) throw MALFORMED;
    return this.buf[this.at++]!;
  }

  varint(): number {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
    throw MALFORMED;
  }

  /** A count of things still to read: each takes at least one byte, so no count may exceed what is left. */
  count(): number {
    const n = this.varint();
    if (n > this.buf.length - this.at) throw MALFORMED;
    return n;
  }

  f64(): number {
    if (this.at + 8 > this.buf.length) throw MALFORMED;
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  string(): string {
    const s = this.strings[this.varint()];
    if (s === undefined) throw MALFORMED;
    return s;
  }

  value(depth: number): unknown {
    switch (this.byte()) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_STRING:
        return this.string();
      case T_FLOAT:
        return this.f64();
      case T_UINT:
        return this.varint();
      case T_OBJECT: {
        if (depth >= MAX_DEPTH) throw MALFORMED;
        const n = this.count();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.string();
          const v = this.value(depth + 1);
          // No signal has such a key; assigning it would set the object's prototype.
          if (k === '__proto__') throw MALFORMED;
          if (v !== undefined) o[k] = v;
        }
        return o;
      }
      case T_ARRAY: {
        if (depth >= MAX_DEPTH) throw MALFORMED;
        const n = this.count();
        const a: unknown[] = [];
        for (let i = 0; i < n; i++) a.push(this.value(depth + 1));
        return a;
      }
      default:
        throw MALFORMED;
    }
  }

  bool(): boolean {
    const b = this.byte();
    if (b !== T_TRUE && b !== T_FALSE) throw MALFORMED;
    return b === T_TRUE;
  }

  number(): number {
    const v = this.value(0);
    if (typeof v !== 'number') throw MALFORMED;
    return v;
  }

  signal(): unknown {
    const code = this.byte();
    if (code === TYPE_GENERIC) return this.value(0);
    const type = SIGNAL_TYPES[code];
    if (type === undefined) throw MALFORMED;
    const fields = SIGNAL_FIELDS[type];
    const o: Record<string, unknown> = { type };
    for (let i = 0; i < fields.length; i++) {
      const v = this.value(1);
      if (v !== undefined) o[fields[i]!] = v;
    }
    return o;
  }

  site(): SignalSite {
    const s = this.value(0);
    if (!isSite(s)) throw MALFORMED;
    return s;
  }
}

/** Parses a signals record; undefined for anything foreign or malformed (counted by the caller). */
export function decodeSignalsRecord(value: Buffer | null): DecodedSignals | undefined {
  if (!value || value.length === 0) return undefined;
  if (value[0] === SIGNALS_FORMAT_VERSION) {
    try {
      return decodeBinary(value);
    } catch (err) {
      if (err instanceof Malformed || err instanceof RangeError) return undefined;
      throw err;
    }
  }
  if (value[0] === 0x7b) return decodeJson(value);
  return undefined;
}

function decodeBinary(buf: Buffer): DecodedSignals {
  const r = new Reader(buf);
  const n = r.count();
  for (let i = 0; i < n; i++) {
    const len = r.varint();
    if (r.at + len > buf.length) throw MALFORMED;
    r.strings.push(internUtf8(buf, r.at, len));
    r.at += len;
  }
  const topic = r.string();
  const partition = r.varint();
  const offset = r.f64();
  const index = r.varint();
  const timestamp = r.f64();
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isFinite(timestamp)) throw MALFORMED;
  const count = r.count();
  const ops: unknown[][] = [];
  for (let i = 0; i < count; i++) {
    const tag = r.byte();
    if (tag === OP_SIGNAL) {
      const s = r.signal();
      if (!isSite(s)) throw MALFORMED;
      ops.push(['g', s]);
    } else if (tag === OP_SERVER_SPAN)
      ops.push(['v', r.site(), r.string(), r.number(), r.number(), r.bool()]);
    else if (tag === OP_SPAN) ops.push(['t', r.site(), r.number(), r.bool(), r.string()]);
    else throw MALFORMED;
  }
  if (r.at !== buf.length) throw MALFORMED;
  return { src: { topic, partition, offset, index, timestamp }, ops };
}

/** Format 1: `{"v":1,"src":[topic,partition,offset,index,timestamp],"ops":[op,…]}`, ops as above in JSON arrays. */
function decodeJson(value: Buffer): DecodedSignals | undefined {
  let doc: { v?: unknown; src?: unknown; ops?: unknown };
  try {
    doc = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (doc?.v !== 1 || !Array.isArray(doc.src) || !Array.isArray(doc.ops)) return undefined;
  const [topic, partition, offset, index, timestamp] = doc.src as unknown[];
  if (
    typeof topic !== 'string' ||
    !Number.isInteger(partition) ||
    !Number.isInteger(offset) ||
    !Number.isInteger(index) ||
    typeof timestamp !== 'number'
  )
    return undefined;
  if (!doc.ops.every((op) => Array.isArray(op) && typeof op[0] === 'string' && isSite(op[1])))
    return undefined;
  return {
    src: {
      topic,
      partition: partition as number,
      offset: offset as number,
      index: index as number,
      timestamp,
    },
    ops: doc.ops as unknown[][],
  };
}

function isSite(x: unknown): x is SignalSite {
  const s = x as SignalSite;
  return (
    typeof s === 'object' && s !== null && typeof s.cluster === 'string' && typeof s.namespace === 'string'
  );
}

/** Replays decoded ops into a normalise context, in the order the ingesting replica emitted them. */
export function applyOps(ops: unknown[][], ctx: NormaliseContext): void {
  for (const op of ops) {
    switch (op[0]) {
      case 'g':
        ctx.emit(op[1] as Signal);
        break;
      case 'v':
        ctx.observeServerSpan(
          op[1] as SignalSite,
          String(op[2]),
          Number(op[3]),
          Number(op[4]),
          op[5] === true,
        );
        break;
      case 't':
        ctx.observeSpan?.(op[1] as SignalSite, Number(op[2]), op[3] === true, String(op[4] ?? ''));
        break;
    }
  }
}
