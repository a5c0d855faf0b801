// The scale-out hop without a broker: what ingest splits per incident scope and an owner applies must be
// exactly what one pipeline makes of the same records; re-deliveries and malformed records change
// nothing; a rebuilt partition continues revisions and keeps resolved incidents resolved.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Config, validateConfig } from '../../src/core/config.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { OffsetLedger } from '../../src/stream/offsets.ts';
import { replay } from '../../src/stream/replay.ts';
import type { ChangelogEntry } from '../../src/stream/scaleout/changelog.ts';
import { decodeSignalsRecord, encodeSignalsRecord } from '../../src/stream/scaleout/codec.ts';
import { SignalSplitter } from '../../src/stream/scaleout/ingest.ts';
import { PartitionOwner, partitionShare } from '../../src/stream/scaleout/partition-owner.ts';
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
