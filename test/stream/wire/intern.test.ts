import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { INTERN_MAX, internUtf8 } from '../../../src/stream/wire/intern.ts';

describe('string interning on the decode path', () => {
  it('always returns exactly what Buffer#toString would, whatever was cached before', () => {
    // Invariant: the cache may only ever change allocation, never the decoded text (collisions,
    // overwritten slots, invalid UTF-8, lengths at the limit).
    const pool = fc.array(fc.uint8Array({ minLength: 0, maxLength: INTERN_MAX + 8 }), {
      minLength: 1,
      maxLength: 40,
    });
    fc.assert(
      fc.property(pool, fc.array(fc.nat(), { minLength: 1, maxLength: 300 }), (strings, picks) => {
        for (const p of picks) {
          const bytes = strings[p % strings.length]!;
          const buf = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(bytes), Buffer.from([9])]);
          const len = Math.min(bytes.length, INTERN_MAX);
          assert.equal(internUtf8(buf, 3, len), buf.toString('utf8', 3, 3 + len));
          // With a view, the compare runs four bytes at a time: the same strings.
          const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
          assert.equal(internUtf8(buf, 3, len, view), buf.toString('utf8', 3, 3 + len));
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('returns the same string instance for repeated bytes (no new allocation)', () => {
    const a = Buffer.from('k8s.namespace.name');
    const b = Buffer.from('xxk8s.namespace.name');
    const s1 = internUtf8(a, 0, a.length);
    const s2 = internUtf8(b, 2, a.length);
    assert.equal(s1, 'k8s.namespace.name');
    assert.equal(s2, s1);
  });

  it('tells apart same-length strings that share a slot, whichever byte differs', () => {
    // The slot hashes 12 of these 21 bytes: a variant that differs elsewhere lands on the first one's
    // slot, so only the compare (four bytes at a time with a view, then the tail) can tell them apart.
    const base = 'app-12345-7d9f8c6b5-x';
    for (let at = 0; at < base.length; at++) {
      const other = `${base.slice(0, at)}#${base.slice(at + 1)}`;
      for (const [first, second] of [
        [base, other],
        [other, base],
      ]) {
        const a = Buffer.from(`..${first}`);
        const b = Buffer.from(`.${second}`);
        const va = new DataView(a.buffer, a.byteOffset, a.byteLength);
        const vb = new DataView(b.buffer, b.byteOffset, b.byteLength);
        assert.equal(internUtf8(a, 2, first!.length, va), first);
        assert.equal(internUtf8(b, 1, second!.length, vb), second);
      }
    }
  });
});
