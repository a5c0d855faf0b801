// The pipeline benches' stream: each logs batch 10 s after the last on a manual clock, the pipeline's
// timers ticked before it, everything flushed at the end. Structural types: bench/ab.ts feeds the
// classes of another checkout.

export interface FeedPipeline {
  tick(): void;
  ingest(topic: 'otlp_logs', value: Buffer, timestampMs: number): unknown;
  flushAll(): void;
}

export interface FeedClock {
  now(): number;
  advance(toMs: number): void;
}

export function feedLogBatches(p: FeedPipeline, clock: FeedClock, batches: Buffer[]): void {
  let t = clock.now();
  for (const b of batches) {
    t += 10_000;
    clock.advance(t);
    p.tick();
    p.ingest('otlp_logs', b, t);
  }
  p.flushAll();
}
