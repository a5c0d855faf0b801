// Capture files: the line splitter that replaced readline splits exactly as readline did (line numbers
// in errors depend on it), and base64 validation rejects exactly what the pattern rejected.
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  captureLines,
  formatCaptureLine,
  parseCaptureBytes,
  parseCaptureLine,
} from '../../src/stream/capture.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function viaReadline(bytes: Buffer): Promise<string[]> {
  const out: string[] = [];
  const rl = createInterface({ input: Readable.from([bytes]), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const l of rl) out.push(l);
  return out;
}

async function viaCaptureLines(bytes: Buffer, cuts: number[]): Promise<string[]> {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    chunks.push(bytes.subarray(from, c));
    from = c;
  }
  chunks.push(bytes.subarray(from));
  const out: string[] = [];
  for await (const l of captureLines(Readable.from(chunks, { objectMode: true }))) out.push(l);
  return out;
}

describe('capture: reading lines', () => {
  it('splits \\n, \\r\\n and lone \\r like readline, whatever the chunk boundaries', async () => {
    const r = rng(18);
    const alphabet = ['a', 'b', '{', '"', '\n', '\n', '\r', '\r\n', ' ', 'é', '€', '😀'];
    for (let i = 0; i < 3000; i++) {
      let text = '';
      const len = Math.floor(r() * 30);
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(r() * alphabet.length)];
      const bytes = Buffer.from(text, 'utf8');
      const cuts = [
        ...new Set(Array.from({ length: Math.floor(r() * 4) }, () => Math.floor(r() * bytes.length))),
      ].sort((x, y) => x - y);
      assert.deepEqual(
        await viaCaptureLines(bytes, cuts),
        await viaReadline(bytes),
        JSON.stringify({ text, cuts }),
      );
    }
  });
});

describe('capture: base64 fields', () => {
  const PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
  const accepts = (v: string) => {
    try {
      parseCaptureLine(
        JSON.stringify({ topic: 't', partition: 0, offset: 0, timestamp: 0, value: v }),
        'c',
        1,
      );
      return true;
    } catch (err) {
      assert.match((err as Error).message, /c:1: "value" must be a base64 string/);
      return false;
    }
  };

  it('accepts and rejects exactly what the base64 pattern does (URL-safe, padding, stray bytes)', () => {
    for (const v of [
      '',
      'YWJj',
      'YWI=',
      'YQ==',
      'ab-_',
      'YQ=a',
      'Y===',
      '====',
      'YW c',
      'YWJ*',
      'YW\nJ',
      'YQ==YQ==',
    ]) {
      assert.equal(accepts(v), v.length % 4 === 0 && PATTERN.test(v), JSON.stringify(v));
    }
    const r = rng(4);
    const alphabet = ['Q', 'U', 'J', 'D', '+', '/', '=', '-', '_', ' ', '*', '.', 'é', '\u0000'];
    for (let i = 0; i < 20000; i++) {
      let v = '';
      const len = 4 * Math.floor(r() * 5) + (r() < 0.1 ? 1 : 0);
      for (let j = 0; j < len; j++)
        v += r() < 0.85 ? 'QUJD'[j % 4] : alphabet[Math.floor(r() * alphabet.length)];
      assert.equal(accepts(v), v.length % 4 === 0 && PATTERN.test(v), JSON.stringify(v));
    }
  });

  it('decodes the bytes it accepts', () => {
    const value = Buffer.from([0, 1, 2, 250, 251, 252, 253]);
    const rec = parseCaptureLine(
      JSON.stringify({ topic: 't', partition: 0, offset: 0, timestamp: 0, value: value.toString('base64') }),
      'c',
      1,
    );
    assert.deepEqual(rec.value, value);
  });
});

/** parseCaptureLine's answer for a line: the record, undefined for a blank line, or the error message. */
function viaText(line: string): unknown {
  if (line.trim() === '') return undefined;
  try {
    return parseCaptureLine(line, 'c.ndjson', 3);
  } catch (err) {
    return (err as Error).message;
  }
}

function viaBytes(line: string): unknown {
  try {
    return parseCaptureBytes(Buffer.from(line, 'utf8'), 'c.ndjson', 3);
  } catch (err) {
    return (err as Error).message;
  }
}

describe('capture: a line parsed from its bytes', () => {
  const good = formatCaptureLine({
    topic: 'otlp_logs',
    partition: 1,
    offset: 7,
    timestamp: 1764300000000,
    key: Buffer.from('k'),
    headers: { value: Buffer.from('h') },
    value: Buffer.from('a value of some length, not a multiple of three!'),
  });
  const b64 = Buffer.from('a value of some length, not a multiple of three!').toString('base64');
  const cases: [string, string][] = [
    ['as written', good],
    ['empty value', good.replace(/"value":"[^"]*"/, '"value":""')],
    ['value first', `{"value":"${b64}","topic":"t","partition":0,"offset":0,"timestamp":0}`],
    ['URL-safe alphabet', good.replace(/"value":"[^"]*"/, '"value":"ab-_"')],
    ['a quote inside', good.replace(/"value":"[^"]*"/, '"value":"ab\\"cd"')],
    ['an escape inside', good.replace(/"value":"[^"]*"/, '"value":"ab\\u0041c"')],
    ['padding in the middle', good.replace(/"value":"[^"]*"/, '"value":"QQ==QUJD"')],
    ['not a multiple of 4', good.replace(/"value":"[^"]*"/, '"value":"QUJ"')],
    ['whitespace before the value', good.replace('"value":', '"value": ')],
    ['duplicate value keys, the last wins', good.replace('{"topic"', '{"value":"QUJD","topic"')],
    ['an earlier empty value key', good.replace('{"topic"', '{"value":"","topic"')],
    [
      '"value" ending another key',
      `{"topic":"t","partition":0,"offset":0,"timestamp":0,"a\\"value":"${b64}"}`,
    ],
    [
      'an empty value key, then "value" ending another key',
      `{"value":"","topic":"t","partition":0,"offset":0,"timestamp":0,"a\\"value":"${b64}"}`,
    ],
    ['escaped key after the value', `${good.slice(0, -1)},"valu\\u0065":"QUJD"}`],
    [
      'a quoted comma before the key',
      `{"topic":"t,","partition":0,"offset":0,"timestamp":0,"x":",","value":"${b64}"}`,
    ],
    ['broken JSON before the value', good.replace('"partition":1', '"partition":1,,')],
    ['bad key base64', good.replace(/"key":"[^"]*"/, '"key":"a"')],
    ['negative offset', good.replace('"offset":7', '"offset":-7')],
    ['byte order mark', `\ufeff${good}`],
    ['blank', '   '],
    ['not an object', `[${good}]`],
  ];
  it('gives the record or the error parseCaptureLine gives for the whole text', () => {
    for (const [name, line] of cases) assert.deepStrictEqual(viaBytes(line), viaText(line), name);
    // The cases reach both outcomes.
    assert.ok(cases.filter(([, l]) => typeof viaText(l) === 'object').length >= 4);
    assert.ok(cases.filter(([, l]) => typeof viaText(l) === 'string').length >= 6);
  });
});
