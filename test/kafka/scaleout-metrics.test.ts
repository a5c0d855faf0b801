// `/metrics` in scale-out mode carries the per-stage pipeline metrics of single-process mode, summed over
// the replica's partition pipelines: the same names, and (summed over replicas) the same values as one
// single-process service consuming the same input, also after a replica leaves and another rebuilds its
// partitions (the muted re-read of records already counted is not counted again; counters never go down).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { type ConfigInput, validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { newRegistry } from '../../src/core/metrics.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { PIPELINE_METRIC_NAMES } from '../../src/stream/scaleout/pipeline-metrics.ts';
import { ScaleOutService } from '../../src/stream/scaleout/service.ts';
import { StreamService } from '../../src/stream/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  brokers,
  produce,
  type RawRecord,
  serviceConfig,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';
import { logsRecord, nanos, POD_ATTRS } from '../helpers/otlp.ts';

const INPUT_PARTITIONS = 3;
const WORKLOADS = Array.from({ length: 12 }, (_, i) => `w${String(i).padStart(2, '0')}`);
const pod = (w: string) => `${w}-7d9f8c6b5-x2kqz`;
const T0 = Date.now() - 600_000;

const stops: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const s of stops) await s().catch(() => {});
});

/** Records `from`..`to`: crash-looping pods (Warning events, cumulative counts) and ERROR log lines. */
function input(from: number, to: number): RawRecord[] {
  const out: RawRecord[] = [];
  for (let i = from; i < to; i++) {
    const w = WORKLOADS[i % WORKLOADS.length]!;
    const at = T0 + i * 100;
    const value =
      i % 2 === 0
        ? encodeOtlp(
            'ExportLogsServiceRequest',
            k8sEventsRequest([
              {
                namespace: 'shop',
                reason: 'BackOff',
                message: `Back-off restarting failed container app in pod ${pod(w)}`,
                type: 'Warning',
                object: { kind: 'Pod', name: pod(w), fieldPath: 'spec.containers{app}' },
                uid: `ev-${w}`,
                count: Math.floor(i / WORKLOADS.length) + 1,
                atMs: at,
              },
            ]),
          )
        : logsRecord([
            {
              attrs: POD_ATTRS('shop', w, pod(w)),
              records: [`payment ${i} failed: upstream 503`].map((body) => ({
                timeUnixNano: nanos(at),
                severityNumber: 17,
                severityText: 'ERROR',
                body: { stringValue: body },
              })),
            },
          ]);
    out.push({ value, partition: i % INPUT_PARTITIONS, timestamp: at });
  }
  return out;
}

/** A metric's values by label set (JSON of the labels), from a registry as /metrics would show it. */
async function values(registry: Registry, name: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON())
    if (metric.name === name)
      for (const v of metric.values as { labels: Record<string, string | number>; value: number }[])
        m.set(JSON.stringify(v.labels), (m.get(JSON.stringify(v.labels)) ?? 0) + v.value);
  return m;
}

async function summed(registries: Registry[], name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of registries)
    for (const [k, v] of await values(r, name)) if (v !== 0) out[k] = (out[k] ?? 0) + v;
  return out;
}

const total = async (registries: Registry[], name: string, labels = ''): Promise<number> =>
  Object.entries(await summed(registries, name))
    .filter(([k]) => k.includes(labels))
    .reduce((a, [, v]) => a + v, 0);

/** Counters compared with the single-process service (gauges depend on what each pipeline still holds). */
const COMPARED = [
  'kubetriage_signals_total',
  'kubetriage_incidents_total',
  'kubetriage_floor_signals_total',
  'kubetriage_duplicate_events_total',
];

