// proto3 requires unknown fields to be skipped. These tests append unknown fields of every wire
// type (varint, i64, len, i32 and start/end groups, nested) at every message level of generated
// batches and check that what our decoder reads does not change, and that it still agrees with
// protobufjs. Also: v1.5+ fields (Resource.entity_refs, LogRecord.event_name) and the full precision
// of 64-bit nanosecond timestamps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { otlpType } from '../../../src/sim/otlp-proto.ts';
import { decodeLogs } from '../../../src/stream/wire/decode-logs.ts';
import { decodeMetrics } from '../../../src/stream/wire/decode-metrics.ts';
import { decodeTraces } from '../../../src/stream/wire/decode-traces.ts';
import { logsRequestArb, metricsRequestArb, tracesRequestArb } from '../../helpers/otlp-arbitraries.ts';
import {
  encode,
  expectDecodeError,
  injectUnknown,
  lenField,
  mulberry32,
  rawFields,
  SIGNALS,
  tag,
  unknown,
  varint,
} from './wire-helpers.ts';

const SEED = 4242;
const ARBS = { logs: logsRequestArb, metrics: metricsRequestArb, traces: tracesRequestArb } as const;

/** Field numbers no OTLP message uses (they all stay below 20), up to the largest legal one. */
const fieldNumberArb = fc.oneof(
  fc.integer({ min: 100, max: 5000 }),
  fc.constant(2 ** 29 - 1),
  fc.constant(19_999),
);

const leafUnknownArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fieldNumberArb, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([f, v]) => unknown.varint(f, v)),
  fc.tuple(fieldNumberArb, fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([f, b]) => unknown.i64(f, b)),
  fc.tuple(fieldNumberArb, fc.uint8Array({ maxLength: 40 })).map(([f, b]) => unknown.len(f, b)),
  fc.tuple(fieldNumberArb, fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([f, b]) => unknown.i32(f, b)),
);

/** Any unknown field, groups included (nested up to 3 deep, with any of the other wire types inside). */
const unknownFieldArb: fc.Arbitrary<Buffer> = fc.letrec<{ field: Buffer; group: Buffer }>((tie) => ({
  field: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    { weight: 4, arbitrary: leafUnknownArb },
    tie('group'),
  ),
  group: fc
    .tuple(fieldNumberArb, fc.array(tie('field'), { maxLength: 3 }))
    .map(([f, inner]) => unknown.group(f, inner)),
})).field;

