import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { ManualClock } from '../../src/stream/clock.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { Hold, OffsetLedger } from '../../src/stream/offsets.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { testConfig } from '../helpers/pipeline.ts';
import { assertValidContext } from '../helpers/schema.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

describe('offset ledger', () => {
  it('commits up to the lowest offset any live hold still depends on', () => {
    const ledger = new OffsetLedger();
    const p0 = ledger.partition('t', 0);
    const p1 = ledger.partition('t', 1);
    for (let o = 0; o < 10; o++) ledger.processed(p0, o);
    ledger.processed(p1, 4);
    const h = new Hold();
    h.add(p0, 3);
    h.add(p0, 7);
    ledger.track(h);
    assert.deepEqual(ledger.committable(), [
      { topic: 't', partition: 0, offset: 3 },
      { topic: 't', partition: 1, offset: 5 },
    ]);
    ledger.markCommitted(ledger.committable());
    assert.deepEqual(ledger.committable(), [], 'nothing new to commit');
    ledger.release(h);
    assert.deepEqual(ledger.committable(), [{ topic: 't', partition: 0, offset: 10 }]);
  });

  it('regression: a record absorbed into an incident blocks its commit until its context is acknowledged', () => {
    // Invariant (at-least-once): an offset is never committable while the incident holding its record
    // has not sent the context that reflects it, and until that context is acknowledged.
    const ledger = new OffsetLedger();
    const clock = new ManualClock(T0);
    const sent: { hold: Hold | undefined }[] = [];
    const pipeline = new Pipeline({
      config: testConfig(),
      clock,
      resolver: new NamePatternResolver(),
      sink: (_doc, hold) => sent.push({ hold }),
      trackHold: (h) => ledger.track(h),
    });
    const p = ledger.partition('otlp_logs', 0);
    const value = encodeOtlp(
      'ExportLogsServiceRequest',
      k8sEventsRequest([
        {
          namespace: 'shop',
          reason: 'BackOff',
          message: 'Back-off restarting failed container',
          type: 'Warning',
          object: { kind: 'Pod', name: 'api-7d9f8c6b5-x2kqz' },
          uid: 'e',
          count: 1,
          atMs: T0,
        },
      ]),
    );
    assert.equal(
      pipeline.ingest('otlp_logs', value, T0, { partition: p, offset: 5, timestamp: T0 }),
      undefined,
    );
    ledger.processed(p, 5);
    assert.deepEqual(
      ledger.committable(),
      [{ topic: 'otlp_logs', partition: 0, offset: 5 }],
      'held before the context exists',
    );
    clock.advance(T0 + 60_000);
    pipeline.tick();
    assert.equal(sent.length, 1);
    assert.deepEqual(
      ledger.committable(),
      [{ topic: 'otlp_logs', partition: 0, offset: 5 }],
      'held while the context is in flight',
    );
    ledger.release(sent[0]!.hold!);
    assert.deepEqual(ledger.committable(), [{ topic: 'otlp_logs', partition: 0, offset: 6 }]);
  });
});

function backOff(uid: string, atMs: number): Uint8Array {
  return encodeOtlp(
    'ExportLogsServiceRequest',
    k8sEventsRequest([
      {
        namespace: 'shop',
        reason: 'BackOff',
        message: 'Back-off restarting failed container',
        type: 'Warning',
        object: { kind: 'Pod', name: 'api-7d9f8c6b5-x2kqz' },
        uid,
        count: 1,
        atMs,
      },
    ]),
  );
}

function ledgerPipeline() {
  const ledger = new OffsetLedger();
  const clock = new ManualClock(T0);
  const sent: { doc: IncidentContextDoc; hold: Hold | undefined }[] = [];
  const pipeline = new Pipeline({
    config: testConfig(),
    clock,
    resolver: new NamePatternResolver(),
    sink: (doc, hold) => sent.push({ doc, hold }),
    trackHold: (h) => ledger.track(h),
  });
  return { ledger, clock, sent, pipeline };
}

