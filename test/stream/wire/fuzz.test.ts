// Time-boxed fuzzing of the decoder (in the spirit of undici's fast-check fuzz tests): random bytes,
// random protobuf-shaped bytes and mutations of valid batches go into decodeLogs/decodeMetrics/
// decodeTraces. Property: a call returns or throws a DecodeError with an in-bounds position (never a
// RangeError, TypeError or stack overflow), and no single call takes more than MAX_CALL_MS of the main
// thread's CPU (a guard against pathological inputs, not a speed target: CPU time, so a loaded machine
// that preempts the test does not fail it; the speed targets live in bench/decode.ts).
// Then deliberately nasty inputs with the exact error each must produce.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import fc from 'fast-check';
import { DecodeError } from '../../../src/core/errors.ts';
import { otlpType } from '../../../src/sim/otlp-proto.ts';
import { decodeLogs } from '../../../src/stream/wire/decode-logs.ts';
import { decodeMetrics } from '../../../src/stream/wire/decode-metrics.ts';
import { decodeTraces } from '../../../src/stream/wire/decode-traces.ts';
import { scanLogs } from '../../../src/stream/wire/scan-logs.ts';
import { logsRequestArb, metricsRequestArb, tracesRequestArb } from '../../helpers/otlp-arbitraries.ts';
import {
  assertPosition,
  encode,
  expectDecodeError,
  lengthPrefixes,
  rawFields,
  SIGNALS,
  type Signal,
  tag,
  unknown,
  varint,
} from './wire-helpers.ts';

const SEED = 0x5eed;
/** Wall-clock budget per fuzz property; five of them keep the file at about five seconds. */
const BUDGET_MS = 900;
const MAX_CALL_MS = 200;
// scanLogs: the pipeline's logs path (it must fail exactly as decodeLogs does: scan-logs.test.ts).
const DECODERS = [decodeLogs, scanLogs, decodeMetrics, decodeTraces] as const;

const stats = { calls: 0, errors: 0, slowestMs: 0 };
after(() => {
  // Visible with --test-reporter=spec; handy when tuning the budget.
  process.stderr.write(
    `# fuzz: ${stats.calls} decodes, ${stats.errors} DecodeErrors, slowest ${stats.slowestMs.toFixed(1)} ms\n`,
  );
});

/** The property every input must satisfy, for every decoder. */
function decodeSafely(bytes: Uint8Array): void {
  for (const decode of DECODERS) {
    const t0 = process.threadCpuUsage();
    try {
      decode(bytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) {
        assert.fail(
          `${decode.name} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} ` +
            `for ${Buffer.from(bytes).toString('hex').slice(0, 400)}`,
        );
      }
      stats.errors++;
      assertPosition(err, bytes);
    }
    const cpu = process.threadCpuUsage(t0);
    const ms = (cpu.user + cpu.system) / 1000;
    stats.calls++;
    if (ms > stats.slowestMs) stats.slowestMs = ms;
    assert.ok(ms < MAX_CALL_MS, `${decode.name} took ${ms.toFixed(1)} ms of CPU on ${bytes.length} bytes`);
  }
}

function timeBoxed<T>(arb: fc.Arbitrary<T>, check: (v: T) => void): number {
  let runs = 0;
  fc.assert(
    fc.property(arb, (v) => {
      runs++;
      check(v);
    }),
    { seed: SEED, numRuns: 1_000_000, interruptAfterTimeLimit: BUDGET_MS },
  );
  return runs;
}

// ---- inputs --------------------------------------------------------------------------------

/** Protobuf-shaped noise: valid-looking tags (any wire type, 0–7) with nested length-delimited parts. */
const protobufishArb: fc.Arbitrary<Uint8Array> = fc.letrec<{ msg: Uint8Array; field: Uint8Array }>((tie) => ({
  msg: fc.array(tie('field'), { maxLength: 6 }).map((parts) => Buffer.concat(parts)),
  field: fc.oneof(
    { maxDepth: 6, depthSize: 'small' },
    fc
      .tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 9 }))
      .map(([f, wt, raw]) => Buffer.concat([tag(f, wt), raw])),
    fc
      .tuple(fc.integer({ min: 1, max: 16 }), tie('msg'))
      .map(([f, m]) => Buffer.concat([tag(f, 2), varint(m.length), m])),
  ),
})).msg;

