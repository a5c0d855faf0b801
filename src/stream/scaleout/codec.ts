// The repartition topic's record. Format 3 (what this release produces): everything one ingest replica
// has for one signals partition from one consumed batch of input records, as one group per input
// record (the ops of all its scopes that hash to that partition, in emission order), because a
// record per input record and scope (format 2) cost an acknowledged produce, a consumed message and a
// decode each, about 50 per input message of 1,000 log records. Binary, because JSON text cost about
// a fifth of a replica's main thread:
//   0x03 · u32 crc32(rest) · strings · varint groups · groups × (src · u32 ops · u32 bytes · ops)
//   strings: varint n, then n × (varint byte length, UTF-8): every string of the record once.
//   src:     varint topic (string index), varint partition, f64 offset, u32 index, f64 timestamp
//            (index: the highest index, among the input record's scopes, of the scopes in the group)
//   ops:     n × (tag byte, fields): 'g' type byte, each value of SIGNAL_FIELDS[type]
//            (0xff: value(signal), keys and all) | 'v' value(site) varint(service)
//            value(atMs) value(durationMs) bool(failed) | 't' value(site) value(atMs) bool(failed) varint(traceId)
//   value:   a type byte, then: string index | f64 | varint | object (varint n, n × (key index, value)) | …
// Format 2 (0x02 · strings · src with varint index · varint n · ops: one input record's ops for one
// scope, keyed by the scope) and format 1 (its JSON, `{"v":1,…}`) are what older replicas produce;
// both are still read. An owner before format 3 skips format-3 records as malformed, so upgrading to
// format 3 replaces all replicas at once (src/stream/README.md). Anything else is malformed (counted
// and skipped by the owner).
import { crc32 } from 'node:zlib';
import type { NormaliseContext } from '../normalise/context.ts';
import type { Signal, SignalSite } from '../signals.ts';
import { internUtf8 } from '../wire/intern.ts';

export const SIGNALS_FORMAT_VERSION = 3;

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

/** The strings of one record: each written once, referred to by index. */
class StringTable {
  readonly index = new Map<string, number>();
  readonly strings: string[] = [];
  /** UTF-16 code units of all strings: about their UTF-8 bytes, for sizing records. */
  chars = 0;

  of(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
      this.chars += s.length;
    }
    return i;
  }

  clear(): void {
    this.index.clear();
    this.strings.length = 0;
    this.chars = 0;
  }

  /** Upper bound of the bytes `write` takes for the first `n` strings. */
  maxBytes(n = this.strings.length): number {
    let bytes = 5;
    for (let i = 0; i < n; i++) bytes += 5 + this.strings[i]!.length * 3;
    return bytes;
  }

  /** The first `n` strings (a prefix: what the groups written before the n-th string was added refer to). */
  write(out: Buffer, at: number, n = this.strings.length): number {
    at = writeVarint(out, at, n);
    for (let i = 0; i < n; i++) {
      const s = this.strings[i]!;
      // The byte length is known only once written: its varint is padded to the width the bound needs.
      const width = varintWidth(s.length * 3);
      const n = out.write(s, at + width);
      writePaddedVarint(out, at, n, width);
      at += width + n;
    }
    return at;
  }
}

/**
 * Ops encoded as the normalisers emit them (they may reuse objects, so nothing is kept by reference),
 * their strings in a table written once per record.
 */
class OpWriter {
  protected body = new Uint8Array(256);
  protected len = 0;
  protected readonly table = new StringTable();
  protected count = 0;
  readonly #f64 = new Float64Array(1);
  readonly #f64Bytes = new Uint8Array(this.#f64.buffer);

  signal(s: Signal): void {
    this.count++;
    this.byte(OP_SIGNAL);
    const code = TYPE_CODES.get(s.type);
    if (code === undefined) {
      this.byte(TYPE_GENERIC);
      this.#value(s, 0);
      return;
    }
    this.byte(code);
    const fields = SIGNAL_FIELDS[s.type];
    const o = s as unknown as Record<string, unknown>;
    for (let i = 0; i < fields.length; i++) this.#value(o[fields[i]!], 1);
  }

