// Offline: captured Kafka records through the same pipeline as `run`. Deterministic by construction:
// record timestamps are the clock, records are taken in file order, documents are built in a fixed order.
import type { Config } from '../core/config.ts';
import { type CapturedRecord, readCapture } from './capture.ts';
import { ManualClock } from './clock.ts';
import type { IncidentContextDoc } from './incidents/document.ts';
import { OffsetLedger } from './offsets.ts';
import { Pipeline, type RecordStage } from './pipeline.ts';
import type { WorkloadResolver } from './workload.ts';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  code: string;
  error: string;
  stage: RecordStage;
}

export interface ReplayResult {
  records: number;
  contexts: number;
  deadLetters: DeadLetter[];
  pipeline: Pipeline;
}

export interface ReplayOptions {
  /** A capture file, or the records themselves (the simulator's scenarios, tests). */
  input: string | Iterable<CapturedRecord> | AsyncIterable<CapturedRecord>;
  config: Config;
  resolver: WorkloadResolver;
  onContext: (doc: IncidentContextDoc) => void;
  onDeadLetter?: (d: DeadLetter) => void;
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const clock = new ManualClock();
  let contexts = 0;
  const pipeline = new Pipeline({
    config: opts.config,
    clock,
    resolver: opts.resolver,
    sink: (doc) => {
      contexts++;
      opts.onContext(doc);
    },
  });
  const deadLetters: DeadLetter[] = [];
  // Only for partition identities: contexts then carry the same offset provenance as in `run`.
  const partitions = new OffsetLedger();
  let records = 0;
  const input = typeof opts.input === 'string' ? readCapture(opts.input) : opts.input;
  for await (const rec of input) {
    records++;
    clock.advance(rec.timestamp);
    // Timers due before this record fire first, as they would have in the live stream.
    pipeline.tick();
    const src = {
      partition: partitions.partition(rec.topic, rec.partition),
      offset: rec.offset,
      timestamp: rec.timestamp,
    };
    const failure = pipeline.ingest(rec.topic, rec.value, rec.timestamp, src);
    if (failure) {
      const d: DeadLetter = {
        topic: rec.topic,
        partition: rec.partition,
        offset: rec.offset,
        code: failure.code,
        error: failure.message,
        stage: failure.stage,
      };
      deadLetters.push(d);
      opts.onDeadLetter?.(d);
    }
  }
  pipeline.tick();
  pipeline.flushAll();
  return { records, contexts, deadLetters, pipeline };
}
