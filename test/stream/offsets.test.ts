import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { ManualClock } from '../../src/stream/clock.ts';
import { Hold, OffsetLedger } from '../../src/stream/offsets.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { testConfig } from '../helpers/pipeline.ts';

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
