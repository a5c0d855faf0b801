// The scale-out hop without a broker: what ingest splits per incident scope and an owner applies must be
// exactly what one pipeline makes of the same records; re-deliveries and malformed records change
// nothing; a rebuilt partition continues revisions and keeps resolved incidents resolved.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Config, validateConfig } from '../../src/core/config.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { normaliseLogs } from '../../src/stream/normalise/logs.ts';
import { normaliseMetrics } from '../../src/stream/normalise/metrics.ts';
import { normaliseTraces } from '../../src/stream/normalise/traces.ts';
import { OffsetLedger } from '../../src/stream/offsets.ts';
import { replay } from '../../src/stream/replay.ts';
import type { ChangelogEntry } from '../../src/stream/scaleout/changelog.ts';
import {
  decodeSignalsRecord,
  encodeSignalsRecord,
  SIGNAL_FIELDS,
  SignalOps,
  type SignalSource,
} from '../../src/stream/scaleout/codec.ts';
import { SignalSplitter } from '../../src/stream/scaleout/ingest.ts';
import { PartitionOwner, partitionShare } from '../../src/stream/scaleout/partition-owner.ts';
import type { Signal, SignalSite } from '../../src/stream/signals.ts';
import { decodeLogs } from '../../src/stream/wire/decode-logs.ts';
import { decodeMetrics } from '../../src/stream/wire/decode-metrics.ts';
import { decodeTraces } from '../../src/stream/wire/decode-traces.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { assertValidContext } from '../helpers/schema.ts';

const config = validateConfig({
  grouping: { groupWait: '200ms', groupInterval: '300ms', resolveTimeout: '1h' },
  dedup: { window: '24h' },
});

function owner(cfg: Config, docs: IncidentContextDoc[]): PartitionOwner {
  return new PartitionOwner({
    config: cfg,
    resolver: new NamePatternResolver(),
    signals: new OffsetLedger().partition('signals', 0),
    sink: (doc) => {
      assertValidContext(doc);
      docs.push(doc);
    },
    trackHold: () => {},
  });
}

/** Every record split per scope, as the signals records ingest would produce, in input order. */
function signalsOf(records: readonly CapturedRecord[]): Buffer[] {
  const splitter = new SignalSplitter(config, new NamePatternResolver());
  const out: Buffer[] = [];
  for (const r of records) {
    const { failure, groups } = splitter.split(r.topic, r.value, r.timestamp);
    assert.equal(failure, undefined);
    groups.forEach((g, index) => {
      out.push(
        encodeSignalsRecord({
          src: { topic: r.topic, partition: r.partition, offset: r.offset, index, timestamp: r.timestamp },
          ops: g.ops,
        }),
      );
    });
  }
  return out;
}

const latestByWorkload = (docs: IncidentContextDoc[]) => {
  const m = new Map<string, IncidentContextDoc>();
  for (const d of docs) m.set(d.scope.workload.name, d);
  return m;
};
const counts = (d: IncidentContextDoc) => Object.fromEntries(d.evidence.map((e) => [e.key, e.count]));