/** A few valid batches per signal to mutate. */
const SEEDS: { signal: Signal; bytes: Buffer }[] = SIGNALS.flatMap((s) => {
  const arb = { logs: logsRequestArb, metrics: metricsRequestArb, traces: tracesRequestArb }[s.name];
  return fc
    .sample(arb, { seed: SEED, numRuns: 40 })
    .map((req) => ({ signal: s, bytes: encode(s.request, req) }))
    .filter((x) => x.bytes.length > 0);
});

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'length'; which: number; value: bigint };

const lengthValueArb = fc.oneof(
  fc.constantFrom(
    0n,
    1n,
    0x7fn,
    0x80n,
    0x3fffn,
    0xffffffffn,
    2n ** 32n,
    2n ** 32n + 3n,
    2n ** 63n,
    2n ** 64n - 1n,
  ),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: 0n, max: 64n }),
);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x00, 0x7f, 0x80, 0xff),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('length' as const), which: fc.nat(), value: lengthValueArb }),
);

function mutate(seed: { signal: Signal; bytes: Buffer }, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed.bytes);
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = 'at' in m ? m.at % b.length : 0;
    switch (m.kind) {
      case 'flip':
        b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        b[at] = m.byte;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      case 'length': {
        // Rewrite one length prefix of the *original* structure (only while still unmutated).
        if (b.length !== seed.bytes.length || !b.equals(seed.bytes)) break;
        const prefixes = lengthPrefixes(b, otlpType(seed.signal.request));
        const p = prefixes[m.which % prefixes.length];
        if (p) b = Buffer.concat([b.subarray(0, p.lenPos), varint(m.value), b.subarray(p.valueStart)]);
        break;
      }
    }
  }
  return b;
}

// ---- fuzz properties -------------------------------------------------------------------------

describe('fuzz: decoders return or throw DecodeError, quickly', () => {
  it('random bytes', () => {
    const runs = timeBoxed(fc.uint8Array({ maxLength: 2048 }), decodeSafely);
    assert.ok(runs > 50, `only ${runs} runs`);
  });

  it('random protobuf-shaped bytes (any wire type, nested lengths)', () => {
    const runs = timeBoxed(
      fc.tuple(protobufishArb, fc.boolean()).map(([m, wrap]) =>
        // Half of them inside a resource_logs/resource_metrics/resource_spans field, to get past level one.
        wrap ? Buffer.concat([tag(1, 2), varint(m.length), m]) : m,
      ),
      decodeSafely,
    );
    assert.ok(runs > 50, `only ${runs} runs`);
  });

  it('mutated valid batches (bit flips, byte set/insert/delete, truncation, length-prefix rewrites)', () => {
    assert.ok(SEEDS.length > 60);
    const runs = timeBoxed(
      fc.tuple(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 })),
      ([i, mutations]) => decodeSafely(mutate(SEEDS[i]!, mutations)),
    );
    assert.ok(runs > 50, `only ${runs} runs`);
  });

  it('every length prefix of a batch rewritten to an arbitrary value', () => {
    const runs = timeBoxed(
      fc.tuple(fc.nat({ max: SEEDS.length - 1 }), fc.nat(), lengthValueArb),
      ([i, which, value]) => decodeSafely(mutate(SEEDS[i]!, [{ kind: 'length', which, value }])),
    );
    assert.ok(runs > 50, `only ${runs} runs`);
  });

  it('truncation at every position: a prefix decodes iff it ends on a top-level field boundary', () => {
    const deadline = performance.now() + BUDGET_MS;
    let checked = 0;
    // The largest seeds first: they have the most nesting.
    for (const seed of [...SEEDS].sort((a, b) => b.bytes.length - a.bytes.length)) {
      if (performance.now() > deadline) break;
      const boundaries = new Set(rawFields(seed.bytes).map((f) => f.end));
      for (let n = 0; n < seed.bytes.length; n++) {
        const prefix = seed.bytes.subarray(0, n);
        if (n === 0) {
          expectDecodeError(() => seed.signal.decode(prefix), prefix, 'DECODE_EMPTY_RECORD');
        } else if (boundaries.has(n)) {
          seed.signal.decode(prefix);
        } else {
          expectDecodeError(() => seed.signal.decode(prefix), prefix, 'DECODE_TRUNCATED');
        }
        checked++;
      }
    }
    assert.ok(checked > 1000, `only ${checked} prefixes`);
  });
});

