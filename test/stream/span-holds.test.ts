import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/stream/clock.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { type Hold, OffsetLedger } from '../../src/stream/offsets.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { LATENCY_P99 } from '../../src/stream/span-stats.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { POD_ATTRS, span, tracesRecord } from '../helpers/otlp.ts';
import { testConfig } from '../helpers/pipeline.ts';
import { assertValidContext } from '../helpers/schema.ts';

// Span-derived evidence (latency, error rate) comes from buckets of many records, closed on a timer.
// At-least-once: those records must not be committed before what their bucket yields is durable.

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const BUCKET = 30_000;

function runPipeline() {
  const ledger = new OffsetLedger();
  const clock = new ManualClock(T0);
  const sent: { doc: IncidentContextDoc; hold: Hold | undefined }[] = [];
  const pipeline = new Pipeline({
    config: testConfig({ floors: { enabled: false }, spanBucket: '30s' }),
    clock,
    resolver: new NamePatternResolver(),
    sink: (doc, hold) => {
      assertValidContext(doc);
      sent.push({ doc, hold });
    },
    trackHold: (h) => ledger.track(h),
    releaseHold: (h) => ledger.release(h),
  });
  const p = ledger.partition('otlp_spans', 0);
  /** One record of 50 server spans in bucket `b` (slow: ~900 ms, else ~100 ms), at offset `b`. */
  const feedBucket = (b: number, slow: boolean) => {
    const spans = [];
    for (let i = 0; i < 50; i++)
      spans.push(
        span({
          name: 'GET /search',
          kind: 2,
          startMs: T0 + b * BUCKET + i * 100,
          durationMs: slow ? 900 + i : 100 + (i % 7),
        }),
      );
    const at = T0 + b * BUCKET + 6000;
    clock.advance(at);
    pipeline.tick();
    const value = tracesRecord([{ attrs: POD_ATTRS('shop', 'search', 'search-7d9f8c6b5-x2kqz'), spans }]);
    assert.equal(
      pipeline.ingest('otlp_spans', value, at, { partition: p, offset: b, timestamp: at }),
      undefined,
    );
    ledger.processed(p, b);
  };
  return { ledger, clock, sent, pipeline, feedBucket };
}

describe('span buckets hold their records', () => {
  it('regression: records whose only output is a timer-closed bucket stay uncommitted until its context is acknowledged', () => {
    const { ledger, clock, sent, pipeline, feedBucket } = runPipeline();
    // Six healthy buckets (the baseline), then a slow one that only the timer closes.
    for (let b = 0; b < 7; b++) feedBucket(b, b === 6);
    assert.deepEqual(
      ledger.committable(),
      [{ topic: 'otlp_spans', partition: 0, offset: 6 }],
      'the open bucket holds its record; the closed healthy ones yielded nothing and hold nothing',
    );
    // The timer closes the slow bucket: a latency finding opens an incident.
    clock.advance(T0 + 7 * BUCKET + 1);
    pipeline.tick();
    assert.equal(sent.length, 0, 'not yet due (group_wait)');
    assert.deepEqual(
      ledger.committable(),
      [{ topic: 'otlp_spans', partition: 0, offset: 6 }],
      'held by the incident',
    );
    clock.advance(T0 + 7 * BUCKET + 120_000);
    pipeline.tick();
    assert.equal(sent.length, 1);
    const { doc, hold } = sent[0]!;
    assert.ok(
      doc.evidence.some((e) => (e.refs.metric as { name?: string } | undefined)?.name === LATENCY_P99),
    );
    assert.deepEqual(doc.sources, [{ topic: 'otlp_spans', partition: 0, ranges: [[6, 6]] }]);
    assert.deepEqual(
      ledger.committable(),
      [{ topic: 'otlp_spans', partition: 0, offset: 6 }],
      'held while the context is in flight',
    );
    ledger.release(hold!);
    assert.deepEqual(ledger.committable(), [{ topic: 'otlp_spans', partition: 0, offset: 7 }]);
  });

  it('on revoke or shutdown, open buckets are dropped and their records left to be re-read', () => {
    const { ledger, pipeline, feedBucket } = runPipeline();
    for (let b = 0; b < 3; b++) feedBucket(b, false);
    pipeline.flushAll();
    const dropped = pipeline.dropOpenBuckets();
    assert.equal(dropped.length, 1);
    // Commit while they are still held: the open bucket's record is not committed.
    assert.deepEqual(ledger.committable(), [{ topic: 'otlp_spans', partition: 0, offset: 2 }]);
    for (const h of dropped) ledger.release(h);
    assert.equal(ledger.liveHolds, 0);
  });
});