describe('scale-out hop (in process)', () => {
  const run = getScenario('cascade').generate({ seed: 5 });

  it('split per scope and applied by an owner in the same order: the same incidents, ids and counts as one pipeline', async () => {
    const want: IncidentContextDoc[] = [];
    await replay({
      input: run.records,
      config,
      resolver: new NamePatternResolver(),
      onContext: (d) => want.push(d),
    });
    const got: IncidentContextDoc[] = [];
    const o = owner(config, got);
    signalsOf(run.records).forEach((v, i) => {
      assert.equal(o.apply(i, v, false), 'applied');
    });
    o.pipeline.tick();
    o.pipeline.flushAll();
    const w = latestByWorkload(want);
    const g = latestByWorkload(got);
    assert.ok(w.size >= 3, 'the cascade opens incidents');
    assert.deepEqual([...g.keys()].sort(), [...w.keys()].sort());
    for (const [name, d] of w) {
      assert.equal(g.get(name)!.id, d.id, `${name}: same id`);
      assert.deepEqual(counts(g.get(name)!), counts(d), `${name}: same counts`);
    }
  });

  it('a re-delivered signals record is skipped, a malformed one is refused, neither changes a count', () => {
    const signals = signalsOf(run.records);
    const once: IncidentContextDoc[] = [];
    const a = owner(config, once);
    signals.forEach((v, i) => {
      a.apply(i, v, false);
    });
    a.pipeline.flushAll();

    const twice: IncidentContextDoc[] = [];
    const b = owner(config, twice);
    let offset = 0;
    const half = Math.floor(signals.length / 2);
    for (const v of signals.slice(0, half)) b.apply(offset++, v, false);
    // An ingest replica re-read from an earlier commit: the second half of what it produced comes again.
    for (const v of signals.slice(half / 2, half)) assert.equal(b.apply(offset++, v, false), 'duplicate');
    assert.equal(b.apply(offset++, Buffer.from('{"v":1,"src":"nope"}'), false), 'malformed');
    assert.equal(b.apply(offset++, Buffer.from([0xff, 0x00]), false), 'malformed');
    assert.equal(b.apply(offset++, null, false), 'malformed');
    for (const v of signals.slice(half)) b.apply(offset++, v, false);
    b.pipeline.flushAll();
    const x = latestByWorkload(once);
    const y = latestByWorkload(twice);
    for (const [name, d] of x) assert.deepEqual(counts(y.get(name)!), counts(d), name);
  });

  it('a rebuilt partition continues each incident after its last revision sent and keeps resolved ones gone', () => {
    const signals = signalsOf(run.records);
    const first: IncidentContextDoc[] = [];
    const a = owner(config, first);
    signals.forEach((v, i) => {
      a.apply(i, v, false);
    });
    a.pipeline.flushAll();
    const sent = latestByWorkload(first);
    const [resolvedName, resolved] = [...sent][0]!;
    const entries: ChangelogEntry[] = [...sent.values()].map((d) => ({
      id: d.id,
      revision: d.revision + 4,
      status: d.id === resolved.id ? 'resolved' : 'open',
      at: d.id === resolved.id ? signals.length : 0,
    }));

    const next: IncidentContextDoc[] = [];
    const b = owner(config, next);
    b.beginRestore(entries);
    signals.forEach((v, i) => {
      assert.equal(b.apply(i, v, true), 'applied');
    });
    assert.equal(b.endRestore(), sent.size - 1, 'the open incidents continue');
    b.pipeline.flushAll();
    const after = latestByWorkload(next);
    assert.equal(after.has(resolvedName), false, 'resolved before the rebuild: not reopened');
    for (const [name, d] of after) {
      assert.equal(d.id, sent.get(name)!.id, `${name}: same id`);
      assert.equal(d.revision, sent.get(name)!.revision + 5, `${name}: the revision after the last sent`);
      assert.deepEqual(counts(d), counts(sent.get(name)!), `${name}: same counts`);
    }
  });

  it('open incidents come back whole from their changelog context: records older than the signals topic keeps are not needed', () => {
    const signals = signalsOf(run.records);
    // The cut: contexts sent here; the records before `lost` have left the signals topic since.
    const half = Math.floor(signals.length * 0.8);
    const lost = Math.floor(signals.length * 0.4);
    const docs: IncidentContextDoc[] = [];
    const a = owner(config, docs);
    signals.slice(0, half).forEach((v, i) => {
      a.apply(i, v, false);
    });
    a.pipeline.flushAll();
    const mid = latestByWorkload(docs);
    const entries: ChangelogEntry[] = [...mid.values()].map((d) => ({
      id: d.id,
      revision: d.revision,
      status: 'open',
      at: half,
      doc: JSON.parse(JSON.stringify(d)),
    }));
    signals.slice(half).forEach((v, i) => {
      a.apply(half + i, v, false);
    });
    a.pipeline.flushAll();
    const final = latestByWorkload(docs);

    // Records from `lost` to the cut are re-read for floors, baselines and dedup only.
    const next: IncidentContextDoc[] = [];
    const b = owner(config, next);
    b.beginRestore(entries);
    for (let o = lost; o < half; o++) b.apply(o, signals[o]!, true);
    b.endRestore();
    for (let o = half; o < signals.length; o++) b.apply(o, signals[o]!, false);
    b.pipeline.flushAll();
    const after = latestByWorkload(next);
    assert.ok(mid.size >= 2, 'incidents open at the cut');
    for (const [name, d] of final) {
      if (!mid.has(name)) continue;
      assert.equal(after.get(name)?.id, d.id, `${name}: same id`);
      assert.deepEqual(counts(after.get(name)!), counts(d), `${name}: same counts`);
    }
  });

  it('decodes what it encodes and gives each partition pipeline its share of the bounds', () => {
    const [v] = signalsOf(run.records);
    const d = decodeSignalsRecord(v!);
    assert.ok(d && d.ops.length > 0 && d.src.index === 0);
    const share = partitionShare(validateConfig({ scaleOut: { partitions: 12 } }));
    assert.equal(share.dedup.maxEntries, Math.ceil((2 * config.dedup.maxEntries) / 12));
    assert.equal(share.floors.context.maxWorkloads, Math.ceil((2 * config.floors.context.maxWorkloads) / 12));
  });
});

