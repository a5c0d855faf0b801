// Scale-out with pod-status facts (informers): both replicas' informers see every pod, so both feeds
// hold every fact; each workload's fact is counted once, by the replica that owns the workload's
// partition, in the same incident as the workload's telemetry.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { createLogger } from '../../src/core/logger.ts';
import { newRegistry } from '../../src/core/metrics.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { ScaleOutService } from '../../src/stream/scaleout/service.ts';
import { NamePatternResolver, type PodStatusChange } from '../../src/stream/workload.ts';
import { consumeUntil, produce, serviceConfig, testTopics, unique, waitFor } from '../helpers/kafka.ts';
import { logsRecord, nanos, POD_ATTRS } from '../helpers/otlp.ts';
import { oomKilledFact } from '../helpers/pod-facts.ts';

const WORKLOADS = Array.from({ length: 8 }, (_, i) => `w${i}`);
const pod = (w: string) => `${w}-7d9f8c6b5-x2kqz`;

/** NamePatternResolver with a pod-status feed, as enrichment's resolver has one (src/enrich/resolver.ts). */
class FeedResolver extends NamePatternResolver {
  readonly facts: PodStatusChange[] = [];
  statusChanges(untilMs: number): PodStatusChange[] {
    const due = this.facts.filter((f) => (f.atMs ?? 0) <= untilMs);
    this.facts.splice(0, this.facts.length, ...this.facts.filter((f) => !due.includes(f)));
    return due;
  }
}

async function total(registries: Registry[], name: string, label = ''): Promise<number> {
  let n = 0;
  for (const r of registries)
    for (const m of await r.getMetricsAsJSON())
      if (m.name === name)
        for (const v of m.values as { labels: Record<string, string>; value: number }[])
          if (JSON.stringify(v.labels).includes(label)) n += v.value;
  return n;
}

const stops: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const s of stops) await s().catch(() => {});
});

describe('scale-out: pod-status facts', () => {
  it('each fact counts once, on the owner of its workload, in the incident of its telemetry', {
    timeout: 180_000,
  }, async () => {
    const t = await testTopics(3);
    const signals = unique('signals');
    const changelog = unique('changelog');
    const replica = () => {
      const registry = newRegistry();
      const resolver = new FeedResolver();
      const s = new ScaleOutService({
        config: serviceConfig(t, {
          dedup: { window: '24h' },
          grouping: { groupWait: '200ms', groupInterval: '300ms', resolveTimeout: '1h', restore: false },
          kafka: { librdkafka: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000 } },
          scaleOut: { enabled: true, partitions: 6, topics: { signals, changelog } },
        }),
        log: createLogger('silent'),
        registry,
        resolver,
      });
      stops.push(() => s.stop(10_000));
      return { s, registry, resolver };
    };
    const a = replica();
    const b = replica();
    await Promise.all([a.s.start(), b.s.start()]);
    const both = [a.registry, b.registry];

    // Both replicas in the group first: one that joined after the other had applied everything would
    // rebuild its share from the changelog while the first one may have counted the facts already.
    await waitFor(
      () => a.s.owner.assignedPartitions.length > 0 && b.s.owner.assignedPartitions.length > 0,
      60_000,
      'both replicas assigned',
    );
    // Telemetry first, so every workload's partition has its pipeline: three ERROR lines each.
    const now = Date.now();
    await produce(
      t.logs,
      WORKLOADS.map((w, i) => ({
        value: logsRecord([
          {
            attrs: POD_ATTRS('shop', w, pod(w)),
            records: [1, 2, 3].map((n) => ({
              timeUnixNano: nanos(now - 5000 + n),
              severityNumber: 17,
              severityText: 'ERROR',
              body: { stringValue: `request ${n} failed: connection refused` },
            })),
          },
        ]),
        partition: i % 3,
      })),
    );
    await waitFor(
      async () =>
        (await total(both, 'kubetriage_scaleout_owner_groups_total', '"result":"applied"')) ===
        WORKLOADS.length,
      90_000,
      'every workload applied on its owner',
    );
    // Both replicas' informers see every OOMKilled container.
    for (const r of [a, b])
      for (const w of WORKLOADS) r.resolver.facts.push(oomKilledFact(pod(w), now - 1000));
    await waitFor(
      async () =>
        (await total(both, 'kubetriage_scaleout_pod_status_total', '"result":"routed"')) +
          (await total(both, 'kubetriage_scaleout_pod_status_total', '"result":"elsewhere"')) ===
        2 * WORKLOADS.length,
      30_000,
      'both feeds drained',
    );
    assert.equal(
      await total(both, 'kubetriage_scaleout_pod_status_total', '"result":"routed"'),
      WORKLOADS.length,
      'each fact routed by exactly one replica',
    );
    const oom = (d: IncidentContextDoc) => d.evidence.find((e) => e.key === 'restart|OOMKilled|app');
    const docs = (
      await consumeUntil(
        t.contexts,
        (rs) => {
          const seen = new Set<string>();
          for (const r of rs) {
            const d = JSON.parse(r.value!.toString()) as IncidentContextDoc;
            if (oom(d)) seen.add(d.scope.workload.name);
          }
          return seen.size === WORKLOADS.length;
        },
        60_000,
      )
    ).map((r) => JSON.parse(r.value!.toString()) as IncidentContextDoc);
    for (const w of WORKLOADS) {
      const mine = docs.filter((d) => d.scope.workload.name === w);
      assert.equal(
        new Set(mine.map((d) => d.id)).size,
        1,
        `${w}: one incident (telemetry and fact together)`,
      );
      const last = mine.reduce((x, y) => (y.revision > x.revision ? y : x));
      assert.equal(oom(last)?.count, 1, `${w}: OOMKilled counted once`);
      assert.ok(
        last.evidence.some((e) => e.kind === 'log'),
        `${w}: the fact joined the incident of its ERROR lines`,
      );
    }
    assert.equal(await total(both, 'kubetriage_pod_status_signals_total'), WORKLOADS.length);
  });
});
