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
});
