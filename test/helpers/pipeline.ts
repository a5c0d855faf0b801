import { applyEnv, type Config, type ConfigInput, validateConfig } from '../../src/core/config.ts';
import { ManualClock } from '../../src/stream/clock.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { OffsetLedger } from '../../src/stream/offsets.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { NamePatternResolver, type WorkloadResolver } from '../../src/stream/workload.ts';
import { assertValidContext } from './schema.ts';

export function testConfig(overrides: ConfigInput = {}): Config {
  return applyEnv(validateConfig(overrides), {});
}

/** A pipeline on a manual clock that collects (and schema-validates) every emitted context. */
export function testPipeline(overrides: ConfigInput = {}, o: { resolver?: WorkloadResolver } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
  const docs: IncidentContextDoc[] = [];
  const pipeline = new Pipeline({
    config: testConfig(overrides),
    clock,
    resolver: o.resolver ?? new NamePatternResolver(),
    sink: (doc) => {
      assertValidContext(doc);
      docs.push(doc);
    },
  });
  const ledger = new OffsetLedger();
  let offset = 0;
  /** Feeds one record at the clock's time (advancing it first), like replay does. */
  const feed = (topic: string, value: Uint8Array, atMs = clock.now()) => {
    clock.advance(atMs);
    pipeline.tick();
    const failure = pipeline.ingest(topic, value, atMs, {
      partition: ledger.partition(topic, 0),
      offset: offset++,
      timestamp: atMs,
    });
    if (failure) throw new Error(`unexpected dead letter: ${failure.code} ${failure.message}`);
  };
  /** Latest revision of each incident. */
  const latest = () => {
    const m = new Map<string, IncidentContextDoc>();
    for (const d of docs) {
      const cur = m.get(d.id);
      if (!cur || d.revision > cur.revision) m.set(d.id, d);
    }
    return [...m.values()];
  };
  return { clock, docs, pipeline, feed, latest };
}
