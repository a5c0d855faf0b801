// The pipeline's logs path (scanLogs + normaliseLogsScan) against the reference path it replaced
// (decodeLogs + normaliseLogs): for any bytes, the same DecodeError (code, message, position) or the
// same signals in the same order. Generated batches with every attribute shape, the bench's event
// batches, k8sobjectsreceiver bodies, hand-made edge shapes, and mutations of all of them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { logsBatch, rng } from '../../../bench/lib/fixtures.ts';
import { validateConfig } from '../../../src/core/config.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import { encodeOtlp } from '../../../src/sim/otlp-proto.ts';
import { LogClassifier } from '../../../src/stream/log-class.ts';
import type { NormaliseContext } from '../../../src/stream/normalise/context.ts';
import { normaliseLogs, normaliseLogsScan } from '../../../src/stream/normalise/logs.ts';
import type { Signal } from '../../../src/stream/signals.ts';
import { decodeLogs } from '../../../src/stream/wire/decode-logs.ts';
import { scanLogs } from '../../../src/stream/wire/scan-logs.ts';
import { NamePatternResolver } from '../../../src/stream/workload.ts';
import { logsRequestArb, type Pb } from '../../helpers/otlp-arbitraries.ts';

type Outcome =
  | { error: { code: string; message: string; position: number | undefined } }
  | { signals: Signal[] };

function context(out: Signal[]): NormaliseContext {
  const classes = new LogClassifier(validateConfig({}).floors.logPatterns);
  return {
    defaultCluster: 'test',
    resolver: new NamePatternResolver(),
    recordTimeMs: 1_764_300_000_000,
    watchedMetrics: new Set(),
    emit: (s) => out.push(s),
    classifyLog: (body) => classes.classify(body),
    observeServerSpan: () => {},
  };
}

function outcome(run: (ctx: NormaliseContext) => void): Outcome {
  const signals: Signal[] = [];
  try {
    run(context(signals));
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    return { error: { code: err.code, message: err.message, position: err.position } };
  }
  return { signals };
}

/** Both paths over the same bytes; returns the number of signals (to show the case did something). */
function assertSame(bytes: Uint8Array): number {
  const reference = outcome((ctx) => normaliseLogs(decodeLogs(bytes, 'otlp_logs'), ctx));
  const scanned = outcome((ctx) => {
    const scan = scanLogs(bytes, 'otlp_logs');
    normaliseLogsScan(scan, ctx);
    scan.release();
  });
  assert.deepStrictEqual(
    scanned,
    reference,
    `differs for ${Buffer.from(bytes).toString('hex').slice(0, 300)}`,
  );
  return 'signals' in reference ? reference.signals.length : -1;
}

const str = (stringValue: string): Pb => ({ stringValue });
const kv = (key: string, value?: Pb): Pb => (value === undefined ? { key } : { key, value });
const request = (resourceLogs: Pb[]): Buffer => encodeOtlp('ExportLogsServiceRequest', { resourceLogs });
const resourceLogs = (resource: Pb[], records: Pb[]): Pb => ({
  resource: { attributes: resource },
  scopeLogs: [{ scope: { name: 'k8seventsreceiver' }, logRecords: records }],
});
const eventRecord = (attributes: Pb[], extra: Pb = {}): Pb => ({
  timeUnixNano: '1764300000000000000',
  severityNumber: 13,
  severityText: 'Warning',
  body: str('Back-off restarting failed container app in pod api-7d9f8c6b5-x2kqz'),
  attributes,
  ...extra,
});
const POD = [
  kv('k8s.object.kind', str('Pod')),
  kv('k8s.object.name', str('api-7d9f8c6b5-x2kqz')),
  kv('k8s.node.name', str('node-1')),
  kv('k8s.object.uid', str('pod-uid-1')),
  kv('k8s.object.fieldpath', str('spec.containers{app}')),
];
const EVENT = [
  kv('k8s.event.reason', str('BackOff')),
  kv('k8s.namespace.name', str('shop')),
  kv('k8s.event.uid', str('ev-1')),
  kv('k8s.event.count', { intValue: 3 }),
  kv('k8s.event.start_time', str('2026-11-28 09:59:00 +0000 UTC')),
];

/** k8sobjectsreceiver watch mode: body {type, object: <core/v1 Event>}. */
function objectsEvent(type: string, reason: string): Pb {
  const map = (o: Record<string, Pb>): Pb => ({
    kvlistValue: { values: Object.entries(o).map(([key, value]) => ({ key, value })) },
  });
  return {
    timeUnixNano: '1764300001000000000',
    body: map({
      type: str(type),
      object: map({
        kind: str('Event'),
        type: str('Warning'),
        reason: str(reason),
        message: str('Back-off restarting failed container app in pod api-1'),
        count: { intValue: 2 },
        lastTimestamp: str('2026-11-28T10:00:01Z'),
        metadata: map({ uid: str('obj-ev-1'), namespace: str('shop') }),
        involvedObject: map({ kind: str('Pod'), name: str('api-7d9f8c6b5-x2kqz'), namespace: str('shop') }),
      }),
    }),
  };
}