// ---- nasty inputs ----------------------------------------------------------------------------

/**
 * A chain of nested length-delimited fields, outermost first, around `inner`. Written in one pass
 * (sizes computed inside-out), so 20,000 levels cost linear time instead of quadratic concatenation.
 */
function nest(fields: readonly number[], inner: Uint8Array): Buffer {
  const sizes = new Array<number>(fields.length + 1);
  sizes[fields.length] = inner.length;
  for (let i = fields.length - 1; i >= 0; i--) {
    const body = sizes[i + 1]!;
    sizes[i] = tag(fields[i]!, 2).length + varint(body).length + body;
  }
  const out = Buffer.alloc(sizes[0]!);
  let pos = 0;
  for (let i = 0; i < fields.length; i++) {
    pos += tag(fields[i]!, 2).copy(out, pos);
    pos += varint(sizes[i + 1]!).copy(out, pos);
  }
  Buffer.from(inner).copy(out, pos);
  return out;
}

const ARRAY_LEVEL = [5, 1]; // AnyValue.array_value → ArrayValue.values
const KVLIST_LEVEL = [6, 1, 2]; // AnyValue.kvlist_value → KeyValueList.values → KeyValue.value

function levels(n: number, kind: 'array' | 'kvlist' | 'mixed'): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const useArray = kind === 'array' || (kind === 'mixed' && i % 2 === 0);
    out.push(...(useArray ? ARRAY_LEVEL : KVLIST_LEVEL));
  }
  return out;
}

/** Paths from the request down to an AnyValue's contents, for every place our decoder reads one. */
const ANY_VALUE_PATHS: { name: string; decode: (b: Uint8Array) => unknown; path: number[] }[] = [
  { name: 'log body', decode: decodeLogs, path: [1, 2, 2, 5] },
  { name: 'log attribute', decode: decodeLogs, path: [1, 2, 2, 6, 2] },
  { name: 'resource attribute', decode: decodeLogs, path: [1, 1, 1, 2] },
  { name: 'scope attribute', decode: decodeLogs, path: [1, 2, 1, 3, 2] },
  { name: 'gauge point attribute', decode: decodeMetrics, path: [1, 2, 2, 5, 1, 7, 2] },
  { name: 'histogram point attribute', decode: decodeMetrics, path: [1, 2, 2, 9, 1, 9, 2] },
  { name: 'span attribute', decode: decodeTraces, path: [1, 2, 2, 9, 2] },
  { name: 'span event attribute', decode: decodeTraces, path: [1, 2, 2, 11, 3, 2] },
];

const LEAF = Buffer.concat([tag(1, 2), varint(1), Buffer.from('x')]); // AnyValue{string_value: "x"}

