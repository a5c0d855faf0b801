// The OpenTelemetry Collector between the cluster and Kafka, as far as it shapes records
// (../../shared/FORMATS.md §1): the `batch` processor merges whatever arrived within its timeout
// (or up to send_batch_size items) into one request, and the Kafka exporter (encoding otlp_proto)
// writes that request as ONE record with a nil key. Optional splits:
//   partition_logs_by_resource_attributes / partition_metrics_by_resource_attributes:
//     one record per ResourceLogs / ResourceMetrics, key = a 16-byte hash of the resource attributes
//     (ours is the first 16 bytes of SHA-256 over the sorted key=value pairs: opaque and stable like
//     pdata's MapHash, but NOT byte-identical to its xxhash-based value);
//   partition_traces_by_id: one record per trace, key = the trace id as 32 lowercase hex chars.
// Nil-key records land on a partition chosen by the producer's sticky partitioner (here: the noise
// stream); keyed records on hash(key) mod partitions (FNV-1a, as sarama_compat hashing does).
import { createHash } from 'node:crypto';
import type { CapturedRecord } from '../stream/capture.ts';
import type { OtlpKeyValue } from './attrs.ts';
import { encodeOtlp } from './otlp-proto.ts';
import type { Prng } from './prng.ts';

export type SignalKind = 'logs' | 'metrics' | 'traces';

/** One ResourceLogs / ResourceMetrics / ResourceSpans (protobufjs plain-object form) on its way in. */
export interface ResourceItem {
  signal: SignalKind;
  /** When the Collector received it (epoch ms). */
  arriveMs: number;
  /** `{resource, scopeLogs|scopeMetrics|scopeSpans}`. */
  payload: Record<string, unknown>;
  /** Log records / data points / spans it holds (what send_batch_size counts). */
  size: number;
}

export interface CollectorOptions {
  topics: Record<SignalKind, string>;
  /** Partitions of each topic (records keep offsets per partition). */
  partitions: number;
  /** Batch processor `timeout` (ms) and `send_batch_size`. */
  batchTimeoutMs: number;
  sendBatchSize: number;
  partitionLogsByResource: boolean;
  partitionMetricsByResource: boolean;
  partitionTracesById: boolean;
}

export const DEFAULT_COLLECTOR: CollectorOptions = {
  topics: { logs: 'otlp_logs', metrics: 'otlp_metrics', traces: 'otlp_spans' },
  partitions: 3,
  batchTimeoutMs: 10_000,
  sendBatchSize: 1000,
  partitionLogsByResource: false,
  partitionMetricsByResource: false,
  partitionTracesById: false,
};

const REQUEST = {
  logs: ['ExportLogsServiceRequest', 'resourceLogs'],
  metrics: ['ExportMetricsServiceRequest', 'resourceMetrics'],
  traces: ['ExportTraceServiceRequest', 'resourceSpans'],
} as const;

const SIGNAL_ORDER: Record<SignalKind, number> = { logs: 0, metrics: 1, traces: 2 };

interface Batch {
  signal: SignalKind;
  sentMs: number;
  items: ResourceItem[];
}

/**
 * Turns everything the cluster emitted into Kafka records, in the order a consumer of all three
 * topics would read them (record timestamp, then logs/metrics/traces), with per-partition offsets.
 */
export function collectorRecords(
  items: readonly ResourceItem[],
  opts: CollectorOptions,
  rng: Prng,
): CapturedRecord[] {
  const batches: Batch[] = [];
  for (const signal of ['logs', 'metrics', 'traces'] as const) {
    const mine = items
      .map((it, i) => ({ it, i }))
      .filter(({ it }) => it.signal === signal)
      .sort((a, b) => a.it.arriveMs - b.it.arriveMs || a.i - b.i)
      .map(({ it }) => it);
    batches.push(...batchProcessor(signal, mine, opts));
  }
  batches.sort((a, b) => a.sentMs - b.sentMs || SIGNAL_ORDER[a.signal] - SIGNAL_ORDER[b.signal]);

  const out: CapturedRecord[] = [];
  const offsets = new Map<string, number>();
  for (const b of batches) {
    // The exporter's produce latency: a few ms, never reordering batches of one signal.
    const timestamp = Math.round(b.sentMs) + rng.int(2, 30);
    for (const { key, payload } of exporterSplit(b, opts)) {
      const [type, field] = REQUEST[b.signal];
      const value = encodeOtlp(type, { [field]: payload });
      const partition = key === null ? rng.int(0, opts.partitions - 1) : keyPartition(key, opts.partitions);
      const topic = opts.topics[b.signal];
      const tp = `${topic}\u0000${partition}`;
      const offset = offsets.get(tp) ?? 0;
      offsets.set(tp, offset + 1);
      out.push({ topic, partition, offset, timestamp, key, headers: {}, value });
    }
  }
  out.sort((a, b) => a.timestamp - b.timestamp);
  return out;
}