/** Hand-made shapes where the first-occurrence and last-wins rules of the model matter. */
const EDGES: [string, Buffer][] = [
  ['plain event', request([resourceLogs(POD, [eventRecord(EVENT)])])],
  [
    'first reason is not a string: no event (getStringAttr reads the first only)',
    request([
      resourceLogs(POD, [
        eventRecord([kv('k8s.event.reason', { intValue: 1 }), ...EVENT], { severityNumber: 17 }),
      ]),
    ]),
  ],
  [
    'reason key without a value',
    request([resourceLogs(POD, [eventRecord([kv('k8s.event.reason'), ...EVENT])])]),
  ],
  [
    'duplicate keys: the first wins',
    request([
      resourceLogs(
        [kv('k8s.object.kind', str('Deployment')), ...POD],
        [eventRecord([kv('k8s.event.uid', str('first')), ...EVENT, kv('k8s.event.reason', str('Later'))])],
      ),
    ]),
  ],
  [
    'count as a numeric string, as a bigint, as a bool',
    request([
      resourceLogs(POD, [
        eventRecord([kv('k8s.event.count', str('7')), ...EVENT]),
        eventRecord([kv('k8s.event.count', { intValue: '9007199254740993' }), ...EVENT]),
        eventRecord([kv('k8s.event.count', { boolValue: true }), ...EVENT]),
      ]),
    ]),
  ],
  [
    'long keys and values (multi-byte lengths around 128)',
    request([
      resourceLogs(
        [kv('k8s.object.name', str('p'.repeat(126))), kv('x'.repeat(130), str('v')), ...POD],
        [
          eventRecord([
            kv('k8s.event.uid', str('u'.repeat(125))),
            kv('k8s.namespace.name', str('n'.repeat(127))),
            ...EVENT,
          ]),
          eventRecord([kv('k8s.event.reason', str('r'.repeat(200))), ...EVENT], {
            body: str('m'.repeat(2000)),
          }),
        ],
      ),
    ]),
  ],
  [
    'severity from the number, time from observed_time, no body',
    request([
      resourceLogs(POD, [
        eventRecord(EVENT, {
          severityText: '',
          severityNumber: 10,
          timeUnixNano: '0',
          observedTimeUnixNano: '1764300000123456789',
          body: undefined,
        }),
      ]),
    ]),
  ],
  [
    'namespace only on the resource (events.k8s.io variant), cluster name on the resource',
    request([
      resourceLogs(
        [kv('k8s.cluster.name', str('prod-eu-1')), kv('k8s.namespace.name', str('team-a')), ...POD],
        [eventRecord(EVENT.filter((a) => a.key !== 'k8s.namespace.name'))],
      ),
    ]),
  ],
  [
    'k8sobjectsreceiver events (watch, deleted) and a kvlist body that is no Event',
    request([
      resourceLogs(
        [kv('k8s.namespace.name', str('shop'))],
        [
          objectsEvent('ADDED', 'BackOff'),
          objectsEvent('DELETED', 'BackOff'),
          { body: { kvlistValue: { values: [kv('kind', str('Pod'))] } }, severityNumber: 17 },
        ],
      ),
    ]),
  ],
  [
    'application logs: error, exception by type and by event name, text severity, stdout with and without a class',
    request([
      resourceLogs(
        [
          kv('k8s.namespace.name', str('shop')),
          kv('k8s.pod.name', str('api-7d9f8c6b5-x2kqz')),
          kv('service.name', str('api')),
          kv('deployment.environment.name', str('prod')),
        ],
        [
          { severityNumber: 17, body: str('payment failed'), traceId: Buffer.alloc(16, 7) },
          {
            severityNumber: 9,
            attributes: [kv('exception.type', str('IOError')), kv('exception.message', str('disk'))],
          },
          { eventName: 'checkout.exception', body: { intValue: 3 } },
          { severityText: 'CRITICAL', body: str('boom') },
          { body: str('Error: environment variable DATABASE_URL is not set') },
          { body: str('GET /healthz 200') },
          { severityNumber: 9, severityText: 'INFO', body: str('request handled') },
        ],
      ),
    ]),
  ],
  [
    'a repeated resource replaces the first (attributes and all), even after the records',
    len(
      1,
      len(
        1,
        rawKv('k8s.object.kind', 'Node'),
        rawKv('k8s.object.name', 'first'),
        rawKv('k8s.node.name', 'n1'),
      ),
      len(2, len(2, logRecordBytes(eventRecord(EVENT)))),
      len(1, rawKv('k8s.object.kind', 'Pod'), rawKv('k8s.object.name', 'second')),
    ),
  ],
  [
    'error logs with a repeated trace_id (the last counts), an empty one, and one without',
    len(
      1,
      len(
        2,
        len(
          2,
          Buffer.from([0x10, 17]),
          len(5, len(1, Buffer.from('payment failed'))),
          len(9, Buffer.alloc(16, 1)),
          len(9, Buffer.alloc(16, 2)),
        ),
        len(2, Buffer.from([0x10, 17]), len(5, len(1, Buffer.from('empty id'))), len(9)),
        len(2, Buffer.from([0x10, 18]), len(9, Buffer.alloc(8, 3)), len(5, len(1, Buffer.from('no id')))),
      ),
    ),
  ],
];

