// What the kubelet really reports: pod status (lastState.terminated OOMKilled, state.waiting
// CrashLoopBackOff, PodScheduled=False) becomes evidence with the status's own times, through the same
// store.apply whether informers or a snapshot fill it; and a quiet incident whose fault still shows in
// the cluster stays open (and says why) until the pod runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TriageChain } from '../../src/agents/index.ts';
import type { TriageReport } from '../../src/agents/report.ts';
import { snapshotResolver } from '../../src/cli/snapshot-resolver.ts';
import { type Config, validateConfig } from '../../src/core/config.ts';
import { createEnrichment, type Enrichment, loadObjects } from '../../src/enrich/index.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import { type CapturedRecord, formatCaptureLine } from '../../src/stream/capture.ts';
import { ManualClock } from '../../src/stream/clock.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { blankUpdate } from '../../src/stream/incidents/evidence.ts';
import { IncidentGrouper } from '../../src/stream/incidents/grouper.ts';
import { OffsetLedger } from '../../src/stream/offsets.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { replay } from '../../src/stream/replay.ts';
import type { MetricSignal } from '../../src/stream/signals.ts';
import type { WorkloadResolver } from '../../src/stream/workload.ts';
import { gauge, metricsRecord } from '../helpers/otlp.ts';
import { assertValidContext } from '../helpers/schema.ts';
import { appObjects, namespaceObject, v1List } from './cluster-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: raw API JSON, edited in place like a kubelet would
type Raw = Record<string, any>;

const T0 = Date.parse('2026-11-28T10:30:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** checkout (one revision, rolled out hours before) with three pods, in namespace shop. */
function cluster(): Raw[] {
  return [
    namespaceObject('shop'),
    ...appObjects(
      { name: 'checkout', images: ['shop/checkout:1.9.0'], replicas: 3, team: 'payments' },
      { start: '2026-11-28T06:00:00Z' },
    ),
  ];
}

const pods = (items: Raw[]) => items.filter((o) => o.kind === 'Pod');

/** The kubelet's status after an OOMKill: restarted `restarts` times, back-off waiting, last terminated OOMKilled. */
function oomKilled(pod: Raw, finishedAt: number, restarts = 4, waiting = true): Raw {
  const p = structuredClone(pod);
  const app = p.status.containerStatuses[0];
  app.restartCount = restarts;
  app.ready = !waiting;
  app.started = !waiting;
  app.state = waiting
    ? {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off 1m20s restarting failed container=app pod=${p.metadata.name}_shop(${p.metadata.uid})`,
        },
      }
    : { running: { startedAt: iso(finishedAt + 1000) } };
  app.lastState = {
    terminated: {
      containerID: `containerd://${'c'.repeat(64)}`,
      exitCode: 137,
      reason: 'OOMKilled',
      startedAt: iso(finishedAt - 90_000),
      finishedAt: iso(finishedAt),
    },
  };
  p.metadata.resourceVersion = String(Number(p.metadata.resourceVersion) + 1);
  return p;
}

/** A pod the scheduler cannot place: Pending, PodScheduled=False since `since`, no node. */
function unschedulable(pod: Raw, since: number): Raw {
  const p = structuredClone(pod);
  delete p.spec.nodeName;
  p.status = {
    phase: 'Pending',
    qosClass: 'Burstable',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.',
        lastProbeTime: null,
        lastTransitionTime: iso(since),
      },
    ],
  };
  return p;
}

function enrichment(extra: Record<string, unknown> = {}): { e: Enrichment; config: Config } {
  const config = validateConfig({ enrich: extra });
  return { e: createEnrichment(config.enrich), config };
}

/** Records that only move the clock: checkout fully available, once a minute (what k8s_cluster sends). */
function heartbeat(
  fromMs: number,
  minutes: number,
  ns = 'shop',
  deployment = 'checkout',
  resource: Record<string, string> = {},
): CapturedRecord[] {
  const out: CapturedRecord[] = [];
  for (let i = 0; i <= minutes; i++) {
    const at = fromMs + i * 60_000;
    out.push({
      topic: 'otlp_metrics',
      partition: 0,
      offset: i,
      timestamp: at,
      key: null,
      headers: {},
      value: metricsRecord([
        {
          attrs: { ...resource, 'k8s.namespace.name': ns, 'k8s.deployment.name': deployment },
          metrics: [gauge('k8s.deployment.desired', 3, at), gauge('k8s.deployment.available', 3, at)],
        },
      ]),
    });
  }
  return out;
}

