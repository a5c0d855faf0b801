// What "the same incident context" means when one run went through a Collector and Kafka and the
// other was replayed from a capture file.
//
// Excluded, because they describe the processing rather than the incident:
//  - `sources`: Kafka offsets; the Collector re-batches, so records and offsets differ by design;
//  - `timings.firstContext`, `timings.updated`: processing-clock times (wall clock live, record
//    timestamps in replay);
//  - `revision`: how many material changes were *emitted* depends on when group_wait/group_interval
//    fired relative to the records (wall-clock timers live, record-time timers in replay). The
//    content of the latest revision is compared in full instead.
// Normalised, because their order is arrival order (which Kafka partitioning changes):
//  - evidence items are sorted by key; the arrays inside `refs` are sorted.
// Everything else is compared exactly: id, status, scope, window, every evidence item's id, key,
// kind, at, lastAt, summary, count and refs, rollouts, workloadState, stats, timings.firstSignal and
// timings.resolved.
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';

function sortedArray(a: unknown[]): unknown[] {
  return a
    .map((v) => [JSON.stringify(v), v] as const)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([, v]) => v);
}

export function meaningful(doc: IncidentContextDoc): Record<string, unknown> {
  const { revision: _r, sources: _s, timings, evidence, ...rest } = doc;
  return {
    ...rest,
    evidence: [...evidence]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((e) => ({
        ...e,
        refs: Object.fromEntries(
          Object.entries(e.refs).map(([k, v]) => [k, Array.isArray(v) ? sortedArray(v) : v]),
        ),
      })),
    timings: { firstSignal: timings.firstSignal, resolved: timings.resolved },
  };
}

/** The last context per incident id, in emission order (what a compacted contexts topic keeps). */
export function latestById(docs: Iterable<IncidentContextDoc>): Map<string, IncidentContextDoc> {
  const m = new Map<string, IncidentContextDoc>();
  for (const d of docs) m.set(d.id, d);
  return m;
}

/** Meaningful content of the latest context of each incident, sorted by id. */
export function comparable(docs: Iterable<IncidentContextDoc>): Record<string, unknown>[] {
  return [...latestById(docs).values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map(meaningful);
}