/** A length-delimited field. */
function len(field: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(body.length), body]);
}

/** KeyValue{key, value: AnyValue{string_value}}. */
function rawKv(key: string, value: string): Buffer {
  return len(1, len(1, Buffer.from(key)), len(2, len(1, Buffer.from(value))));
}

/** One LogRecord's bytes, cut out of a request that holds only it. */
function logRecordBytes(rec: Pb): Buffer {
  const bytes = request([{ scopeLogs: [{ logRecords: [rec] }] }]);
  // ExportLogsServiceRequest{1: ResourceLogs{2: ScopeLogs{2: LogRecord}}}: skip three tag+length headers.
  let at = 0;
  for (let level = 0; level < 3; level++) {
    at++;
    while (bytes[at]! >= 0x80) at++;
    at++;
  }
  return bytes.subarray(at);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Byte flips, sets, truncations, insertions and deletions, from a seeded PRNG. */
function mutations(bytes: Buffer, seed: number, count: number): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    let b = Buffer.from(bytes);
    const edits = 1 + Math.floor(r() * 3);
    for (let e = 0; e < edits && b.length > 0; e++) {
      const at = Math.floor(r() * b.length);
      const kind = Math.floor(r() * 5);
      if (kind === 0) b[at] = b[at]! ^ (1 << Math.floor(r() * 8));
      else if (kind === 1) b[at] = [0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12][Math.floor(r() * 6)]!;
      else if (kind === 2) b = b.subarray(0, at);
      else if (kind === 3)
        b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(r() * 256)]), b.subarray(at)]);
      else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(r() * 3))]);
    }
    out.push(b);
  }
  return out;
}

describe('scanLogs + normaliseLogsScan = decodeLogs + normaliseLogs', () => {
  it('edge shapes: first occurrences, last-wins fields, long lengths, every receiver and log kind', () => {
    for (const [name, bytes] of EDGES) {
      const n = assertSame(bytes);
      assert.ok(n >= 0, `${name}: expected signals, got a DecodeError`);
    }
    // The cases emit what they describe (not an empty comparison).
    assert.ok(assertSame(EDGES[0]![1]) === 2, 'event + its container state');
    assert.equal(assertSame(EDGES.at(-1)![1]), 3, 'three error logs, each with its trace id');
  });

  it("the bench's event batches (warm and cold shapes)", () => {
    const batches = [
      logsBatch({ records: 300 }),
      logsBatch({ records: 300, variant: '-v1', repeat: 0.5 }),
      logsBatch(
        { records: 300, workloads: 100_000 },
        // biome-ignore lint/suspicious/noExplicitAny: the fixture's stream state is internal to it
        { r: rng(5), emitted: [], unique: 42 } as any,
      ),
    ];
    for (const b of batches) assert.ok(assertSame(b) > 100);
  });

  it('the one-byte int_value shortcut: counts 0–127 read, anything else takes the checked path', () => {
    // k8s.event.count as `12 02 18 n`: the scan's shape shortcut must hold only for n < 0x80 (a
    // continuation byte there runs the varint past the attribute, which decodeLogs rejects). Also
    // under a key nobody reads (`xount`), where no later read of the value would catch it.
    const key = Buffer.from('k8s.event.count');
    let cases = 0;
    for (const n of [0x00, 0x01, 0x7f, 0x80, 0x81, 0xff])
      for (const rename of [false, true]) {
        const b = Buffer.from(logsBatch({ records: 3 }));
        for (let at = b.indexOf(key); at >= 0; at = b.indexOf(key, at + 1)) {
          const q = at + key.length;
          if (b[q] === 0x12 && b[q + 1] === 2 && b[q + 2] === 0x18) b[q + 3] = n;
          if (rename) b[at + 10] = 0x78;
        }
        const signals = assertSame(b);
        assert.ok(n < 0x80 ? signals > 0 : signals < 0, `count byte ${n}: ${signals}`);
        cases++;
      }
    assert.equal(cases, 12);
  });

  it('generated batches with any attribute and value shapes', () => {
    let withSignals = 0;
    fc.assert(
      fc.property(logsRequestArb, (req) => {
        const bytes = encodeOtlp('ExportLogsServiceRequest', req);
        if (bytes.length === 0) return;
        if (assertSame(bytes) > 0) withSignals++;
      }),
      { seed: 0x5ca9, numRuns: 400 },
    );
    assert.ok(withSignals > 20, `only ${withSignals} generated batches produced signals`);
  });

  it('mutated batches: the same DecodeError or the same signals', () => {
    let errors = 0;
    const seeds = [...EDGES.map(([, b]) => b), logsBatch({ records: 20 })];
    seeds.forEach((bytes, i) => {
      for (const m of mutations(bytes, 1000 + i, 150)) if (m.length > 0 && assertSame(m) < 0) errors++;
    });
    assert.ok(errors > 100, `only ${errors} mutations were decode errors`);
  });
});
