// `related` links (cascades) across owners: in the cascade scenario checkout's calls to inventory fail,
// and frontend's calls to checkout. With four signals partitions the three workloads land on three
// partitions (CRC-32 of the scope key), so every link joins incidents of different pipelines, often of
// different replicas. Each owner follows every partition's changelog: the caller's side links the
// peer's incident, the peer's owner takes the impact side from the caller's context. The links equal
// those of one process replaying the same input.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { crc32 } from 'node:zlib';
import { DEFAULT_ANOMALIES, validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { newRegistry } from '../../src/core/metrics.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { ScaleOutService } from '../../src/stream/scaleout/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { consumeAll, produce, serviceConfig, testTopics, unique, waitFor } from '../helpers/kafka.ts';

const SIGNALS_PARTITIONS = 4;
const CASCADE = ['inventory', 'checkout', 'frontend'];

const stops: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const s of stops) await s().catch(() => {});
});

/** Per workload of the scenario: its links as `relation workload (id)`, sorted. */
function links(latest: Iterable<IncidentContextDoc>): Record<string, string[]> {
  const docs = [...latest].filter((d) => CASCADE.includes(d.scope.workload.name));
  const idOf = new Map(docs.map((d) => [d.id, d.scope.workload.name]));
  const out: Record<string, string[]> = {};
  for (const d of docs)
    out[d.scope.workload.name] = (d.related ?? [])
      .map((r) => {
        assert.equal(idOf.get(r.incident), r.workload.name, `${r.incident} is ${r.workload.name}'s incident`);
        return `${r.relation} ${r.workload.name}`;
      })
      .sort();
  return out;
}

describe('scale-out: related links across owners', () => {
  it('a caller and its callee on different partitions are linked both ways, as in one process', {
    timeout: 240_000,
  }, async () => {
    const partitions = CASCADE.map((w) => crc32(`default/shop/Deployment/${w}`) % SIGNALS_PARTITIONS);
    assert.equal(new Set(partitions).size, 3, `three partitions: ${partitions}`);
    const t = await testTopics(3);
    const sim = getScenario('cascade').generate({
      seed: 3,
      start: Date.now() - 20 * 60_000,
      collector: { partitions: 3, partitionMetricsByResource: true },
    });
    const topicOf = (r: { topic: string }) =>
      r.topic === 'otlp_logs' ? t.logs : r.topic === 'otlp_metrics' ? t.metrics : t.traces;
    const common = {
      dedup: { window: '24h' },
      anomalies: DEFAULT_ANOMALIES.filter((r) => r.name !== 'latency-p99-up' && r.name !== 'error-rate-up'),
      grouping: { groupWait: '200ms', groupInterval: '300ms', resolveTimeout: '1h', restore: false },
    };
    const signals = unique('signals');
    const changelog = unique('changelog');
    const replica = () => {
      const registry = newRegistry();
      const s = new ScaleOutService({
        config: serviceConfig(t, {
          ...common,
          kafka: { batchSize: 50, librdkafka: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000 } },
          scaleOut: { enabled: true, partitions: SIGNALS_PARTITIONS, topics: { signals, changelog } },
        }),
        log: createLogger('silent'),
        registry,
        resolver: new NamePatternResolver(),
      });
      stops.push(() => s.stop(10_000));
      return { s, registry };
    };
    const a = replica();
    const b = replica();
    await Promise.all([a.s.start(), b.s.start()]);
    await waitFor(
      () => a.s.owner.assignedPartitions.length > 0 && b.s.owner.assignedPartitions.length > 0,
      60_000,
      'both owners assigned partitions',
    );
    for (const topic of [t.logs, t.metrics, t.traces]) {
      const mine = sim.records.filter((r) => topicOf(r) === topic);
      await produce(
        topic,
        mine.map((r) => ({ value: r.value, partition: r.partition, timestamp: r.timestamp })),
      );
    }

    // What one process gives replaying the same records in time order.
    const capture: CapturedRecord[] = sim.records
      .map((r, i) => ({
        // The scenario's own topic names: replay's default config reads them as logs, metrics, traces.
        topic: r.topic,
        partition: r.partition,
        offset: i,
        timestamp: r.timestamp,
        key: null,
        headers: {},
        value: r.value,
      }))
      .sort((x, y) => x.timestamp - y.timestamp);
    const replayed = new Map<string, IncidentContextDoc>();
    await replay({
      input: capture,
      config: validateConfig(common),
      resolver: new NamePatternResolver(),
      onContext: (doc) => {
        replayed.set(doc.scope.workload.name, doc);
      },
    });
    const expected = links(replayed.values());
    assert.deepEqual(
      expected.checkout,
      ['impact frontend', 'upstream inventory'],
      'the scenario links as the eval expects',
    );

    let latest = new Map<string, IncidentContextDoc>();
    await waitFor(
      async () => {
        latest = new Map();
        // All the topic holds at each look (a 1.5 s read is partial when the reader joins slowly).
        for (const r of await consumeAll(t.contexts)) {
          const d = JSON.parse(r.value!.toString()) as IncidentContextDoc;
          const w = d.scope.workload.name;
          if ((latest.get(w)?.revision ?? -1) <= d.revision) latest.set(w, d);
        }
        return isDeepStrictEqual(links(latest.values()), expected);
      },
      120_000,
      'the links of one replaying process',
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(links(latest.values()))} != ${JSON.stringify(expected)}`,
      );
    });
    let updates = 0;
    for (const r of [a.registry, b.registry])
      for (const v of (await r.getSingleMetric('kubetriage_scaleout_remote_incident_updates_total')?.get())
        ?.values ?? [])
        if (v.labels.result === 'open') updates += v.value;
    assert.ok(updates > 0, 'the owners followed the changelog');
  });
});