describe('provenance', () => {
  it('regression: sources beyond the 64 ranges kept per partition are counted and the document says it is truncated', () => {
    const { ledger, clock, sent, pipeline } = ledgerPipeline();
    const p = ledger.partition('otlp_logs', 0);
    // Every other offset: 70 separate ranges, 6 more than are kept.
    for (let i = 0; i < 70; i++) {
      const offset = 2 * i;
      assert.equal(
        pipeline.ingest('otlp_logs', backOff(`e${i}`, T0 + i), T0 + i, {
          partition: p,
          offset,
          timestamp: T0,
        }),
        undefined,
      );
      ledger.processed(p, offset);
    }
    clock.advance(T0 + 60_000);
    pipeline.tick();
    const doc = sent.at(-1)!.doc;
    assertValidContext(doc);
    assert.equal(doc.sources.length, 1);
    assert.equal(doc.sources[0]!.ranges.length, 64);
    assert.deepEqual(doc.sources[0]!.ranges[0], [12, 12], 'the oldest ranges are the ones dropped');
    assert.deepEqual(doc.sources[0]!.dropped, { ranges: 6, offsets: 6 });
    assert.equal(doc.sourcesTruncated, true);
  });

  it('a document whose sources are complete says nothing about truncation', () => {
    const { ledger, clock, sent, pipeline } = ledgerPipeline();
    const p = ledger.partition('otlp_logs', 0);
    pipeline.ingest('otlp_logs', backOff('e', T0), T0, { partition: p, offset: 3, timestamp: T0 });
    clock.advance(T0 + 60_000);
    pipeline.tick();
    const doc = sent.at(-1)!.doc;
    assert.equal('sourcesTruncated' in doc, false);
    assert.equal('dropped' in doc.sources[0]!, false);
  });

  it('regression: a partition revoked and assigned again appears once in sources', () => {
    const { ledger, clock, sent, pipeline } = ledgerPipeline();
    pipeline.ingest('otlp_logs', backOff('a', T0), T0, {
      partition: ledger.partition('otlp_logs', 0),
      offset: 1,
      timestamp: T0,
    });
    ledger.forgetAll();
    pipeline.ingest('otlp_logs', backOff('b', T0 + 1), T0 + 1, {
      partition: ledger.partition('otlp_logs', 0),
      offset: 8,
      timestamp: T0,
    });
    clock.advance(T0 + 60_000);
    pipeline.tick();
    const doc = sent.at(-1)!.doc;
    assertValidContext(doc);
    assert.deepEqual(doc.sources, [
      {
        topic: 'otlp_logs',
        partition: 0,
        ranges: [
          [1, 1],
          [8, 8],
        ],
      },
    ]);
  });
});

describe('revoke', () => {
  it('regression: a hold left by a drain that timed out still blocks commits when the partition comes back', () => {
    const ledger = new OffsetLedger();
    const before = ledger.partition('t', 0);
    ledger.processed(before, 5);
    const h = new Hold();
    h.add(before, 5);
    ledger.track(h);
    ledger.markCommitted(ledger.committable());
    // Revoked with the context still unacknowledged; assigned back: the group resumes at 5.
    ledger.forgetAll();
    const after = ledger.partition('t', 0);
    for (let o = 5; o < 10; o++) ledger.processed(after, o);
    assert.deepEqual(ledger.committable(), [{ topic: 't', partition: 0, offset: 5 }]);
    ledger.release(h);
    assert.deepEqual(ledger.committable(), [{ topic: 't', partition: 0, offset: 10 }]);
  });

  it('a hold below where the partition resumes (the group committed past it meanwhile) does not rewind commits', () => {
    const ledger = new OffsetLedger();
    const h = new Hold();
    h.add(ledger.partition('t', 0), 2);
    ledger.track(h);
    ledger.forgetAll();
    const p = ledger.partition('t', 0);
    for (let o = 7; o < 10; o++) ledger.processed(p, o);
    assert.deepEqual(ledger.committable(), [{ topic: 't', partition: 0, offset: 10 }]);
  });
});