describe('scale-out /metrics: per-stage pipeline metrics summed over partitions', () => {
  it('has the single-process names and, over replicas, its values, also after a replica leaves and another rebuilds its partitions', {
    timeout: 240_000,
  }, async () => {
    const t = await testTopics(INPUT_PARTITIONS);
    const common: ConfigInput = {
      dedup: { window: '24h' },
      grouping: { groupWait: '200ms', groupInterval: '300ms', resolveTimeout: '1h', restore: false },
    };
    const single = newRegistry();
    const service = new StreamService({
      config: serviceConfig(t, { ...common, kafka: { groupId: unique('single') } }),
      log: createLogger('silent'),
      registry: single,
      resolver: new NamePatternResolver(),
    });
    stops.push(() => service.stop());
    const signals = unique('signals');
    const changelog = unique('changelog');
    const scaleOut = () => {
      const registry = newRegistry();
      const s = new ScaleOutService({
        config: validateConfig({
          ...common,
          kafka: {
            brokers: brokers().split(','),
            groupId: t.group,
            batchSize: 10,
            commitInterval: '200ms',
            topics: { logs: [t.logs], contexts: unique('contexts'), dlq: t.dlq },
            librdkafka: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000 },
          },
          scaleOut: { enabled: true, partitions: 6, topics: { signals, changelog } },
        }),
        log: createLogger('silent'),
        registry,
        resolver: new NamePatternResolver(),
      });
      stops.push(() => s.stop(10_000));
      return { s, registry };
    };
    const a = scaleOut();
    const b = scaleOut();
    await Promise.all([service.start(), a.s.start(), b.s.start()]);
    const both = [a.registry, b.registry];
    // Both owners in the group first: under load A could join after B had read everything and leave
    // again holding nothing, and then B has nothing of A's to rebuild (seen once).
    await waitFor(
      () => a.s.owner.assignedPartitions.length > 0 && b.s.owner.assignedPartitions.length > 0,
      60_000,
      'both owners assigned partitions',
    );
    const applied = (rs: Registry[]) =>
      total(rs, 'kubetriage_scaleout_owner_groups_total', '"result":"applied"');

    await produce(t.logs, input(0, 60));
    await waitFor(
      async () => (await total([single], 'kubetriage_records_total')) === 60 && (await applied(both)) === 60,
      90_000,
      'all 60 records through both paths',
    );
    for (const name of PIPELINE_METRIC_NAMES) {
      assert.ok((await single.getSingleMetric(name)) !== undefined, `single-process mode has ${name}`);
      assert.ok((await a.registry.getSingleMetric(name)) !== undefined, `scale-out mode has ${name}`);
    }
    // No partition label: the series are those of single-process mode.
    for (const name of PIPELINE_METRIC_NAMES)
      for (const k of (await values(a.registry, name)).keys())
        assert.ok(!k.includes('partition'), `${name} ${k}`);
    assert.ok((await total(both, 'kubetriage_signals_total')) >= 60, 'signals counted');
    assert.ok((await total(both, 'kubetriage_incidents_total', '"event":"opened"')) > 0, 'incidents counted');
    for (const name of COMPARED)
      assert.deepEqual(await summed(both, name), await summed([single], name), name);
    assert.ok((await total(both, 'kubetriage_dedup_entries')) > 0, 'dedup entries of the owned pipelines');

    // A leaves; B takes over its partitions and rebuilds them from the signals topic (a muted re-read).
    const before = new Map<string, Record<string, number>>();
    for (const name of COMPARED) before.set(name, await summed([b.registry], name));
    const restores = await total([b.registry], 'kubetriage_scaleout_restores_total');
    await a.s.stop(15_000);
    await produce(t.logs, input(60, 120));
    await waitFor(
      async () =>
        (await total([single], 'kubetriage_records_total')) === 120 && (await applied(both)) === 120,
      120_000,
      'all 120 records through both paths',
    );
    assert.ok(
      (await total([b.registry], 'kubetriage_scaleout_restores_total')) > restores,
      'B rebuilt the partitions A held',
    );
    for (const name of COMPARED) {
      const now = await summed([b.registry], name);
      for (const [k, v] of Object.entries(before.get(name)!))
        assert.ok((now[k] ?? 0) >= v, `${name} ${k} never goes down on B (${v} → ${now[k]})`);
      assert.deepEqual(await summed(both, name), await summed([single], name), `${name} after the rebalance`);
    }
  });
});
