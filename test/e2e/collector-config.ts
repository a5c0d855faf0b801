// Collector configs for the e2e tests, derived from the reference config users deploy
// (config/otel-collector.yaml), so the tests exercise exactly that shape: per-signal topics and
// encodings, memory_limiter + batch, retry_on_failure, sending_queue.
//
// Changed for a test: brokers and topics (the test's), the batch timeout (short, so tests are fast),
// exporter options under test (merged into exporters.kafka). Removed: the k8s_events receiver, which
// the test Collector build cannot include (scripts/otelcol/README.md) and which needs a cluster anyway.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';

const here = import.meta.dirname ?? dirname(new URL(import.meta.url).pathname);
export const REFERENCE_CONFIG = join(resolve(here, '..', '..'), 'config', 'otel-collector.yaml');

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(into: Obj, from: Obj): Obj {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    into[k] = isObj(cur) && isObj(v) ? merge({ ...cur }, v) : v;
  }
  return into;
}

/** The reference config, minus the components the test build lacks (k8s_events). */
export function referenceConfigWithoutK8sEvents(): Obj {
  const cfg = parse(readFileSync(REFERENCE_CONFIG, 'utf8')) as Obj;
  const receivers = cfg.receivers as Obj;
  delete receivers.k8s_events;
  const pipelines = (cfg.service as Obj).pipelines as Record<string, { receivers: string[] }>;
  for (const p of Object.values(pipelines)) p.receivers = p.receivers.filter((r) => r !== 'k8s_events');
  return cfg;
}

export interface TestCollectorConfig {
  brokers: string;
  topics: { logs: string; metrics: string; traces: string };
  /** batch processor timeout (default 200ms). */
  batchTimeout?: string;
  /** Merged into exporters.kafka (partition_* options, producer.compression …). */
  exporter?: Obj;
}

export function testCollectorConfig(o: TestCollectorConfig): string {
  const cfg = referenceConfigWithoutK8sEvents();
  const processors = cfg.processors as Obj;
  (processors.batch as Obj).timeout = o.batchTimeout ?? '200ms';
  const exporters = cfg.exporters as Obj;
  const kafka = exporters.kafka as Obj;
  kafka.brokers = o.brokers.split(',');
  (kafka.logs as Obj).topic = o.topics.logs;
  (kafka.metrics as Obj).topic = o.topics.metrics;
  (kafka.traces as Obj).topic = o.topics.traces;
  exporters.kafka = merge(kafka, o.exporter ?? {});
  return stringify(cfg);
}