async function contextsOf(records: CapturedRecord[], resolver: WorkloadResolver, config: Config) {
  const docs: IncidentContextDoc[] = [];
  const res = await replay({
    input: records,
    config,
    resolver,
    onContext: (d) => {
      assertValidContext(d);
      docs.push(d);
    },
  });
  return { docs, pipeline: res.pipeline };
}

describe('enrich: pod status as the kubelet reports it', () => {
  it('a new termination is one fact with its own time; a relist does not repeat it; old ones are history', () => {
    const { e } = enrichment();
    const items = cluster();
    const [pod] = pods(items);
    loadObjects(items, e.store, e.projector);
    assert.deepEqual(e.resolver.statusChanges(T0), [], 'healthy pods report nothing');

    const oom = oomKilled(pod!, T0 + 60_000);
    e.store.apply('MODIFIED', e.projector.project('Pod', oom)!);
    // Not before its time (a replay never sees the future)…
    assert.deepEqual(e.resolver.statusChanges(T0 + 59_999), []);
    // …then the termination and the back-off, each with the status's time.
    const facts = e.resolver.statusChanges(T0 + 61_000);
    assert.deepEqual(
      facts.map((f) => [f.kind, f.reason, f.container, f.exitCode, f.restarts, f.atMs]),
      [
        ['terminated', 'OOMKilled', 'app', 137, 4, T0 + 60_000],
        ['waiting', 'CrashLoopBackOff', 'app', 137, 4, T0 + 60_000],
      ],
    );
    assert.equal(facts[1]?.lastTerminated, 'OOMKilled');

    // The same status again (a resync, a relist's ADDED) is not news.
    e.store.apply('MODIFIED', e.projector.project('Pod', oom)!);
    e.store.apply('ADDED', e.projector.project('Pod', oom)!);
    assert.deepEqual(e.resolver.statusChanges(T0 + 120_000), []);

    // The next OOMKill is.
    e.store.apply('MODIFIED', e.projector.project('Pod', oomKilled(pod!, T0 + 200_000, 5))!);
    assert.deepEqual(
      e.resolver.statusChanges(T0 + 200_000).map((f) => [f.reason, f.restarts]),
      [
        ['OOMKilled', 5],
        ['CrashLoopBackOff', 5],
      ],
    );

    // A first list at start-up reports a termination from long ago: history, not an incident.
    const [, other] = pods(items);
    e.store.apply('ADDED', e.projector.project('Pod', oomKilled(other!, T0 - 3 * 3_600_000, 1, false))!);
    assert.deepEqual(e.resolver.statusChanges(T0 + 300_000), []);
    assert.equal(e.podStatus.stats.stale, 1);
  });

  it('an unschedulable pod is a fact from its PodScheduled condition; a waiting reason without a time is taken at once', () => {
    const { e } = enrichment();
    const items = cluster();
    const [a, b] = pods(items);
    loadObjects(items, e.store, e.projector);
    e.store.apply('MODIFIED', e.projector.project('Pod', unschedulable(a!, T0))!);
    const pull = structuredClone(b!);
    pull.status.containerStatuses[0].state = {
      waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "shop/checkout:2.0.0"' },
    };
    // No Ready condition, startTime or creationTimestamp: nothing says since when.
    pull.status.conditions = [];
    delete pull.status.startTime;
    delete pull.metadata.creationTimestamp;
    e.store.apply('MODIFIED', e.projector.project('Pod', pull)!);
    const facts = e.resolver.statusChanges(T0 - 1);
    assert.deepEqual(
      facts.map((f) => [f.kind, f.reason, f.atMs]),
      [['waiting', 'ImagePullBackOff', null]],
    );
    assert.deepEqual(
      e.resolver.statusChanges(T0).map((f) => [f.kind, f.reason, f.message, f.atMs]),
      [
        [
          'unschedulable',
          'Unschedulable',
          '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.',
          T0,
        ],
      ],
    );
  });

  it('malformed status (wrong types, unreadable times, no arrays) projects without throwing; unknown times stay unknown', () => {
    const { e } = enrichment();
    const items = cluster();
    const [pod] = pods(items);
    loadObjects(items, e.store, e.projector);
    const bad = structuredClone(pod!);
    delete bad.metadata.creationTimestamp;
    bad.status = {
      phase: 7,
      conditions: 'nope',
      containerStatuses: [
        {
          name: 'app',
          restartCount: 'many',
          state: { waiting: { reason: 'CreateContainerConfigError', message: { not: 'a string' } } },
          lastState: { terminated: { reason: 'OOMKilled', exitCode: '137', finishedAt: 'yesterday' } },
        },
        null,
      ],
    };
    e.store.apply('MODIFIED', e.projector.project('Pod', bad)!);
    const facts = e.resolver.statusChanges(T0);
    assert.deepEqual(
      facts.map((f) => [f.kind, f.reason, f.exitCode, f.restarts, f.atMs]),
      [
        ['terminated', 'OOMKilled', null, 0, null],
        ['waiting', 'CreateContainerConfigError', null, 0, null],
      ],
    );
    for (const f of facts) assert.equal(typeof f.message, 'string');
  });

  it('status only (no OOM event, no restart metric): the incident has the OOMKill, exit code 137, and the diagnosis is oom', async () => {
    const { e, config } = enrichment();
    const items = cluster();
    const [pod] = pods(items);
    const finished = T0 + 3 * 60_000;
    items[items.indexOf(pod!)] = oomKilled(pod!, finished);
    loadObjects(items, e.store, e.projector);
    const { docs, pipeline } = await contextsOf(heartbeat(T0, 10), e.resolver, config);
    assert.ok(pipeline.stats.podStatus >= 2);
    const doc = docs.filter((d) => d.scope.workload.name === 'checkout').at(-1);
    assert.ok(doc, `a checkout incident (got ${docs.map((d) => d.scope.workload.name).join(', ')})`);
    assert.deepEqual(doc.scope.workload, { kind: 'Deployment', name: 'checkout' });
    const oom = doc.evidence.find((x) => x.kind === 'restart' && /^OOMKilled/.test(x.summary));
    assert.ok(oom, doc.evidence.map((x) => x.summary).join('\n'));
    assert.match(
      oom.summary,
      /container app of pod checkout-\S+ \(exit code 137; 4 restarts; container status\)/,
    );
    assert.equal(oom.at, iso(finished), 'the status’s own time, not the clock’s');
    assert.equal(doc.window.start, iso(finished));
    // Quiet for 7 minutes, but the container is still backing off: open, and the context says why.
    assert.equal(doc.status, 'open');
    assert.deepEqual(doc.persisting && [doc.persisting.reason, doc.persisting.detail], [
      'waiting',
      `container app of pod ${pod!.metadata.name} is waiting: CrashLoopBackOff`,
    ]);
    const report = await new TriageChain({ config: config.agents }).triage(doc);
    assert.equal(report.hypotheses[0]?.cause, 'oom', JSON.stringify(report.hypotheses));
    assert.ok(report.hypotheses[0]?.evidence.includes(oom.id));
    assert.notEqual(report.hypotheses[0]?.cause, 'crash_loop');

    // Control: the same telemetry without the cluster's pod status raises nothing.
    const plain = await contextsOf(heartbeat(T0, 10), createEnrichment(config.enrich).resolver, config);
    assert.equal(plain.docs.length, 0);
  });

  it("joins the incident of the telemetry's cluster (k8s.cluster.name), not a second one under the configured name", async () => {
    const { e, config } = enrichment();
    const items = cluster();
    const [pod] = pods(items);
    items[items.indexOf(pod!)] = oomKilled(pod!, T0 + 3 * 60_000);
    loadObjects(items, e.store, e.projector);
    const records = heartbeat(T0, 10, 'shop', 'checkout', { 'k8s.cluster.name': 'prod-eu-1' });
    // The telemetry names its cluster; the pod status (no cluster of its own) joins that one.
    const { docs } = await contextsOf(records, e.resolver, config);
    assert.deepEqual(
      [...new Set(docs.map((d) => `${d.scope.cluster}/${d.scope.workload.name}`))],
      ['prod-eu-1/checkout'],
    );
  });

  it('kubetriage replay --snapshot: a pod with lastState.terminated OOMKilled is diagnosed oom, deterministically', async () => {
    const run = promisify(execFile);
    const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'kt-pod-status-'));
    const capture = join(dir, 'capture.ndjson');
    writeFileSync(capture, `${heartbeat(T0, 10).map(formatCaptureLine).join('\n')}\n`);
    const items = cluster();
    const [pod] = pods(items);
    items[items.indexOf(pod!)] = oomKilled(pod!, T0 + 2 * 60_000);
    const snap = join(dir, 'cluster.json');
    writeFileSync(snap, JSON.stringify(v1List(items)));
    const args = [BIN, 'replay', '--input', capture, '--snapshot', snap];
    const first = await run(process.execPath, args);
    const docs = first.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { schema: string });
    const reports = docs.filter((d) => d.schema === 'kubetriage.io/triage/v1') as unknown as TriageReport[];
    const checkout = reports.find((r) => r.scope.workload.name === 'checkout');
    assert.ok(checkout, first.stdout);
    assert.equal(checkout.hypotheses[0]?.cause, 'oom');
    const second = await run(process.execPath, args);
    assert.equal(second.stdout, first.stdout, 'replay output is deterministic');
  });
});

