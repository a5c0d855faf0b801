// The scale-out hop without a broker: what ingest splits per incident scope and an owner applies must be
// exactly what one pipeline makes of the same records; re-deliveries and malformed records change
// nothing; a rebuilt partition continues revisions and keeps resolved incidents resolved.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { type Config, validateConfig } from '../../src/core/config.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { scopeKey } from '../../src/stream/incidents/incident.ts';
import { normaliseLogs } from '../../src/stream/normalise/logs.ts';
import { normaliseMetrics } from '../../src/stream/normalise/metrics.ts';
import { normaliseTraces } from '../../src/stream/normalise/traces.ts';
import { OffsetLedger } from '../../src/stream/offsets.ts';
import { scopeOf } from '../../src/stream/pipeline.ts';
import { replay } from '../../src/stream/replay.ts';
import type { ChangelogEntry } from '../../src/stream/scaleout/changelog.ts';
import {
  decodeSignalsBatch,
  decodeSignalsRecord,
  encodeSignalsRecord,
  forEachSignalsGroup,
  SIGNAL_FIELDS,
  SignalOps,
  type SignalSource,
  SignalsBatchWriter,
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

/**
 * The signals records ingest would produce for one signals partition (every scope on it), in input
 * order: one record per `batch` consumed input records, a group per input record.
 */
function signalsOf(records: readonly CapturedRecord[], batch = 1): Buffer[] {
  const splitter = new SignalSplitter(config, new NamePatternResolver(), 1);
  const out: Buffer[] = [];
  records.forEach((r, i) => {
    assert.equal(splitter.split(r, r.value), undefined);
    if ((i + 1) % batch === 0 || i === records.length - 1) {
      const v = splitter.take(0);
      if (v) out.push(v);
    }
  });
  return out;
}

/**
 * What a format-2 replica (before format 3) produced for the same records: a record per input record
 * and scope, its index the scope's order of first appearance in the input record.
 */
function formatTwoOf(records: readonly CapturedRecord[]): Buffer[] {
  const out: Buffer[] = [];
  for (const v of signalsOf(records)) {
    for (const { src, ops } of decodeSignalsBatch(v)!) {
      const scopes = new Map<string, SignalOps>();
      for (const op of ops) {
        const key = scopeKey(scopeOf(op[1] as SignalSite));
        let w = scopes.get(key);
        if (!w) {
          w = new SignalOps();
          scopes.set(key, w);
        }
        if (op[0] === 'g') w.signal(op[1] as Signal);
        else if (op[0] === 'v')
          w.serverSpan(
            op[1] as SignalSite,
            op[2] as string,
            op[3] as number,
            op[4] as number,
            op[5] as boolean,
          );
        else w.span(op[1] as SignalSite, op[2] as number, op[3] as boolean, op[4] as string);
      }
      [...scopes.values()].forEach((ops, index) => {
        out.push(encodeSignalsRecord({ src: { ...src, index }, ops }));
      });
    }
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

  for (const batch of [1, 7])
    it(`split per signals partition (${batch} input records per signals record) and applied by an owner in the same order: the same incidents, ids and counts as one pipeline`, async () => {
      const want: IncidentContextDoc[] = [];
      await replay({
        input: run.records,
        config,
        resolver: new NamePatternResolver(),
        onContext: (d) => want.push(d),
      });
      const got: IncidentContextDoc[] = [];
      const o = owner(config, got);
      const signals = signalsOf(run.records, batch);
      if (batch > 1)
        assert.ok(signals.length < run.records.length / 2, 'several input records per signals record');
      signals.forEach((v, i) => {
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

  it('an ingest replica re-producing batched records after a crash, batched differently, is skipped group by group: no count changes', () => {
    const once: IncidentContextDoc[] = [];
    const a = owner(config, once);
    signalsOf(run.records, 4).forEach((v, i) => {
      a.apply(i, v, false);
    });
    a.pipeline.flushAll();

    // Replica 1 produced the first 40 input records in records of 4, then crashed before committing
    // past 26; replica 2 re-reads from 26 and batches by 3: its first records hold re-deliveries
    // (26..39), one mixes them with new input (38, 39, 40), the rest is new.
    const cut = 40;
    const committed = 26;
    const first = signalsOf(run.records.slice(0, cut), 4);
    const second = signalsOf(run.records.slice(committed), 3);
    const twice: IncidentContextDoc[] = [];
    const b = owner(config, twice);
    let offset = 0;
    for (const v of first) assert.equal(b.apply(offset++, v, false), 'applied');
    const groupsBefore = { ...b.groups };
    const results = second.map((v) => b.apply(offset++, v, false));
    b.pipeline.flushAll();
    // Input records 25..39 that had signals came twice: each skipped once, as a group.
    const groupsOf = (v: Buffer) => decodeSignalsBatch(v)!.length;
    const again = signalsOf(run.records.slice(committed, cut)).reduce((n, v) => n + groupsOf(v), 0);
    assert.ok(again > 0);
    assert.equal(b.groups.duplicate - groupsBefore.duplicate, again, 'every re-delivered group skipped');
    assert.ok(results.includes('duplicate'), 'records holding only re-deliveries are duplicates');
    const id = (r: { topic: string; partition: number; offset: number }) =>
      `${r.topic}/${r.partition}/${r.offset}`;
    const before = new Set(run.records.slice(0, cut).map(id));
    const mixed = second.findIndex((v) => {
      const old = decodeSignalsBatch(v)!.map((g) => before.has(id(g.src)));
      return old.includes(true) && old.includes(false);
    });
    assert.ok(mixed >= 0, 'a record mixes re-delivered and new input records');
    assert.equal(results[mixed], 'applied', 'a record mixing both applies its new groups');
    const x = latestByWorkload(once);
    const y = latestByWorkload(twice);
    assert.deepEqual([...y.keys()].sort(), [...x.keys()].sort());
    for (const [name, d] of x) assert.deepEqual(counts(y.get(name)!), counts(d), name);
  });

  it('format-2 records of a replica before format 3 and format-3 re-deliveries of the same input skip each other (rolling restarts)', () => {
    const once: IncidentContextDoc[] = [];
    const a = owner(config, once);
    signalsOf(run.records).forEach((v, i) => {
      a.apply(i, v, false);
    });
    a.pipeline.flushAll();
    const half = Math.floor(run.records.length / 2);
    const old = formatTwoOf(run.records.slice(0, half));
    assert.equal(old[0]![0], 2, 'format 2');
    const twice: IncidentContextDoc[] = [];
    const b = owner(config, twice);
    let offset = 0;
    for (const v of old) assert.equal(b.apply(offset++, v, false), 'applied');
    // A format-3 replica re-reads from a quarter in; the old one re-reads its last records again.
    for (const v of signalsOf(run.records.slice(Math.floor(half / 2), half), 5))
      assert.equal(b.apply(offset++, v, false), 'duplicate');
    for (const v of formatTwoOf(run.records.slice(half - 3, half)))
      assert.equal(b.apply(offset++, v, false), 'duplicate');
    for (const v of signalsOf(run.records.slice(half), 5)) b.apply(offset++, v, false);
    b.pipeline.flushAll();
    const x = latestByWorkload(once);
    const y = latestByWorkload(twice);
    assert.deepEqual([...y.keys()].sort(), [...x.keys()].sort());
    for (const [name, d] of x) assert.deepEqual(counts(y.get(name)!), counts(d), name);
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
    const d = decodeSignalsBatch(v!);
    assert.ok(d && d.length === 1 && d[0]!.ops.length > 0 && d[0]!.src.offset === run.records[0]!.offset);
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

describe('signals record codec (format 3: groups of several input records)', () => {
  const site: SignalSite = {
    cluster: 'prod-eu',
    namespace: 'shop',
    pod: 'checkout-7d9f8b6c5d-x2x4z',
    node: 'node-1',
    workload: { kind: 'Deployment', name: 'checkout' },
  };
  const other: SignalSite = { ...site, pod: 'cart-1', workload: { kind: 'Deployment', name: 'cart' } };
  const log = (s: SignalSite, body: string): Signal => ({
    ...s,
    type: 'log',
    atMs: 1_800_000_000_000,
    service: s.workload!.name,
    severity: 17,
    exceptionType: '',
    body,
    traceId: '',
    logClass: '',
  });
  const at = (partition: number, offset: number) => ({
    topic: 'otlp_logs',
    partition,
    offset,
    timestamp: 1_800_000_000_000 + offset,
  });

  function sample(): Buffer {
    const w = new SignalsBatchWriter();
    w.begin(at(0, 7));
    w.scope(0);
    w.signal(log(site, 'first ✗'));
    w.scope(2);
    w.signal(log(other, 'second'));
    w.end();
    // A record that failed while being split: undone.
    w.begin(at(0, 8));
    w.scope(0);
    w.signal(log(site, 'never sent'));
    w.rollback();
    w.begin(at(1, 2 ** 40));
    w.scope(1);
    w.serverSpan(site, 'checkout', 1_800_000_000_001, 12.5, true);
    w.span(other, 1_800_000_000_002, false, 'trace-1');
    w.end();
    return w.take();
  }

  it('round-trips groups with their sources, scope index and ops; a rolled-back group is gone', () => {
    const v = sample();
    assert.equal(v[0], 3, 'version byte');
    const d = decodeSignalsBatch(v);
    const json = (x: unknown) => JSON.parse(JSON.stringify(x));
    assert.deepEqual(json(d), [
      {
        src: { topic: 'otlp_logs', partition: 0, offset: 7, index: 2, timestamp: 1_800_000_000_007 },
        ops: [
          ['g', json(log(site, 'first ✗'))],
          ['g', json(log(other, 'second'))],
        ],
      },
      {
        src: {
          topic: 'otlp_logs',
          partition: 1,
          offset: 2 ** 40,
          index: 1,
          timestamp: 1_800_000_000_000 + 2 ** 40,
        },
        ops: [
          ['v', json(site), 'checkout', 1_800_000_000_001, 12.5, true],
          ['t', json(other), 1_800_000_000_002, false, 'trace-1'],
        ],
      },
    ]);
    // The writer starts over after take.
    const w = new SignalsBatchWriter();
    w.begin(at(0, 1));
    w.signal(log(site, 'x'));
    w.end();
    w.take();
    assert.equal(w.groups, 0);
    assert.equal(w.byteLength, 0);
  });

  it('takes every group but the last: the last stays pending, alone, and both records decode whole', () => {
    const w = new SignalsBatchWriter();
    for (const offset of [1, 2, 3]) {
      w.begin(at(0, offset));
      w.scope(0);
      w.signal(log(offset === 3 ? other : site, `body ${offset}`));
      w.end();
    }
    const before = decodeSignalsBatch(w.takeAllButLast());
    assert.deepEqual(
      before?.map((g) => [g.src.offset, (g.ops[0]![1] as Signal & { body: string }).body]),
      [
        [1, 'body 1'],
        [2, 'body 2'],
      ],
    );
    assert.equal(w.groups, 1);
    w.begin(at(0, 4));
    w.signal(log(site, 'body 4'));
    w.end();
    const after = decodeSignalsBatch(w.take());
    assert.deepEqual(
      after?.map((g) => [
        g.src.offset,
        (g.ops[0]![1] as Signal & { body: string }).body,
        (g.ops[0]![1] as SignalSite).workload?.name,
      ]),
      [
        [3, 'body 3', 'cart'],
        [4, 'body 4', 'checkout'],
      ],
    );
  });

  it('a visitor that does not emit skips the group: the next group still decodes', () => {
    const seen: number[] = [];
    const ok = forEachSignalsGroup(sample(), (src, emit) => {
      seen.push(src.offset);
      if (src.offset === 2 ** 40) emit({ observeServerSpan: () => {}, observeSpan: () => {} } as never);
    });
    assert.equal(ok, true);
    assert.deepEqual(seen, [7, 2 ** 40]);
  });

  it('refuses truncated and corrupted records before visiting any group, and never throws', () => {
    const v = sample();
    let visited = 0;
    const visit = () => {
      visited++;
    };
    for (let n = 0; n < v.length; n++)
      assert.equal(forEachSignalsGroup(v.subarray(0, n), visit), false, `truncated to ${n}`);
    assert.equal(forEachSignalsGroup(Buffer.concat([v, Buffer.from([0])]), visit), false, 'trailing byte');
    for (let i = 1; i < v.length; i++)
      for (const b of [0x00, 0x7f, 0x80, 0xff]) {
        if (v[i] === b) continue;
        const c = Buffer.from(v);
        c[i] = b;
        assert.equal(forEachSignalsGroup(c, visit), false, `byte ${i} set to ${b}`);
      }
    assert.equal(visited, 0, 'the CRC refuses them all before any group');
  });

  it('a record whose CRC holds but whose content does not parse (a writer bug) is refused without throwing', () => {
    const v = sample();
    const withCrc = (c: Buffer) => {
      c.writeUInt32LE(crc32(c.subarray(5)), 1);
      return c;
    };
    for (let i = 5; i < v.length; i++)
      for (const b of [0x00, 0x7f, 0x80, 0xff]) {
        const c = Buffer.from(v);
        c[i] = b;
        // Every corruption either decodes to well-formed groups or is refused; none throws.
        const d = decodeSignalsBatch(withCrc(c));
        if (d)
          for (const g of d)
            for (const op of g.ops) assert.equal(typeof (op[1] as SignalSite).cluster, 'string');
      }
    assert.equal(
      forEachSignalsGroup(withCrc(Buffer.concat([v, Buffer.from([0])])), () => {}),
      false,
    );
    // A group count far beyond what the record holds.
    assert.equal(
      forEachSignalsGroup(withCrc(Buffer.from([3, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f])), () => {}),
      false,
    );
    // No groups at all: nothing an encoder writes.
    assert.equal(
      forEachSignalsGroup(withCrc(Buffer.from([3, 0, 0, 0, 0, 0, 0])), () => {}),
      false,
    );
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
  const eventsFor = (pods: string[]) =>
    encodeOtlp(
      'ExportLogsServiceRequest',
      k8sEventsRequest(
        pods.map((pod) => ({
          namespace: 'shop',
          reason: 'BackOff',
          message: `Back-off restarting failed container app in pod ${pod}`,
          type: 'Warning',
          object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
          uid: `ev-${pod}`,
          count: 1,
          atMs: Date.UTC(2026, 11, 6),
        })),
      ),
    );
  const eventFor = (pod: string) => eventsFor([pod]);

  it('a throw while normalising is INTERNAL_ERROR (stage normalise, with its stack) and leaves nothing of the record pending; a corrupt record is a decode error', () => {
    const splitter = new SignalSplitter(config, new BuggyResolver(), 1);
    const topic = config.kafka.topics.logs[0]!;
    const at = (offset: number) => ({ topic, partition: 0, offset, timestamp: Date.UTC(2026, 11, 6) });
    assert.equal(splitter.split(at(1), eventFor('cart-7d9f8b6c5-x2x4z')), undefined);
    // The cart event's ops are written before the boom event throws: they are undone with the record.
    const bug = splitter.split(at(2), eventsFor(['cart-7d9f8b6c5-x2x4z', 'boom-7d9f8b6c5-x2x4z']));
    assert.equal(bug?.code, 'INTERNAL_ERROR');
    assert.equal(bug?.stage, 'normalise');
    assert.match(bug?.internal?.stack ?? '', /TypeError/);
    assert.deepEqual(splitter.touched, []);
    const corrupt = splitter.split(at(3), Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    assert.notEqual(corrupt?.code, 'INTERNAL_ERROR');
    assert.equal(corrupt?.stage, 'decode');
    assert.equal(corrupt?.internal, undefined);
    // The next record is split as usual: the stage does not stick.
    assert.equal(splitter.split(at(4), eventFor('cart-7d9f8b6c5-x2x4z')), undefined);
    assert.deepEqual(splitter.touched, [0]);
    const groups = decodeSignalsBatch(splitter.take(0)!);
    assert.deepEqual(
      groups?.map((g) => [g.src.offset, g.ops.length]),
      [
        [1, 1],
        [4, 1],
      ],
      'only the records that succeeded, one group each',
    );
    assert.equal(splitter.take(0), undefined, 'taken: nothing pending');
  });
});