describe('signals record codec (format 2)', () => {
  const site: SignalSite = {
    cluster: 'prod-eu',
    namespace: 'shop',
    pod: 'checkout-7d9f8b6c5d-x2x4z',
    node: 'node-1',
    workload: { kind: 'Deployment', name: 'checkout' },
    environment: 'prod',
    environmentSource: 'deployment.environment.name',
  };
  const event: Signal = {
    ...site,
    type: 'event',
    atMs: 1_800_000_000_123.5,
    eventType: 'Warning',
    reason: 'BackOff',
    message: `Back-off restarting ✗ failed container «app» ${'x'.repeat(300)}`,
    objectKind: 'Pod',
    objectName: 'checkout-7d9f8b6c5d-x2x4z',
    objectUid: 'a1b2',
    fieldPath: '',
    count: 3,
    eventUid: 'u-1',
    firstAtMs: 0,
  };
  const failedSpan: Signal = {
    ...site,
    workload: undefined,
    type: 'span_error',
    atMs: 1_800_000_000_000,
    service: 'checkout',
    operation: 'POST /pay',
    spanKind: 3,
    httpStatus: 503,
    errorType: '',
    peer: 'payments:8080',
    traceId: 'abc',
    callee: { namespace: 'shop', service: 'payments' } as never,
  };
  const metric: Signal = {
    ...site,
    type: 'metric',
    atMs: 1_800_000_000_000,
    name: 'k8s.container.restarts',
    value: -2.25,
    series: 'app',
    detail: '',
  };
  const src: SignalSource = {
    topic: 'otlp_logs',
    partition: 3,
    offset: 2 ** 40 + 7,
    index: 2,
    timestamp: 1_800_000_000_999,
  };

  function sample(): Buffer {
    const ops = new SignalOps();
    ops.signal(event);
    ops.serverSpan(site, 'checkout', 1_800_000_000_001, 12.5, true);
    ops.span(site, 1_800_000_000_002, false, 'trace-1');
    ops.signal(failedSpan);
    ops.signal(metric);
    return encodeSignalsRecord({ src, ops });
  }

  it('round-trips every op kind, numbers, nested objects and non-ASCII text as JSON would', () => {
    const v = sample();
    assert.equal(v[0], 2, 'version byte');
    const d = decodeSignalsRecord(v);
    assert.ok(d);
    assert.deepEqual(d.src, src);
    // JSON is the reference: absent (undefined) fields are dropped, everything else comes back equal.
    const json = (x: unknown) => JSON.parse(JSON.stringify(x));
    assert.deepEqual(json(d.ops), [
      ['g', json(event)],
      ['v', json(site), 'checkout', 1_800_000_000_001, 12.5, true],
      ['t', json(site), 1_800_000_000_002, false, 'trace-1'],
      ['g', json(failedSpan)],
      ['g', json(metric)],
    ]);
    assert.ok(!('workload' in (d.ops[3]![1] as object)), 'an undefined field stays absent');
    assert.ok(v.length < Buffer.byteLength(JSON.stringify(json(d))), 'smaller than its JSON');
  });

  it('reads format 1 (JSON) records, which replicas before format 2 produce during a rolling upgrade', () => {
    const v1 = Buffer.from(
      JSON.stringify({
        v: 1,
        src: ['otlp_logs', 1, 42, 0, 1_800_000_000_000],
        ops: [
          ['g', JSON.parse(JSON.stringify(event))],
          ['t', site, 1_800_000_000_002, true, 'tr'],
        ],
      }),
    );
    const d = decodeSignalsRecord(v1);
    assert.deepEqual(d?.src, {
      topic: 'otlp_logs',
      partition: 1,
      offset: 42,
      index: 0,
      timestamp: 1_800_000_000_000,
    });
    assert.equal(d?.ops.length, 2);
  });

  it('rejects truncated, corrupted and foreign records without throwing', () => {
    const v = sample();
    for (let n = 0; n < v.length; n++)
      assert.equal(decodeSignalsRecord(v.subarray(0, n)), undefined, `truncated to ${n} bytes`);
    assert.equal(decodeSignalsRecord(Buffer.concat([v, Buffer.from([0])])), undefined, 'trailing byte');
    // Every single-byte corruption either decodes to something well-formed or is rejected; none throws.
    for (let i = 0; i < v.length; i++)
      for (const b of [0x00, 0x7f, 0x80, 0xff]) {
        const c = Buffer.from(v);
        c[i] = b;
        const d = decodeSignalsRecord(c);
        if (d) for (const op of d.ops) assert.equal(typeof (op[1] as SignalSite).cluster, 'string');
      }
    const foreign = [
      null,
      Buffer.alloc(0),
      Buffer.from('not a signals record'),
      Buffer.from([3, 0, 0]),
      Buffer.from('{"v":1,"src":["t",0,1,0,2],"ops":[["g",{"cluster":1}]]}'),
      Buffer.from('{"v":1,"src":['),
      Buffer.from('{"v":9,"src":["t",0,1,0,2],"ops":[]}'),
      // A count far larger than the record: refused before anything is allocated for it.
      Buffer.from([2, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      // A string index past the table.
      Buffer.from([2, 0, 5, 0, ...new Array(8).fill(0), 0, ...new Array(8).fill(0), 0]),
    ];
    for (const f of foreign) assert.equal(decodeSignalsRecord(f), undefined, String(f?.toString('hex')));
  });

  it('lists every field the normalisers emit, for every signal type (a field not listed would not cross)', () => {
    const seen = new Map<string, Set<string>>();
    const ctx = {
      defaultCluster: 'c',
      resolver: new NamePatternResolver(),
      recordTimeMs: 0,
      // Every metric is "watched" here, so metric signals of every name come out.
      watchedMetrics: { has: () => true } as unknown as Set<string>,
      emit: (sig: Signal) => {
        const keys = seen.get(sig.type) ?? new Set<string>();
        for (const k of Object.keys(sig)) keys.add(k);
        seen.set(sig.type, keys);
      },
      observeServerSpan: () => {},
      classifyLog: () => '',
    };
    for (const name of [
      'cascade',
      'oom-rollout',
      'dependency-failure',
      'node-pressure',
      'canary',
      'bad-image',
    ])
      for (const r of getScenario(name).generate({ seed: 3 }).records) {
        ctx.recordTimeMs = r.timestamp;
        if (r.topic.includes('log')) normaliseLogs(decodeLogs(r.value, r.topic), ctx);
        else if (r.topic.includes('metric')) normaliseMetrics(decodeMetrics(r.value, r.topic), ctx);
        else normaliseTraces(decodeTraces(r.value, r.topic), ctx);
      }
    assert.deepEqual([...seen.keys()].sort(), Object.keys(SIGNAL_FIELDS).sort(), 'every type seen');
    for (const [type, keys] of seen) {
      const listed = new Set(['type', ...SIGNAL_FIELDS[type as Signal['type']]]);
      for (const k of keys) assert.ok(listed.has(k), `${type}.${k} is listed in SIGNAL_FIELDS`);
    }
  });

  it('refuses a key that would reach an object prototype', () => {
    const ops = new SignalOps();
    // A signal type this replica does not know crosses with its keys: the generic encoding.
    ops.signal(JSON.parse(`{"type":"new","cluster":"c","namespace":"n","__proto__":{"polluted":true}}`));
    const d = decodeSignalsRecord(encodeSignalsRecord({ src, ops }));
    assert.equal(d, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('scale-out ingest: bad records and bugs told apart', () => {
  /** Resolving pods named boom-* throws: a bug after the record decoded, as in test/kafka/internal-error. */
  class BuggyResolver extends NamePatternResolver {
    override resolve(...args: Parameters<NamePatternResolver['resolve']>) {
      if (args[2].startsWith('boom-'))
        throw new TypeError("Cannot read properties of undefined (reading 'kind')");
      return super.resolve(...args);
    }
  }
  const eventFor = (pod: string) =>
    encodeOtlp(
      'ExportLogsServiceRequest',
      k8sEventsRequest([
        {
          namespace: 'shop',
          reason: 'BackOff',
          message: `Back-off restarting failed container app in pod ${pod}`,
          type: 'Warning',
          object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
          uid: `ev-${pod}`,
          count: 1,
          atMs: Date.UTC(2026, 11, 6),
        },
      ]),
    );

  it('a throw while normalising is INTERNAL_ERROR (stage normalise, with its stack); a corrupt record is a decode error', () => {
    const splitter = new SignalSplitter(config, new BuggyResolver());
    const topic = config.kafka.topics.logs[0]!;
    const bug = splitter.split(topic, eventFor('boom-7d9f8b6c5-x2x4z'), Date.UTC(2026, 11, 6));
    assert.equal(bug.failure?.code, 'INTERNAL_ERROR');
    assert.equal(bug.failure?.stage, 'normalise');
    assert.match(bug.failure?.internal?.stack ?? '', /TypeError/);
    assert.deepEqual(bug.groups, []);
    const corrupt = splitter.split(topic, Buffer.from([0x0a, 0xff, 0xff, 0xff]), Date.UTC(2026, 11, 6));
    assert.notEqual(corrupt.failure?.code, 'INTERNAL_ERROR');
    assert.equal(corrupt.failure?.stage, 'decode');
    assert.equal(corrupt.failure?.internal, undefined);
    // The next record is split as usual: the stage does not stick.
    const ok = splitter.split(topic, eventFor('cart-7d9f8b6c5-x2x4z'), Date.UTC(2026, 11, 6));
    assert.equal(ok.failure, undefined);
    assert.equal(ok.groups.length, 1);
  });
});