  serverSpan(site: SignalSite, service: string, atMs: number, durationMs: number, failed: boolean): void {
    this.count++;
    this.byte(OP_SERVER_SPAN);
    this.#value(site, 0);
    this.varint(this.table.of(service));
    this.#value(atMs, 0);
    this.#value(durationMs, 0);
    this.byte(failed ? T_TRUE : T_FALSE);
  }

  span(site: SignalSite, atMs: number, failed: boolean, traceId: string): void {
    this.count++;
    this.byte(OP_SPAN);
    this.#value(site, 0);
    this.#value(atMs, 0);
    this.byte(failed ? T_TRUE : T_FALSE);
    this.varint(this.table.of(traceId));
  }

  #value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        this.byte(T_STRING);
        this.varint(this.table.of(v));
        return;
      case 'number':
        if (Number.isInteger(v) && v >= 0 && v <= 0x7fffffff) {
          this.byte(T_UINT);
          this.varint(v);
        } else {
          this.byte(T_FLOAT);
          this.f64(v);
        }
        return;
      case 'boolean':
        this.byte(v ? T_TRUE : T_FALSE);
        return;
      case 'undefined':
        this.byte(T_UNDEFINED);
        return;
      case 'object':
        if (v === null) this.byte(T_NULL);
        else if (depth >= MAX_DEPTH) this.byte(T_NULL);
        else if (Array.isArray(v)) {
          this.byte(T_ARRAY);
          this.varint(v.length);
          for (const x of v) this.#value(x, depth + 1);
        } else {
          // Keys with undefined values are kept (as JSON would drop them, the decoder drops them).
          const keys = Object.keys(v);
          this.byte(T_OBJECT);
          this.varint(keys.length);
          for (const k of keys) {
            this.varint(this.table.of(k));
            this.#value((v as Record<string, unknown>)[k], depth + 1);
          }
        }
        return;
      default:
        this.byte(T_NULL);
    }
  }

  protected f64(v: number): void {
    this.#f64[0] = v;
    this.ensure(8);
    this.body.set(this.#f64Bytes, this.len);
    this.len += 8;
  }

  protected byte(b: number): void {
    this.ensure(1);
    this.body[this.len++] = b;
  }

  protected varint(n: number): void {
    this.ensure(5);
    this.len = writeVarint(this.body, this.len, n);
  }

  protected ensure(n: number): void {
    if (this.len + n <= this.body.length) return;
    const next = new Uint8Array(Math.max(this.body.length * 2, this.len + n));
    next.set(this.body.subarray(0, this.len));
    this.body = next;
  }
}

/** Format 2: one scope's ops of one input record, a record of their own (what replicas before format 3 produce). */
export class SignalOps extends OpWriter {
  get length(): number {
    return this.count;
  }

  /** The whole record: version, strings, source and ops. */
  encode(src: SignalSource): Buffer {
    const topic = this.table.of(src.topic);
    const out = Buffer.allocUnsafe(this.table.maxBytes() + 1 + 5 + 5 + 8 + 5 + 8 + 5 + this.len);
    out[0] = 2;
    let at = this.table.write(out, 1);
    at = writeVarint(out, at, topic);
    at = writeVarint(out, at, src.partition);
    at = out.writeDoubleLE(src.offset, at);
    at = writeVarint(out, at, src.index);
    at = out.writeDoubleLE(src.timestamp, at);
    at = writeVarint(out, at, this.count);
    out.set(this.body.subarray(0, this.len), at);
    return out.subarray(0, at + this.len);
  }
}

/** The fewest bytes a format-3 group takes: topic, partition, offset, index, timestamp, op count, byte length. */
const GROUP_MIN_BYTES = 1 + 1 + 8 + 4 + 8 + 4 + 4;

/**
 * Format 3: everything one replica has for one signals partition, as groups, one per input record
 * (the ops of every scope of that record that hashes to the partition, in emission order). An input
 * record's group is begun by `begin`, written by the op methods, closed by `end` (or undone by
 * `rollback` when the record fails); `take` encodes the record and starts the next one.
 */