describe('unknown fields are skipped at every message level', () => {
  for (const s of SIGNALS) {
    it(`${s.name}: unknown varint/i64/len/i32/group fields anywhere leave the decoded batch unchanged`, () => {
      const type = otlpType(s.request);
      fc.assert(
        fc.property(
          ARBS[s.name],
          fc.array(unknownFieldArb, { minLength: 1, maxLength: 8 }),
          fc.integer(),
          fc.double({ min: 0.05, max: 1, noNaN: true }),
          (req, pieces, seed, density) => {
            const bytes = encode(s.request, req);
            if (bytes.length === 0) return;
            const rand = mulberry32(seed);
            const levels = new Set<string>();
            const noisy = injectUnknown(bytes, type, (typeName) => {
              if (rand() >= density) return undefined;
              levels.add(typeName);
              return pieces[Math.floor(rand() * pieces.length)];
            });
            const expected = s.ours(bytes);
            assert.deepStrictEqual(s.ours(noisy), expected);
            assert.deepStrictEqual(s.reference(noisy), expected);
          },
        ),
        { seed: SEED, numRuns: 150 },
      );
    });
  }

  for (const s of SIGNALS) {
    it(`${s.name}: one of each wire type before and after every field of every message`, () => {
      const type = otlpType(s.request);
      const all = [
        unknown.varint(100, 2n ** 64n - 1n),
        unknown.i64(101, Buffer.alloc(8, 0xff)),
        unknown.len(102, Buffer.from([0x0a, 0x05, 0x7b, 0x7d])), // looks like a message/JSON: still opaque
        unknown.i32(103, Buffer.alloc(4, 0x80)),
        unknown.group(104, [unknown.varint(1, 1), unknown.group(2, [unknown.len(3, Buffer.from('x'))])]),
        unknown.varint(2 ** 29 - 1, 0),
      ];
      const junk = Buffer.concat(all);
      const levels = new Set<string>();
      for (const req of fc.sample(ARBS[s.name], { seed: SEED, numRuns: 60 })) {
        const bytes = encode(s.request, req);
        if (bytes.length === 0) continue;
        const noisy = injectUnknown(bytes, type, (typeName) => {
          levels.add(typeName);
          return junk;
        });
        const expected = s.ours(bytes);
        assert.deepStrictEqual(s.ours(noisy), expected);
        assert.deepStrictEqual(s.reference(noisy), expected);
      }
      // The walk did reach the nested levels, not just the request.
      for (const want of [
        'AnyValue',
        'KeyValue',
        'ArrayValue',
        'KeyValueList',
        'Resource',
        'InstrumentationScope',
      ]) {
        assert.ok(levels.has(want), `never injected into ${want}`);
      }
      const perSignal = {
        logs: ['ResourceLogs', 'ScopeLogs', 'LogRecord'],
        metrics: ['Metric', 'Gauge', 'Sum', 'Histogram', 'NumberDataPoint', 'HistogramDataPoint', 'Exemplar'],
        traces: ['ResourceSpans', 'ScopeSpans', 'Span', 'Event', 'Link', 'Status'],
      }[s.name];
      for (const want of perSignal) assert.ok(levels.has(want), `never injected into ${want}`);
    });
  }

  it('a request made only of unknown fields decodes to an empty batch', () => {
    const junk = Buffer.concat([
      unknown.varint(100, 7),
      unknown.group(101, [unknown.i32(1, Buffer.alloc(4))]),
      unknown.len(102, Buffer.from('opaque')),
    ]);
    assert.deepStrictEqual(decodeLogs(junk), { resourceLogs: [] });
    assert.deepStrictEqual(decodeMetrics(junk), { resourceMetrics: [] });
    assert.deepStrictEqual(decodeTraces(junk), { resourceSpans: [] });
  });

  it('groups nested more than 32 deep are refused, not recursed into', () => {
    let g: Buffer = unknown.varint(1, 1);
    for (let i = 0; i < 40; i++) g = unknown.group(100 + i, [g]);
    expectDecodeError(() => decodeLogs(g), g, 'DECODE_TOO_DEEP');
    let ok: Buffer = unknown.varint(1, 1);
    for (let i = 0; i < 30; i++) ok = unknown.group(100 + i, [ok]);
    assert.deepStrictEqual(decodeLogs(ok), { resourceLogs: [] });
  });

  it('an unterminated group fails with DECODE_TRUNCATED', () => {
    const bytes = Buffer.concat([tag(100, 3), unknown.varint(1, 5)]);
    expectDecodeError(() => decodeTraces(bytes), bytes, 'DECODE_TRUNCATED');
  });
});

