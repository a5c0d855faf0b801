// One pipeline, the same records, two interleavings across topics and partitions: the same evidence
// counts. A consumer reads partitions as their fetches come back, live and after a rebalance alike, and
// the Collector's kafka exporter (partition_metrics_by_resource_attributes) puts one restart counter's
// samples on a new partition with every restart (container.id and last_terminated_reason are resource
// attributes). A late sample used to be taken for a counter reset and the next rise counted again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Config, DEFAULT_ANOMALIES, validateConfig } from '../../src/core/config.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { getScenario, listScenarios } from '../../src/sim/scenarios/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { gauge, metricsRecord } from '../helpers/otlp.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;

const config: Config = validateConfig({
  // Both orders read every record within the dedup window; span buckets are off (they close on a timer).
  dedup: { window: '24h' },
  anomalies: DEFAULT_ANOMALIES.filter((r) => r.name !== 'latency-p99-up' && r.name !== 'error-rate-up'),
  grouping: { resolveTimeout: '1h', restore: false },
});

/** Evidence counts per workload and key, of each incident's latest context. */
async function countsOf(records: CapturedRecord[]): Promise<Record<string, Record<string, number>>> {
  const latest = new Map<string, IncidentContextDoc>();
  await replay({
    input: records,
    config,
    resolver: new NamePatternResolver(),
    onContext: (d) => {
      if ((latest.get(d.id)?.revision ?? -1) < d.revision) latest.set(d.id, d);
    },
  });
  const out: Record<string, Record<string, number>> = {};
  for (const d of latest.values())
    out[`${d.scope.namespace}/${d.scope.workload.name}`] = Object.fromEntries(
      d.evidence.map((e) => [e.key, e.count]),
    );
  return out;
}

const inTimeOrder = (records: readonly CapturedRecord[]) =>
  [...records].sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);