describe('scenario oom-status-only', () => {
  it('no record says OOM; the snapshot’s pod status does, and the diagnosis is oom (crash_loop without it)', async () => {
    const run = getScenario('oom-status-only').generate({ seed: 1 });
    for (const r of run.records)
      assert.ok(!Buffer.from(r.value ?? []).includes('OOMKilled'), 'a record says OOMKilled');
    const config = validateConfig({});
    const chain = new TriageChain({ config: config.agents });
    const judge = async (resolver: WorkloadResolver) => {
      const { docs } = await contextsOf(run.records, resolver, config);
      const doc = docs.filter((d) => d.scope.workload.name === 'payments').at(-1);
      assert.ok(doc, 'a payments incident');
      return (await chain.triage(doc)).hypotheses[0]?.cause;
    };
    assert.equal(await judge(snapshotResolver(run.snapshot)), 'oom');
    assert.equal(await judge(snapshotResolver(undefined)), 'crash_loop');
  });
});

describe('grouping: no resolving while the fault persists', () => {
  const failedScheduling = (pod: string, at: number): CapturedRecord => ({
    topic: 'otlp_logs',
    partition: 0,
    offset: 0,
    timestamp: at,
    key: null,
    headers: {},
    value: Buffer.from(
      encodeOtlp(
        'ExportLogsServiceRequest',
        k8sEventsRequest([
          {
            namespace: 'shop',
            reason: 'FailedScheduling',
            message: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.',
            type: 'Warning',
            object: { kind: 'Pod', name: pod },
            uid: `${pod}-failed-scheduling`,
            count: 1,
            atMs: at,
          },
        ]),
      ),
    ),
  });

  /** A pipeline on a manual clock fed like replay, over a store the test may change mid-way. */
  function live(e: Enrichment, config: Config) {
    const clock = new ManualClock(T0);
    const docs: IncidentContextDoc[] = [];
    const pipeline = new Pipeline({
      config,
      clock,
      resolver: e.resolver,
      sink: (d) => {
        assertValidContext(d);
        docs.push(d);
      },
    });
    const ledger = new OffsetLedger();
    let offset = 0;
    const feed = (r: CapturedRecord) => {
      clock.advance(r.timestamp);
      pipeline.tick();
      const p = ledger.partition(r.topic, 0);
      assert.equal(
        pipeline.ingest(r.topic, r.value, r.timestamp, {
          partition: p,
          offset: offset++,
          timestamp: r.timestamp,
        }),
        undefined,
      );
    };
    return { clock, docs, pipeline, feed };
  }

  it('a scheduling incident stays open while the pod is Pending, though no event comes for 20 minutes, and resolves once it runs', async () => {
    const { e, config } = enrichment();
    const items = cluster();
    const [pod] = pods(items);
    const pending = unschedulable(pod!, T0);
    items[items.indexOf(pod!)] = pending;
    loadObjects(items, e.store, e.projector);
    const { docs, pipeline, feed, clock } = live(e, config);
    feed(failedScheduling(pending.metadata.name, T0 + 5_000));
    for (const r of heartbeat(T0 + 60_000, 25)) feed(r);
    const ours = docs.filter((d) => d.scope.workload.name === 'checkout');
    assert.ok(ours.length > 0);
    assert.ok(!ours.some((d) => d.status === 'resolved'), 'never resolved while Pending');
    const last = ours.at(-1)!;
    assert.equal(last.status, 'open');
    assert.equal(last.persisting?.reason, 'unschedulable');
    assert.match(last.persisting?.detail ?? '', /is Pending: Unschedulable: 0\/3 nodes are available/);
    assert.ok(clock.now() - Date.parse(last.window.end) >= 20 * 60_000, 'no problem signal for 20 minutes');
    assert.equal(pipeline.grouper.stats.deferred.unschedulable, 1);
    assert.equal(pipeline.grouper.open, 1);

    // The scheduler places it and the kubelet starts it: the next check resolves the incident.
    e.store.apply('MODIFIED', e.projector.project('Pod', pod!)!);
    for (const r of heartbeat(clock.now() + 60_000, 2)) feed(r);
    const final = docs.filter((d) => d.scope.workload.name === 'checkout').at(-1)!;
    assert.equal(final.status, 'resolved');
    assert.equal(final.persisting, null);
    assert.equal(pipeline.grouper.open, 0);
  });

  it('the same from a snapshot in replay: open after 20 quiet minutes, saying why', async () => {
    const { e, config } = enrichment();
    const items = cluster();
    const [pod] = pods(items);
    const pending = unschedulable(pod!, T0);
    items[items.indexOf(pod!)] = pending;
    loadObjects(items, e.store, e.projector);
    const { docs } = await contextsOf(
      [failedScheduling(pending.metadata.name, T0 + 5_000), ...heartbeat(T0 + 60_000, 25)],
      e.resolver,
      config,
    );
    const ours = docs.filter((d) => d.scope.workload.name === 'checkout');
    assert.ok(!ours.some((d) => d.status === 'resolved'));
    assert.equal(ours.at(-1)?.persisting?.reason, 'unschedulable');
    // The pod status is evidence of its own (the scheduler's condition, not an Event).
    assert.ok(ours.at(-1)?.evidence.some((x) => x.kind === 'pod_status' && /Unschedulable/.test(x.summary)));
  });

  it('without enrichment, the last replica counts decide; stale counts do not hold an incident open', () => {
    const config = validateConfig({});
    const clock = new ManualClock(T0);
    const docs: IncidentContextDoc[] = [];
    const g = new IncidentGrouper(config.grouping, clock, (d) => docs.push(d));
    const scope = {
      cluster: 'default',
      namespace: 'shop',
      workload: { kind: 'Deployment', name: 'checkout' },
    };
    const sample = (name: string, value: number, atMs: number): MetricSignal => ({
      type: 'metric',
      cluster: 'default',
      namespace: 'shop',
      pod: '',
      node: '',
      workload: scope.workload,
      atMs,
      name,
      value,
      series: '',
      detail: '',
    });
    g.absorb(
      scope,
      blankUpdate('k8s_event', 'k8s_event|Pod/x|FailedScheduling', T0, 'FailedScheduling'),
      undefined,
    );
    for (let m = 1; m <= 20; m++) {
      clock.advance(T0 + m * 60_000);
      if (m <= 12) {
        g.noteWorkloadState(scope, sample('k8s.deployment.desired', 3, clock.now()));
        g.noteWorkloadState(scope, sample('k8s.deployment.available', 1, clock.now()));
      }
      g.tick();
    }
    const held = docs.find((d) => d.persisting !== null);
    assert.equal(held?.persisting?.reason, 'unavailable');
    assert.match(held?.persisting?.detail ?? '', /^1 of 3 replicas available/);
    // The counts stopped at minute 12: five minutes later they no longer say anything; it resolves.
    assert.equal(docs.at(-1)?.status, 'resolved');
    assert.ok(Date.parse(docs.at(-1)!.timings.resolved!) >= T0 + 17 * 60_000);
  });
});