describe('regression: skipping a length-delimited field lands exactly after it', () => {
  // Bug: ProtoReader.skip did `this.pos += this.length()`, which reads `pos` *before* length()
  // advances it past the length prefix, so every skipped LEN field left the reader 1–5 bytes short.
  // Any unread LEN field (exemplars, links, trace_state, metadata, entity_refs, exponential
  // histograms, summaries) then either failed the batch or silently misparsed what followed.
  it('skip(WIRE_LEN) consumes the prefix and the payload, for every prefix width', () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 2_097_152]) {
      const junk = unknown.len(100, Buffer.alloc(size, 0x0a));
      // ResourceLogs { resource { attributes { key: 'k8s.namespace.name' } } }, after the junk.
      const kv = lenField(1, Buffer.from('k8s.namespace.name'));
      const bytes = Buffer.concat([junk, lenField(1, lenField(1, lenField(1, kv)))]);
      const req = decodeLogs(bytes);
      assert.equal(req.resourceLogs.length, 1, `payload of ${size} bytes`);
      assert.equal(req.resourceLogs[0]?.resource?.attributes[0]?.key, 'k8s.namespace.name');
    }
  });

  it('an exponential histogram or summary (skipped, kept as "other") does not disturb the next field', () => {
    const bytes = encode('ExportMetricsServiceRequest', {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'exp',
                  exponentialHistogram: {
                    dataPoints: [{ count: '3', positive: { bucketCounts: ['1', '2'] } }],
                  },
                  metadata: [{ key: 'k', value: { stringValue: 'v' } }],
                },
                {
                  name: 'summary',
                  summary: { dataPoints: [{ quantileValues: [{ quantile: 0.5, value: 1 }] }] },
                },
                { name: 'after', gauge: { dataPoints: [{ asInt: '1' }] } },
              ],
            },
          ],
        },
      ],
    });
    const metrics = decodeMetrics(bytes).resourceMetrics[0]?.scopeMetrics[0]?.metrics;
    assert.deepStrictEqual(
      metrics?.map((m) => [m.name, m.data.type]),
      [
        ['exp', 'other'],
        ['summary', 'other'],
        ['after', 'gauge'],
      ],
    );
  });

  it('span links, trace_state and exemplars are skipped without shifting the span that follows', () => {
    const bytes = encode('ExportTraceServiceRequest', {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  name: 'a',
                  traceState: 'rojo=00f067aa0ba902b7',
                  links: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), traceState: 'x=y' }],
                  status: { code: 2, message: 'boom' },
                },
                { name: 'b', kind: 3 },
              ],
            },
          ],
        },
      ],
    });
    const spans = decodeTraces(bytes).resourceSpans[0]?.scopeSpans[0]?.spans;
    assert.deepStrictEqual(
      spans?.map((s) => [s.name, s.kind, s.statusCode, s.statusMessage]),
      [
        ['a', 0, 2, 'boom'],
        ['b', 3, 0, ''],
      ],
    );
  });
});