/** How a consumer reads them when each partition's fetches lag by its own delay (each partition in order). */
function lagged(records: readonly CapturedRecord[], lagMs: (r: CapturedRecord) => number): CapturedRecord[] {
  return inTimeOrder(records)
    .map((r) => ({ r, at: r.timestamp + lagMs(r) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.r);
}

/**
 * A crash-looping Deployment as k8s_cluster and k8seventsreceiver report it: per pod a restart counter
 * scraped every 20 s, its resource naming the running container (container.id) and the last
 * termination's reason; a BackOff Event per pod (decisive: it opens the incident).
 */
function crashLoop(): CapturedRecord[] {
  const out: CapturedRecord[] = [];
  const offsets = new Map<string, number>();
  const push = (topic: string, partition: number, timestamp: number, value: Buffer) => {
    const k = `${topic}/${partition}`;
    const offset = offsets.get(k) ?? 0;
    offsets.set(k, offset + 1);
    out.push({ topic, partition, offset, timestamp, key: null, headers: {}, value });
  };
  const pods = ['inventory-7d9f8c6b5-x2kqz', 'inventory-7d9f8c6b5-b8m4t'];
  for (const [n, pod] of pods.entries()) {
    // Restarts at 2, 3, 4.5, 7 and 11 minutes (the kubelet's back-off), the second pod 30 s later.
    const restartsAt = [2, 3, 4.5, 7, 11].map((m) => m * MIN + n * 30 * SEC);
    for (let t = 0; t <= 14 * MIN; t += 20 * SEC) {
      const restarts = restartsAt.filter((r) => r <= t).length;
      const res = {
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': pod,
        'k8s.deployment.name': 'inventory',
        'k8s.container.name': 'app',
        'container.id': `containerd://${pod}-${restarts}`,
        'k8s.container.status.last_terminated_reason': restarts > 0 ? 'Error' : undefined,
      };
      // The exporter's partition: the resource's hash, i.e. a new one with each restart.
      push(
        'otlp_metrics',
        (restarts + n) % 3,
        T0 + t,
        metricsRecord([{ attrs: res, metrics: [gauge('k8s.container.restarts', restarts, T0 + t)] }]),
      );
    }
    for (const [i, at] of restartsAt.slice(1).entries()) {
      const events = k8sEventsRequest([
        {
          namespace: 'shop',
          reason: 'BackOff',
          message: `Back-off restarting failed container app in pod ${pod}`,
          type: 'Warning',
          object: { kind: 'Pod', name: pod, uid: `uid-${pod}`, fieldPath: 'spec.containers{app}' },
          uid: `ev-${pod}`,
          count: i + 1,
          atMs: T0 + at + 5 * SEC,
        },
      ]);
      push('otlp_logs', n, T0 + at + 5 * SEC, encodeOtlp('ExportLogsServiceRequest', events));
    }
  }
  return out;
}

describe('pipeline: evidence counts do not depend on how topics and partitions interleave', () => {
  it("a crash loop's restart counter hopping partitions: each restart counted once, whatever the order", async () => {
    const records = crashLoop();
    const want = await countsOf(inTimeOrder(records));
    // 5 restarts of each of the two pods.
    assert.equal(want['shop/inventory']?.['restart|Error|app'], 10, JSON.stringify(want));
    for (const lag of [
      // The metrics partition of the first restarts lags by 3 minutes.
      (r: CapturedRecord) => (r.topic === 'otlp_metrics' && r.partition === 1 ? 3 * MIN : 0),
      // Every metrics partition lags by its own delay, the Events by another.
      (r: CapturedRecord) => (r.topic === 'otlp_metrics' ? [150, 0, 75][r.partition]! * SEC : 40 * SEC),
      // The Events first, metrics partitions in reverse order.
      (r: CapturedRecord) => (r.topic === 'otlp_metrics' ? (3 - r.partition) * 2 * MIN : 0),
    ])
      assert.deepEqual(await countsOf(lagged(records, lag)), want);
  });

  it('the simulated cascade (k8s_cluster partitioned by resource): counts of the time-ordered replay', async () => {
    const records = getScenario('cascade').generate({
      seed: 3,
      start: T0,
      collector: { partitions: 3, partitionMetricsByResource: true },
    }).records;
    const want = await countsOf(inTimeOrder(records));
    assert.equal(want['shop/inventory']?.['restart|Error|inventory'], 15, 'the restarts the pods made');
    for (const lag of [
      (r: CapturedRecord) => (r.topic === 'otlp_metrics' ? [0, 90, 30][r.partition]! * SEC : 0),
      (r: CapturedRecord) => (r.topic === 'otlp_metrics' ? 0 : [60, 0, 120][r.partition]! * SEC),
      (r: CapturedRecord) => [20, 140, 70][r.partition]! * SEC + (r.topic === 'otlp_spans' ? 45 * SEC : 0),
    ])
      assert.deepEqual(await countsOf(lagged(records, lag)), want);
  });

  it("every scenario with the cluster's background: k8s_cluster partitions read with lag give the time order's counts", async () => {
    // Before counter-runs.ts the first scenario already failed: oom-rollout's restart|OOMKilled|checkout
    // read 14 for 12.
    for (const scenario of listScenarios()) {
      const records = scenario.generate({
        seed: 2,
        start: T0,
        noise: true,
        collector: { partitions: 3, partitionMetricsByResource: true },
      }).records;
      const want = await countsOf(inTimeOrder(records));
      const got = await countsOf(
        lagged(records, (r) => (r.topic === 'otlp_metrics' ? [0, 90, 30][r.partition]! * SEC : 0)),
      );
      assert.deepEqual(got, want, scenario.name);
    }
  });

  it('a late sample that moves a restart to another termination reason: the items and counts of the time order', async () => {
    const pod = 'checkout-7d9f8c6b5-x2kqz';
    const sample = (partition: number, offset: number, atMs: number, restarts: number, reason?: string) => ({
      topic: 'otlp_metrics',
      partition,
      offset,
      timestamp: atMs,
      key: null,
      headers: {},
      value: metricsRecord([
        {
          attrs: {
            'k8s.namespace.name': 'shop',
            'k8s.pod.name': pod,
            'k8s.deployment.name': 'checkout',
            'k8s.container.name': 'app',
            'k8s.container.status.last_terminated_reason': reason,
          },
          metrics: [gauge('k8s.container.restarts', restarts, atMs)],
        },
      ]),
    });
    // An Error exit, then an OOMKill (decisive: it opens the incident); the Error sample comes last.
    const records = [
      sample(0, 0, T0, 0),
      sample(1, 0, T0 + MIN, 1, 'Error'),
      sample(2, 0, T0 + 2 * MIN, 2, 'OOMKilled'),
    ];
    const want = await countsOf(records);
    assert.deepEqual(want, { 'shop/checkout': { 'restart|OOMKilled|app': 1, 'restart|Error|app': 1 } });
    // Read late, the Error sample corrects the OOMKill's rise of 2 (one restart moves to Error).
    assert.deepEqual(await countsOf([records[0]!, records[2]!, records[1]!]), want);
    // The other way round: a rise of 2 read as Errors (below the restarts floor: held), then the late
    // OOMKill sample between them opens the incident and takes one restart from Error.
    const swapped = [
      sample(0, 0, T0, 0),
      sample(1, 0, T0 + MIN, 1, 'OOMKilled'),
      sample(2, 0, T0 + 2 * MIN, 2, 'Error'),
    ];
    const wantSwapped = await countsOf(swapped);
    assert.deepEqual(wantSwapped, {
      'shop/checkout': { 'restart|OOMKilled|app': 1, 'restart|Error|app': 1 },
    });
    assert.deepEqual(await countsOf([swapped[0]!, swapped[2]!, swapped[1]!]), wantSwapped);
  });
});
