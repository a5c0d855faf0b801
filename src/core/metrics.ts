import type { Counter, Gauge, Registry } from 'prom-client';
import { promClient } from './prom-client.ts';

/**
 * A counter whose value lives in a plain stats field of a hot-path object and is read at scrape time:
 * the stream pays one integer increment, not a label lookup, per signal.
 */
export function counterFromStats(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Iterable<[Record<string, string>, number]>,
): Counter {
  const { Counter } = promClient();
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) if (v > 0) this.inc(labels, v);
    },
  });
}

export function gaugeFrom(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Iterable<[Record<string, string>, number]>,
): Gauge {
  const { Gauge } = promClient();
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.set(labels, v);
    },
  });
}

export function newRegistry(): Registry {
  const { Registry, collectDefaultMetrics } = promClient();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubetriage_' });
  return registry;
}

/** Per-record and per-context metrics updated directly (not per signal). */
export function streamMetrics(registry: Registry) {
  const { Counter, Histogram } = promClient();
  return {
    decodeErrors: new Counter({
      name: 'kubetriage_decode_errors_total',
      help: 'Records that could not be decoded, by topic and error code',
      labelNames: ['topic', 'code'],
      registers: [registry],
    }),
    dlqRecords: new Counter({
      name: 'kubetriage_dlq_records_total',
      help: 'Records written to the dead-letter topic (acknowledged), by source topic and error code',
      labelNames: ['topic', 'code'],
      registers: [registry],
    }),
    contextsEmitted: new Counter({
      name: 'kubetriage_contexts_emitted_total',
      help: 'Incident-context documents acknowledged by the broker',
      labelNames: ['status'],
      registers: [registry],
    }),
    produceRetries: new Counter({
      name: 'kubetriage_produce_retries_total',
      help: 'Produce attempts that failed after librdkafka gave up and were retried',
      labelNames: ['topic'],
      registers: [registry],
    }),
    commits: new Counter({
      name: 'kubetriage_offset_commits_total',
      help: 'Offset commits to the consumer group, by result (ok, error, timeout)',
      labelNames: ['result'],
      registers: [registry],
    }),
    dlqTruncated: new Counter({
      name: 'kubetriage_dlq_truncated_total',
      help: 'Dead letters the broker refused whole (too large), written as a truncated copy with a reference',
      labelNames: ['topic', 'code'],
      registers: [registry],
    }),
    dlqFailures: new Counter({
      name: 'kubetriage_dlq_failures_total',
      help: 'Dead letters the broker refused even truncated: logged with their coordinates, offset released',
      labelNames: ['topic'],
      registers: [registry],
    }),
    deferredRecords: new Counter({
      name: 'kubetriage_records_deferred_total',
      help: 'Records fetched during a revoke or shutdown and left unprocessed (re-read by the next owner)',
      registers: [registry],
    }),
    drains: new Counter({
      name: 'kubetriage_drains_total',
      help: 'Drains of pending outputs before giving partitions up, by reason (revoke, lost, shutdown) and outcome',
      labelNames: ['reason', 'outcome'],
      registers: [registry],
    }),
    contextLatency: new Histogram({
      name: 'kubetriage_context_latency_seconds',
      help: 'From the oldest Kafka record timestamp a context depends on to the broker acknowledging it',
      // Sub-100 ms buckets: a live stream is mostly there, and with 0.1 s as the first bucket every
      // percentile below it was only an interpolation (bench/e2e.ts read p50 51 ms, p95 96 ms from that).
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    timeToFirstContext: new Histogram({
      name: 'kubetriage_time_to_first_context_seconds',
      help: 'Time to understanding, step 1: first signal of an incident to its first context',
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
  };
}

export type StreamMetrics = ReturnType<typeof streamMetrics>;
