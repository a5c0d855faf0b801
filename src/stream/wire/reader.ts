import { DecodeError } from '../../core/errors.ts';
import { INTERN_MAX, internUtf8, utf8Text } from './intern.ts';

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/#structure).
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_SGROUP = 3;
export const WIRE_EGROUP = 4;
export const WIRE_I32 = 5;

const TWO_32 = 4294967296;

/**
 * A cursor over one protobuf payload. It never copies: strings are decoded straight from the
 * record's buffer and byte fields are `subarray` views. Every read checks bounds and fails with a
 * DecodeError that carries the byte position, so corrupt input can never read past the record.
 */
export class ProtoReader {
  readonly buf: Buffer;
  pos: number;
  readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  truncated(need: number): DecodeError {
    return new DecodeError('DECODE_TRUNCATED', `Truncated buffer: expected ${need} bytes`, this.pos);
  }

  /** Varint as an unsigned 32-bit number (tags, lengths, enums, uint32); upper bits are dropped. */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = buf.length;
    // Fast path: one byte covers tags and short lengths, the overwhelmingly common case.
    if (pos < end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= end) throw this.truncated(1);
      const b = buf[pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    this.pos = pos;
    throw new DecodeError('DECODE_BAD_FIELD', 'Varint longer than 10 bytes', pos);
  }

  /** A length prefix, checked against what is left so a corrupt length can never over-read. */
  length(): number {
    const start = this.pos;
    const len = this.uint32();
    if (len > this.buf.length - this.pos) {
      this.pos = start;
      throw new DecodeError(
        'DECODE_TRUNCATED',
        `Truncated buffer: length ${len} exceeds the ${this.buf.length - start} bytes left`,
        start,
      );
    }
    return len;
  }

  /** int64/uint64 varint: a number when it fits in 2^53 exactly, otherwise a bigint. */
  int64(signed: boolean): number | bigint {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 10; i++) {
      if (pos >= buf.length) throw this.truncated(1);
      const b = buf[pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (i * 7);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << ((i - 5) * 7 + 3);
      if (b < 0x80) break;
    }
    if (i === 10) throw new DecodeError('DECODE_BAD_FIELD', 'Varint longer than 10 bytes', pos);
    this.pos = pos;
    return combine(lo >>> 0, hi >>> 0, signed);
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** fixed64 as bigint: nanosecond timestamps exceed 2^53 and must keep every digit. */
  fixed64(): bigint {
    if (this.pos + 8 > this.buf.length) throw this.truncated(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** sfixed64 as a number when exact, otherwise a bigint. */
  sfixed64(): number | bigint {
    if (this.pos + 8 > this.buf.length) throw this.truncated(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return combine(lo, hi, true);
  }

  fixed64Count(): number {
    if (this.pos + 8 > this.buf.length) throw this.truncated(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  fixed32(): number {
    if (this.pos + 4 > this.buf.length) throw this.truncated(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) throw this.truncated(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  string(): string {
    const len = this.length();
    const start = this.pos;
    this.pos = start + len;
    if (len === 0) return '';
    return len <= INTERN_MAX
      ? internUtf8(this.buf, start, len, this.view)
      : utf8Text(this.buf, start, start + len);
  }

  /** A view into the record's buffer, not a copy. */
  bytes(): Uint8Array {
    const len = this.length();
    const start = this.pos;
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  /** Returns the end offset of an embedded message that starts here. */
  messageEnd(): number {
    const len = this.length();
    return this.pos + len;
  }

  /** Skips a field we do not read: proto3 requires unknown fields to be ignored. */
  skip(wireType: number, depth = 0): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.int64(false);
        return;
      case WIRE_I64:
        if (this.pos + 8 > this.buf.length) throw this.truncated(8);
        this.pos += 8;
        return;
      case WIRE_LEN: {
        // Not `this.pos += this.length()`: that reads pos before length() moves it past the prefix.
        const len = this.length();
        this.pos += len;
        return;
      }
      case WIRE_I32:
        if (this.pos + 4 > this.buf.length) throw this.truncated(4);
        this.pos += 4;
        return;
      case WIRE_SGROUP: {
        if (depth > 32) throw new DecodeError('DECODE_TOO_DEEP', 'Groups nested too deeply', this.pos);
        for (;;) {
          if (this.pos >= this.buf.length) throw this.truncated(1);
          const tag = this.uint32();
          const wt = tag & 7;
          if (wt === WIRE_EGROUP) return;
          this.skip(wt, depth + 1);
        }
      }
      default:
        throw new DecodeError('DECODE_BAD_WIRE_TYPE', `Invalid wire type ${wireType}`, this.pos);
    }
  }

  /** Fails when an embedded message's fields ran past its declared end. */
  expectEnd(end: number): void {
    if (this.pos !== end) {
      throw new DecodeError(
        'DECODE_BAD_FIELD',
        `Field overruns its enclosing message ending at ${end}`,
        this.pos,
      );
    }
  }

  badWireType(field: string, wireType: number): DecodeError {
    return new DecodeError('DECODE_BAD_WIRE_TYPE', `Wire type ${wireType} is invalid for ${field}`, this.pos);
  }
}

function combine(lo: number, hi: number, signed: boolean): number | bigint {
  if (signed && hi & 0x80000000) {
    // Two's complement negative: exact as a number while |v| <= 2^53.
    const nhi = ~hi >>> 0;
    const nlo = (~lo + 1) >>> 0;
    const carry = nlo === 0 ? 1 : 0;
    const mag = (nhi + carry) * TWO_32 + nlo;
    if (nhi + carry < 0x200000) return -mag;
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }
  if (hi < 0x200000) return hi * TWO_32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