describe('v1.5+ fields and 64-bit timestamps', () => {
  it('Resource.entity_refs is accepted (skipped) and LogRecord.event_name is read', () => {
    const bytes = encode('ExportLogsServiceRequest', {
      resourceLogs: [
        {
          resource: {
            attributes: [{ key: 'k8s.pod.name', value: { stringValue: 'api-1' } }],
            entityRefs: [
              {
                schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
                type: 'k8s.pod',
                idKeys: ['k8s.pod.uid'],
              },
              {
                type: 'k8s.deployment',
                idKeys: ['k8s.deployment.name'],
                descriptionKeys: ['k8s.namespace.name'],
              },
            ],
            droppedAttributesCount: 2,
          },
          scopeLogs: [{ logRecords: [{ eventName: 'k8s.event', body: { stringValue: 'Scheduled' } }] }],
        },
      ],
    });
    // entity_refs (Resource field 3) really is on the wire.
    const [rl, ...restOfRequest] = rawFields(bytes);
    assert.ok(rl && restOfRequest.length === 0);
    const [res, ...restOfResourceLogs] = rawFields(bytes, rl.valueStart, rl.end);
    assert.ok(res);
    const resourceFields = rawFields(bytes, res.valueStart, res.end);
    assert.deepStrictEqual(
      resourceFields.map((f) => f.field),
      [1, 2, 3, 3],
    );
    // The same request with entity_refs written first (field order is free on the wire).
    const slice = (f: { start: number; end: number }) => bytes.subarray(f.start, f.end);
    const reordered = lenField(
      1,
      Buffer.concat([
        lenField(1, Buffer.concat([...resourceFields].reverse().map(slice))),
        ...restOfResourceLogs.map(slice),
      ]),
    );
    for (const b of [bytes, reordered]) {
      const req = decodeLogs(b);
      assert.deepStrictEqual(req.resourceLogs[0]?.resource, {
        attributes: [{ key: 'k8s.pod.name', value: 'api-1' }],
        droppedAttributesCount: 2,
      });
      const rec = req.resourceLogs[0]?.scopeLogs[0]?.logRecords[0];
      assert.equal(rec?.eventName, 'k8s.event');
      assert.equal(rec?.body, 'Scheduled');
      assert.deepStrictEqual(SIGNALS[0]?.ours(b), SIGNALS[0]?.reference(b));
    }
  });

  const STAMPS = [1764300000123456789n, 1764300000000000001n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 0n];

  it('fixed64 nanosecond timestamps keep every digit in logs, metrics, span and event times', () => {
    for (const t of STAMPS) {
      const s = t.toString();
      const logs = decodeLogs(
        encode('ExportLogsServiceRequest', {
          resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: s, observedTimeUnixNano: s }] }] }],
        }),
      );
      const lr = logs.resourceLogs[0]?.scopeLogs[0]?.logRecords[0];
      assert.equal(lr?.timeUnixNano, t);
      assert.equal(lr?.observedTimeUnixNano, t);

      const metrics = decodeMetrics(
        encode('ExportMetricsServiceRequest', {
          resourceMetrics: [
            {
              scopeMetrics: [
                {
                  metrics: [
                    {
                      name: 'g',
                      gauge: { dataPoints: [{ startTimeUnixNano: s, timeUnixNano: s, asDouble: 1 }] },
                    },
                    { name: 'h', histogram: { dataPoints: [{ startTimeUnixNano: s, timeUnixNano: s }] } },
                  ],
                },
              ],
            },
          ],
        }),
      );
      for (const m of metrics.resourceMetrics[0]?.scopeMetrics[0]?.metrics ?? []) {
        assert.ok(m.data.type === 'gauge' || m.data.type === 'histogram');
        assert.equal(m.data.dataPoints[0]?.startTimeUnixNano, t);
        assert.equal(m.data.dataPoints[0]?.timeUnixNano, t);
      }

      const traces = decodeTraces(
        encode('ExportTraceServiceRequest', {
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    { startTimeUnixNano: s, endTimeUnixNano: s, events: [{ timeUnixNano: s, name: 'e' }] },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const span = traces.resourceSpans[0]?.scopeSpans[0]?.spans[0];
      assert.equal(span?.startTimeUnixNano, t);
      assert.equal(span?.endTimeUnixNano, t);
      assert.equal(span?.events[0]?.timeUnixNano, t);
    }
  });

  it('1764300000123456789 is not rounded through a double (it is not representable as one)', () => {
    const t = 1764300000123456789n;
    assert.notEqual(BigInt(Number(t)), t);
    const bytes = Buffer.concat([
      lenField(
        1,
        lenField(2, lenField(2, Buffer.concat([tag(1, 1), Buffer.from(new BigUint64Array([t]).buffer)]))),
      ),
    ]);
    assert.equal(decodeLogs(bytes).resourceLogs[0]?.scopeLogs[0]?.logRecords[0]?.timeUnixNano, t);
  });

  it('non-canonical (over-long) varints for tags and lengths are accepted like protobufjs does', () => {
    // Field 1 LEN tag and a length of 0, each padded to 5 bytes with continuation bits.
    const longTag = Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x00]);
    const longZero = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x00]);
    const bytes = Buffer.concat([longTag, longZero, tag(1, 2), varint(0)]);
    // The leading 0x8a is not '{', so this is not mistaken for JSON; both resource_logs are empty.
    assert.equal(decodeLogs(bytes).resourceLogs.length, 2);
  });
});