/** The batch processor: a batch opens with its first item and is sent at timeout or at size. */
function batchProcessor(signal: SignalKind, items: readonly ResourceItem[], opts: CollectorOptions): Batch[] {
  const out: Batch[] = [];
  let cur: Batch | undefined;
  let openedAt = 0;
  let size = 0;
  for (const it of items) {
    if (cur && it.arriveMs >= openedAt + opts.batchTimeoutMs) {
      cur.sentMs = openedAt + opts.batchTimeoutMs;
      out.push(cur);
      cur = undefined;
    }
    if (!cur) {
      cur = { signal, sentMs: 0, items: [] };
      openedAt = it.arriveMs;
      size = 0;
    }
    cur.items.push(it);
    size += it.size;
    if (size >= opts.sendBatchSize) {
      cur.sentMs = it.arriveMs;
      out.push(cur);
      cur = undefined;
    }
  }
  if (cur) {
    cur.sentMs = openedAt + opts.batchTimeoutMs;
    out.push(cur);
  }
  return out;
}

interface Part {
  key: Buffer | null;
  payload: Record<string, unknown>[];
}

function exporterSplit(b: Batch, opts: CollectorOptions): Part[] {
  const payloads = b.items.map((i) => i.payload);
  if (
    (b.signal === 'logs' && opts.partitionLogsByResource) ||
    (b.signal === 'metrics' && opts.partitionMetricsByResource)
  ) {
    return payloads.map((p) => ({ key: resourceKey(p), payload: [p] }));
  }
  if (b.signal === 'traces' && opts.partitionTracesById) return splitByTrace(payloads);
  return [{ key: null, payload: payloads }];
}

/** 16 bytes identifying the resource attributes (order-independent). Not pdata's exact MapHash. */
export function resourceKey(payload: Record<string, unknown>): Buffer {
  const resource = payload.resource as { attributes?: OtlpKeyValue[] } | undefined;
  const pairs = (resource?.attributes ?? []).map((kv) => `${kv.key}=${JSON.stringify(kv.value)}`).sort();
  return createHash('sha256').update(pairs.join('\u0000')).digest().subarray(0, 16);
}

interface SpanLike {
  traceId: Buffer;
}

/** batchpersignal.SplitTraces: one request per trace id, each resource/scope copied with its spans. */
function splitByTrace(payloads: Record<string, unknown>[]): Part[] {
  const byTrace = new Map<string, Record<string, unknown>[]>();
  for (const rs of payloads) {
    const scopes = rs.scopeSpans as { scope: unknown; spans: SpanLike[] }[];
    const perTrace = new Map<string, { scope: unknown; spans: SpanLike[] }[]>();
    for (const ss of scopes) {
      const groups = new Map<string, SpanLike[]>();
      for (const span of ss.spans) {
        const id = span.traceId.toString('hex');
        const g = groups.get(id);
        if (g) g.push(span);
        else groups.set(id, [span]);
      }
      for (const [id, spans] of groups) {
        const list = perTrace.get(id) ?? [];
        list.push({ scope: ss.scope, spans });
        perTrace.set(id, list);
      }
    }
    for (const [id, scopeSpans] of perTrace) {
      const list = byTrace.get(id) ?? [];
      list.push({ ...rs, scopeSpans });
      byTrace.set(id, list);
    }
  }
  return [...byTrace].map(([id, payload]) => ({ key: Buffer.from(id, 'ascii'), payload }));
}

/** sarama-compatible hash partitioning of keyed records: FNV-1a 32 of the key, as int32, abs, mod. */
export function keyPartition(key: Buffer, partitions: number): number {
  let h = 0x811c9dc5;
  for (const byte of key) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  const p = (h | 0) % partitions;
  return p < 0 ? -p : p;
}
