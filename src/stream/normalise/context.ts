import type { Signal, SignalSite } from '../signals.ts';
import type { WorkloadResolver } from '../workload.ts';

/** What a normaliser needs besides the decoded batch; one per pipeline, reused for every record. */
export interface NormaliseContext {
  /** Cluster name when no resource carries `k8s.cluster.name`. */
  defaultCluster: string;
  resolver: WorkloadResolver;
  /** Timestamp of the Kafka record, used when a data point carries none. */
  recordTimeMs: number;
  /** Metric names some anomaly rule watches; everything else is skipped without allocation. */
  watchedMetrics: ReadonlySet<string>;
  emit(signal: Signal): void;
  /**
   * Asked before a k8seventsreceiver Event's signal is built, when the Event reports no container
   * state: true when the consumer drops an Event of this type and reason on sight, whatever else it
   * carries (and has counted it as emit() would have), so nothing more is read or built for it.
   * Most Events are Normal and dropped: the e2e bench topic's 90k of 135k each built a signal, a
   * workload ref and 9 more strings (a Go time parse included) for nothing.
   */
  dropEvent?(cluster: string, eventType: string, reason: string): boolean;
  /** The class a log line without severity gets from its content (floors.logPatterns); '' for none. */
  classifyLog?(body: string): string;
  /** Every span (any kind), failed or not, with its trace: the noise floors count requests by trace. */
  observeSpan?(site: SignalSite, atMs: number, failed: boolean, traceId: string): void;
  /** Server-span observations feed the latency / error-rate series. */
  observeServerSpan(
    site: SignalSite,
    service: string,
    atMs: number,
    durationMs: number,
    failed: boolean,
  ): void;
}

/** Untrusted telemetry text is cut to a bounded size as early as possible. */
export const MAX_TEXT = 1024;

export function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}

/** Nanoseconds since the epoch to milliseconds; 0 means "not set". */
export function nanosToMs(ns: bigint): number {
  return ns === 0n ? 0 : Number(ns) / 1e6;
}

export function hex(id: Uint8Array | undefined): string {
  return id ? Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex') : '';
}