export class SignalsBatchWriter extends OpWriter {
  #groups = 0;
  /** Where the last closed group starts, and how many strings the table had when it began. */
  #lastAt = 0;
  #lastStrings = 0;
  #openStrings = 0;
  /** Where the open group's header starts, its ops start, and the highest scope index it holds. */
  #header = -1;
  #opsAt = 0;
  #countAt = 0;
  #index = 0;

  /** Groups closed so far. */
  get groups(): number {
    return this.#groups;
  }

  /** About the bytes of the record so far: ops, headers and strings. */
  get byteLength(): number {
    return this.len + this.table.chars;
  }

  get open(): boolean {
    return this.#header >= 0;
  }

  begin(src: { topic: string; partition: number; offset: number; timestamp: number }): void {
    this.#header = this.len;
    this.#openStrings = this.table.strings.length;
    this.varint(this.table.of(src.topic));
    this.varint(src.partition);
    this.f64(src.offset);
    this.#index = 0;
    this.ensure(4);
    this.len += 4; // index, set by end()
    this.f64(src.timestamp);
    this.#countAt = this.len;
    this.count = 0;
    this.ensure(8);
    this.len += 8; // op count and byte length, set by end()
    this.#opsAt = this.len;
  }

  /** A scope of the open group, by its index among the input record's scopes. */
  scope(index: number): void {
    if (index > this.#index) this.#index = index;
  }

  end(): void {
    writeU32(this.body, this.#countAt - 12, this.#index);
    writeU32(this.body, this.#countAt, this.count);
    writeU32(this.body, this.#countAt + 4, this.len - this.#opsAt);
    this.#lastAt = this.#header;
    this.#lastStrings = this.#openStrings;
    this.#header = -1;
    this.#groups++;
  }

  rollback(): void {
    if (this.#header < 0) return;
    this.len = this.#header;
    this.#header = -1;
  }

  /** The record of every group closed so far; the writer starts empty again. */
  take(): Buffer {
    const record = this.#encode(this.#groups, this.len, this.table.strings.length);
    this.table.clear();
    this.len = 0;
    this.#groups = 0;
    this.#header = -1;
    return record;
  }

  /**
   * The record of every closed group but the last, which stays as the writer's only group: a record
   * that grew too large with its last group goes out without it. It carries the strings added before
   * the last group began (all its groups refer to); the last group keeps the whole table.
   */
  takeAllButLast(): Buffer {
    const record = this.#encode(this.#groups - 1, this.#lastAt, this.#lastStrings);
    this.body.copyWithin(0, this.#lastAt, this.len);
    this.len -= this.#lastAt;
    this.#lastAt = 0;
    this.#groups = 1;
    return record;
  }

  #encode(groups: number, bytes: number, strings: number): Buffer {
    const out = Buffer.allocUnsafe(5 + this.table.maxBytes(strings) + 5 + bytes);
    out[0] = SIGNALS_FORMAT_VERSION;
    let at = this.table.write(out, 5, strings);
    at = writeVarint(out, at, groups);
    out.set(this.body.subarray(0, bytes), at);
    at += bytes;
    const record = out.subarray(0, at);
    record.writeUInt32LE(crc32(record.subarray(5)), 1);
    return record;
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

function writeU32(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n & 0xff;
  buf[at + 1] = (n >>> 8) & 0xff;
  buf[at + 2] = (n >>> 16) & 0xff;
  buf[at + 3] = n >>> 24;
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

  u32(): number {
    if (this.at + 4 > this.buf.length) throw MALFORMED;
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
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

  strings_(n: number): void {
    for (let i = 0; i < n; i++) {
      const len = this.varint();
      if (this.at + len > this.buf.length) throw MALFORMED;
      this.strings.push(internUtf8(this.buf, this.at, len));
      this.at += len;
    }
  }

  /** `n` ops straight into a normalise context, as the ingesting replica emitted them. */
  emitOps(n: number, ctx: NormaliseContext): void {
    for (let i = 0; i < n; i++) {
      const tag = this.byte();
      if (tag === OP_SIGNAL) {
        const s = this.signal();
        if (!isSite(s)) throw MALFORMED;
        ctx.emit(s as Signal);
      } else if (tag === OP_SERVER_SPAN)
        ctx.observeServerSpan(this.site(), this.string(), this.number(), this.number(), this.bool());
      else if (tag === OP_SPAN) {
        const site = this.site();
        const atMs = this.number();
        const failed = this.bool();
        const traceId = this.string();
        ctx.observeSpan?.(site, atMs, failed, traceId);
      } else throw MALFORMED;
    }
  }
}

/** Parses a record of format 1 or 2; undefined for anything else (format 3: forEachSignalsGroup). */
export function decodeSignalsRecord(value: Buffer | null): DecodedSignals | undefined {
  if (!value || value.length === 0) return undefined;
  if (value[0] === 2) {
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

/**
 * One input record's ops in a signals record: `emit` replays them into a normalise context (at most
 * once); a visitor that does not call it skips them (a re-delivery).
 */
export type SignalsGroupVisitor = (src: SignalSource, emit: (ctx: NormaliseContext) => void) => void;

/**
 * Walks a signals record of any format group by group (formats 1 and 2 hold one). False for a record
 * that is foreign or malformed: format 3 carries a CRC-32 of its body, so a truncated or corrupted
 * record is refused before any group is visited; one that passes it and still does not parse (a
 * writer's bug) stops at the group that does not, the groups before it already visited. Never throws
 * for the record's content; what the context throws (a bug downstream) is not caught here.
 */
export function forEachSignalsGroup(value: Buffer | null, visit: SignalsGroupVisitor): boolean {
  if (value && value.length > 0 && value[0] === SIGNALS_FORMAT_VERSION) {
    try {
      return walkBatch(value, visit);
    } catch (err) {
      if (err instanceof Malformed) return false;
      throw err;
    }
  }
  const rec = decodeSignalsRecord(value);
  if (!rec) return false;
  visit(rec.src, (ctx) => applyOps(rec.ops, ctx));
  return true;
}

function walkBatch(buf: Buffer, visit: SignalsGroupVisitor): boolean {
  if (buf.length < 5 || buf.readUInt32LE(1) !== crc32(buf.subarray(5))) return false;
  const r = new Reader(buf);
  r.at = 5;
  r.strings_(r.count());
  const groups = r.varint();
  if (groups === 0 || groups > (buf.length - r.at) / GROUP_MIN_BYTES) return false;
  for (let g = 0; g < groups; g++) {
    const topic = r.string();
    const partition = r.varint();
    const offset = r.f64();
    const index = r.u32();
    const timestamp = r.f64();
    const ops = r.u32();
    const bytes = r.u32();
    const end = r.at + bytes;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isFinite(timestamp) || end > buf.length)
      throw MALFORMED;
    if (ops > bytes) throw MALFORMED;
    let emitted = false;
    visit({ topic, partition, offset, index, timestamp }, (ctx) => {
      if (emitted) return;
      emitted = true;
      r.emitOps(ops, ctx);
      if (r.at !== end) throw MALFORMED;
    });
    r.at = end;
  }
  if (r.at !== buf.length) throw MALFORMED;
  return true;
}

/** A format-3 record's groups with their ops decoded (tests, inspection); undefined when malformed. */
export function decodeSignalsBatch(value: Buffer | null): DecodedSignals[] | undefined {
  const out: DecodedSignals[] = [];
  const ok = forEachSignalsGroup(value, (src, emit) => {
    const ops: unknown[][] = [];
    emit({
      emit: (s: Signal) => ops.push(['g', s]),
      observeServerSpan: (...a: unknown[]) => ops.push(['v', ...a]),
      observeSpan: (...a: unknown[]) => ops.push(['t', ...a]),
    } as unknown as NormaliseContext);
    out.push({ src, ops });
  });
  return ok ? out : undefined;
}

function decodeBinary(buf: Buffer): DecodedSignals {
  const r = new Reader(buf);
  r.strings_(r.count());
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