describe('nasty inputs', () => {
  for (const kind of ['array', 'kvlist', 'mixed'] as const) {
    it(`AnyValue ${kind}s nested 10,000 deep throw DECODE_TOO_DEEP wherever an AnyValue is read`, () => {
      for (const p of ANY_VALUE_PATHS) {
        const bytes = nest([...p.path, ...levels(10_000, kind)], LEAF);
        const t0 = performance.now();
        const err = expectDecodeError(() => p.decode(bytes), bytes, 'DECODE_TOO_DEEP');
        assert.ok(performance.now() - t0 < MAX_CALL_MS, p.name);
        assert.ok(err.position > 0, p.name);
      }
    });
  }

  it('AnyValue nesting well inside the limit still decodes and agrees with protobufjs', () => {
    for (const kind of ['array', 'kvlist', 'mixed'] as const) {
      const bytes = nest([1, 2, 2, 5, ...levels(30, kind)], LEAF);
      const logs = SIGNALS[0]!;
      assert.deepStrictEqual(logs.ours(bytes), logs.reference(bytes));
    }
  });

  it('unknown groups nested 10,000 deep throw DECODE_TOO_DEEP', () => {
    const depth = 10_000;
    const parts: Buffer[] = [];
    for (let i = 0; i < depth; i++) parts.push(tag(100, 3));
    for (let i = 0; i < depth; i++) parts.push(tag(100, 4));
    const groups = Buffer.concat(parts);
    for (const bytes of [groups, nest([1, 2, 2], groups)]) {
      for (const decode of DECODERS) expectDecodeError(() => decode(bytes), bytes, 'DECODE_TOO_DEEP');
    }
  });

  it('a length prefix of 0xFFFFFFFF throws DECODE_TRUNCATED at the prefix', () => {
    const top = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00]);
    for (const decode of DECODERS) {
      const err = expectDecodeError(() => decode(top), top, 'DECODE_TRUNCATED');
      assert.equal(err.position, 1);
      assert.match(err.message, /length 4294967295/);
    }
  });

  it('a length prefix of 0xFFFFFFFF at any read field fails exactly there', () => {
    // Batches that hold only fields our decoder reads, so every length prefix is actually visited.
    const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
    const attrs = [
      kv('k8s.pod.name', { stringValue: 'api-1' }),
      kv('raw', { bytesValue: Buffer.from([1, 2]) }),
      kv('list', {
        arrayValue: { values: [{ stringValue: 'a' }, { kvlistValue: { values: [kv('b', {})] } }] },
      }),
    ];
    const batches: [Signal, Record<string, unknown>][] = [
      [
        SIGNALS[0]!,
        {
          resourceLogs: [
            {
              resource: { attributes: attrs },
              scopeLogs: [
                {
                  scope: { name: 's', version: 'v', attributes: attrs },
                  logRecords: [
                    {
                      severityText: 'Warning',
                      body: { stringValue: 'boom' },
                      attributes: attrs,
                      traceId: Buffer.alloc(16, 1),
                      spanId: Buffer.alloc(8, 2),
                      eventName: 'k8s.event',
                    },
                  ],
                  schemaUrl: 'u',
                },
              ],
              schemaUrl: 'u',
            },
          ],
        },
      ],
      [
        SIGNALS[1]!,
        {
          resourceMetrics: [
            {
              resource: { attributes: attrs },
              scopeMetrics: [
                {
                  metrics: [
                    {
                      name: 'g',
                      description: 'd',
                      unit: '1',
                      gauge: { dataPoints: [{ attributes: attrs, asInt: 1 }] },
                    },
                    {
                      name: 'h',
                      histogram: {
                        dataPoints: [
                          { attributes: attrs, bucketCounts: [1, 2], explicitBounds: [0.5], sum: 1 },
                        ],
                      },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
      [
        SIGNALS[2]!,
        {
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: Buffer.alloc(16, 1),
                      spanId: Buffer.alloc(8, 2),
                      parentSpanId: Buffer.alloc(8, 3),
                      name: 'GET /',
                      attributes: attrs,
                      events: [{ name: 'exception', attributes: attrs }],
                      status: { code: 2, message: 'boom' },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    ];
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    for (const [s, req] of batches) {
      const bytes = encode(s.request, req);
      const prefixes = lengthPrefixes(bytes, otlpType(s.request));
      assert.ok(prefixes.length > 20);
      for (const p of prefixes) {
        const bad = Buffer.concat([bytes.subarray(0, p.lenPos), huge, bytes.subarray(p.valueStart)]);
        const err = expectDecodeError(() => s.decode(bad), bad, 'DECODE_TRUNCATED');
        assert.equal(err.position, p.lenPos, `${s.name}: prefix at ${p.lenPos}`);
      }
    }
  });

  it('wire types 6 and 7 throw DECODE_BAD_WIRE_TYPE, at the top level and nested', () => {
    for (const wt of [6, 7]) {
      const everywhere = [
        Buffer.concat([tag(1, wt), Buffer.from([0, 0, 0, 0])]), // top level, known field number
        tag(100, wt), // top level, unknown field
        nest([1, 2, 2], Buffer.concat([tag(1, wt), Buffer.alloc(8)])), // field 1 of LogRecord / Metric / Span
        nest([1, 2, 2], tag(99, wt)), // an unknown field inside a record / metric / span
        nest([1, 1], tag(99, wt)), // inside a Resource
        Buffer.concat([tag(100, 3), tag(5, wt), tag(100, 4)]), // inside an unknown group
      ];
      for (const bytes of everywhere) {
        for (const decode of DECODERS) {
          const err = expectDecodeError(() => decode(bytes), bytes, 'DECODE_BAD_WIRE_TYPE');
          assert.match(err.message, new RegExp(`[Ww]ire type ${wt}`));
        }
      }
      // Inside an AnyValue, wherever one is read.
      for (const p of ANY_VALUE_PATHS) {
        const bytes = nest(p.path, Buffer.concat([LEAF, tag(99, wt)]));
        const err = expectDecodeError(() => p.decode(bytes), bytes, 'DECODE_BAD_WIRE_TYPE');
        assert.match(err.message, new RegExp(`[Ww]ire type ${wt}`), p.name);
      }
    }
  });

  it('an empty record throws DECODE_EMPTY_RECORD at position 0, naming the topic', () => {
    const empty = new Uint8Array(0);
    for (const decode of DECODERS) {
      const err = expectDecodeError(() => decode(empty, 'otlp_spans'), empty, 'DECODE_EMPTY_RECORD');
      assert.equal(err.position, 0);
      assert.match(err.message, /otlp_spans/);
    }
  });

  it('an otlp_json payload throws DECODE_OTLP_JSON naming the topic passed as second argument', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    provider.getLogger('app').emit({ body: 'hello', attributes: { 'k8s.pod.name': 'api-1' } });
    await provider.forceFlush();
    const realJson = JsonLogsSerializer.serializeRequest(exporter.getFinishedLogRecords());
    assert.ok(realJson);
    await provider.shutdown();
    const payloads: [Uint8Array, number][] = [
      [realJson, 0],
      [Buffer.from('{"resourceLogs":[]}'), 0],
      [Buffer.from('{'), 0],
      [Buffer.from(' \t\r{"resourceMetrics":[]}'), 3],
    ];
    for (const [bytes, at] of payloads) {
      for (const [decode, topic] of [
        [decodeLogs, 'otel.logs.prod'],
        [decodeMetrics, 'otlp_metrics'],
        [decodeTraces, 'team-a.traces'],
      ] as const) {
        const err = expectDecodeError(() => decode(bytes, topic), bytes, 'DECODE_OTLP_JSON');
        assert.equal(err.position, at);
        assert.ok(err.message.includes(`topic ${topic}`), err.message);
        assert.match(err.message, /otlp_proto/);
      }
    }
  });

  it('a batch inside a larger ArrayBuffer decodes from its own offset; error positions are view-relative', () => {
    const seed = SEEDS.find((s) => s.signal.name === 'traces' && s.bytes.length > 200);
    assert.ok(seed);
    const backing = new Uint8Array(seed.bytes.length + 64).fill(0xff);
    backing.set(seed.bytes, 32);
    const view = backing.subarray(32, 32 + seed.bytes.length);
    assert.deepStrictEqual(seed.signal.ours(view), seed.signal.ours(seed.bytes));
    // Cut the view inside its first field: the error position is relative to the view, not the backing store.
    const cut = backing.subarray(32, 34);
    const err = expectDecodeError(() => seed.signal.decode(cut), cut, 'DECODE_TRUNCATED');
    assert.ok(err.position <= 2);
  });

  it('1 MiB of unknown fields and 20,000 empty resources decode within the per-call budget', () => {
    // 2-byte tag + 8 bytes = 10 bytes a field; 2^17 fields ≈ 1.3 MB.
    const junk = Buffer.concat(
      Array.from({ length: 1 << 17 }, (_, i) => unknown.i64(100 + (i % 50), Buffer.alloc(8))),
    );
    assert.ok(junk.length > 1 << 20);
    const empties = Buffer.alloc(40_000);
    for (let i = 0; i < empties.length; i += 2) empties[i] = 0x0a; // resource_* { } × 20,000
    for (const bytes of [junk, empties]) {
      for (const decode of DECODERS) {
        const t0 = performance.now();
        decode(bytes);
        assert.ok(performance.now() - t0 < MAX_CALL_MS, `${decode.name}: ${bytes.length} bytes`);
      }
    }
    assert.equal(decodeLogs(empties).resourceLogs.length, 20_000);
  });
});
