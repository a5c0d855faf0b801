// Fault: the Kafka broker dies under a running `kubetriage run` (issue 14, defect 3c). Its own broker
// (it is killed), its own topics and groups, `run` as a child process as an operator starts it.
// (a) Killed mid-stream with SIGKILL and restarted after 20 s while the Collector side keeps
//     producing: no restart of kubetriage, every input offset in some context's `sources`, /healthz
//     answering throughout, /readyz false while the broker is away and true again after.
// (b) SIGTERM while the broker is down: exits within shutdown.grace, says what it could not commit,
//     and a later instance re-reads those records (at-least-once).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { type KafkaBroker, startKafkaBroker } from '../harness/kafka-broker.ts';
import {
  committedOffsets,
  consumeAll,
  type TestTopics,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';
import { assertValidContext } from '../helpers/schema.ts';
import {
  endOffsets,
  metricSum,
  percentile,
  probe,
  type RunChild,
  SteadyProducer,
  startRun,
  withLog,
} from './run-child.ts';

const PARTITIONS = 3;
const WORKLOADS = ['checkout', 'cart'];
const OUTAGE_MS = 20_000;

let broker: KafkaBroker;
const children: RunChild[] = [];
const feeds: SteadyProducer[] = [];
before(async () => {
  broker = await startKafkaBroker();
  // This file's helpers (topics, produce, consume, committed offsets) talk to this broker.
  process.env.KAFKA_BROKERS = broker.brokers;
});
after(async () => {
  for (const c of children) if (c.alive()) c.child.kill('SIGKILL');
  await Promise.all(feeds.map((f) => f.close().catch(() => {})));
  await broker?.stop();
});

/** Record i: one Collector batch with one BackOff event per workload, the Event's count i + 1. */
function record(i: number, at: number): Buffer {
  return encodeOtlp(
    'ExportLogsServiceRequest',
    k8sEventsRequest(
      WORKLOADS.map((w) => ({
        namespace: 'shop',
        reason: 'BackOff',
        message: `Back-off restarting failed container app in pod ${w}-7d9f8c6b5-x2kqz`,
        type: 'Warning' as const,
        object: { kind: 'Pod', name: `${w}-7d9f8c6b5-x2kqz`, fieldPath: 'spec.containers{app}' },
        uid: `ev-${w}`,
        count: i + 1,
        atMs: at,
      })),
    ),
  );
}

function runConfig(t: TestTopics, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    log: { level: 'info' },
    grouping: { groupWait: '200ms', groupInterval: '300ms', resolveTimeout: '1h' },
    kafka: {
      brokers: [broker.brokers],
      groupId: t.group,
      commitInterval: '200ms',
      topics: {
        logs: [t.logs],
        metrics: [t.metrics],
        traces: [t.traces],
        contexts: t.contexts,
        dlq: t.dlq,
        triage: unique('triage'),
      },
    },
    ...extra,
  };
}

async function committedTotal(t: TestTopics): Promise<number> {
  let n = 0;
  for (const o of (await committedOffsets(t.group, t.logs, PARTITIONS)).values()) if (o > 0) n += o;
  return n;
}

function readContexts(records: { value: Buffer | null }[]): IncidentContextDoc[] {
  return records.map((r) => JSON.parse(r.value!.toString()) as IncidentContextDoc);
}

/** The offset of every record of every partition is in some context of each workload. */
function assertCovered(docs: IncidentContextDoc[], topic: string, ends: Map<number, number>): void {
  for (const w of WORKLOADS) {
    const mine = docs.filter((d) => d.scope.workload.name === w);
    assert.equal(new Set(mine.map((d) => d.id)).size, 1, `${w}: one incident id`);
    for (const [p, end] of ends) {
      const covered = new Uint8Array(end);
      for (const d of mine)
        for (const s of d.sources)
          if (s.topic === topic && s.partition === p)
            for (const [from, to] of s.ranges) covered.fill(1, from, to + 1);
      const missing = covered.indexOf(0);
      assert.equal(missing, -1, `${w}: offset ${missing} of partition ${p} (of ${end}) is in no context`);
    }
  }
}

describe('fault: the Kafka broker goes away under kubetriage run', { timeout: 400_000 }, () => {
  it('killed mid-stream and restarted after 20 s: nothing lost, /healthz answers, /readyz reflects it', {
    timeout: 300_000,
  }, async (t) => {
    const topics = await testTopics(PARTITIONS);
    const feed = new SteadyProducer(broker.brokers, topics.logs, PARTITIONS, record);
    feeds.push(feed);
    await feed.start(200);
    // KT_FAULT_DEBUG=1: librdkafka's fetch and group debug log in the run log (KT_DEBUG_KAFKA).
    const debug = process.env.KT_FAULT_DEBUG === '1';
    const cfg = runConfig(topics);
    if (debug)
      (cfg.kafka as Record<string, unknown>).librdkafka = { debug: 'fetch,cgrp,topic', log_level: 7 };
    const run = await startRun(cfg, debug ? { KT_DEBUG_KAFKA: '1' } : {});
    children.push(run);
    // Every 5 s: records produced and acknowledged, records the service has read.
    const progress: string[] = [];
    const sampler = setInterval(() => {
      void metricSum(run.port, 'kubetriage_records_total')
        .then((read) =>
          progress.push(
            `${Math.round((Date.now() - startedAt) / 1000)}s produced ${feed.produced} read ${read}`,
          ),
        )
        .catch(() => {});
    }, 5000);
    sampler.unref();
    const startedAt = Date.now();
    const health = probe(run.port, '/healthz', 50);
    const ready = probe(run.port, '/readyz', 200);

    await waitFor(async () => (await committedTotal(topics)) >= 500, 60_000, 'progress before the kill');
    await waitFor(() => ready.samples.at(-1)?.status === 200, 30_000, '/readyz ready before the kill');
    const killedAt = Date.now();
    await broker.kill();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    assert.ok(run.alive(), 'kubetriage is still running after 20 s without a broker');
    const restartAt = Date.now();
    await broker.restart();
    const restartedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const fed = await feed.stop();
    assert.deepEqual(fed.failed, [], 'the Collector side lost nothing either');
    // Everything committed: up to each partition's end (a producer retrying through the outage may
    // have written a record twice, so the end can be past the count produced).
    const ends = await endOffsets(broker.brokers, topics.logs, PARTITIONS);
    const sumEnds = [...ends.values()].reduce((a, b) => a + b, 0);
    assert.ok(sumEnds >= fed.produced);
    await withLog(
      run,
      waitFor(async () => (await committedTotal(topics)) === sumEnds, 180_000, 'everything committed'),
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nprogress: ${progress.join('; ')}`);
    });
    clearInterval(sampler);
    const caughtUpAt = Date.now();
    // Ready again for good: the first ready answer after the last not-ready one (the group may hand
    // partitions back only after session.timeout.ms, and /readyz says so meanwhile).
    // The group may still be settling when the last commit lands: wait for /readyz to say ready.
    await withLog(
      run,
      waitFor(() => ready.samples.at(-1)?.status === 200, 60_000, '/readyz ready after catching up'),
    );
    const lastNotReady = ready.samples.findLast((s) => s.status !== 200);
    const readyAgainAt = ready.samples.find((s) => s.at > (lastNotReady?.at ?? 0) && s.status === 200)?.at;
    // Compared with the start of the restart: the service can reconnect and answer ready before
    // broker.restart() returns (CI saw that once), and no broker was reachable before restartAt.
    assert.ok(
      readyAgainAt !== undefined && readyAgainAt > restartAt,
      `ready again after the restart (ready again at ${readyAgainAt}, restart began at ${restartAt})`,
    );
    health.stop();
    ready.stop();
    assert.ok(run.alive(), 'never restarted');

    // /readyz: not ready while the broker was away, saying why; ready again after.
    const during = ready.samples.filter((s) => s.at > killedAt + 5000 && s.at < restartAt);
    assert.ok(during.length > 10);
    assert.ok(
      during.every((s) => s.status === 503),
      `not ready throughout the outage: ${JSON.stringify(during.filter((s) => s.status !== 503).slice(0, 3))}`,
    );
    assert.ok(
      during.some((s) => (s.body?.reasons as string[] | undefined)?.includes('kafka brokers unreachable')),
      JSON.stringify(during.at(-1)),
    );
    // Never "ready" while waiting for partitions longer than kafka.readiness.assignmentTimeout (10 s).
    const idleReady = ready.samples.filter(
      (s) =>
        s.at > killedAt &&
        s.status === 200 &&
        Number(s.body?.assignedPartitions) === 0 &&
        Number(s.body?.awaitingAssignmentForMs ?? 0) > 10_000,
    );
    assert.deepEqual(idleReady, [], 'ready without partitions past the assignment timeout');
    // /healthz: every probe answered 200; the bound is loose (a loaded 2-core machine), the figure is reported.
    const lat = health.samples.map((s) => s.ms);
    const failed = health.samples.filter((s) => s.status !== 200);
    assert.deepEqual(failed, [], '/healthz answered every probe');
    const figures = {
      produced: fed.produced,
      written: sumEnds,
      healthzProbes: lat.length,
      healthzP50Ms: +percentile(lat, 50).toFixed(1),
      healthzP99Ms: +percentile(lat, 99).toFixed(1),
      healthzMaxMs: +Math.max(...lat).toFixed(1),
      notReadyAfterKillMs:
        (ready.samples.find((s) => s.at > killedAt && s.status === 503)?.at ?? Number.NaN) - killedAt,
      brokerRestartMs: restartedAt - restartAt,
      readyAgainAfterBrokerReadyMs: readyAgainAt - restartedAt,
      caughtUpAfterBrokerReadyMs: caughtUpAt - restartedAt,
    };
    t.diagnostic(`broker outage figures ${JSON.stringify(figures)}`);
    const rel = (at: number) => `${((at - killedAt) / 1000).toFixed(1)}s`;
    const slowest = [...health.samples].sort((a, b) => b.ms - a.ms).slice(0, 5);
    t.diagnostic(
      `slowest /healthz (time after the kill: ms): ${slowest.map((s) => `${rel(s.at)}: ${s.ms.toFixed(0)}`).join(', ')}; broker back at ${rel(restartedAt)}`,
    );
    const timeline = run
      .log()
      .split('\n')
      .filter((l) =>
        /partitions (assigned|revoked)|brokers (unreachable|reachable)|commits succeed again/.test(l),
      )
      .map((l) => JSON.parse(l) as { time: number; msg: string })
      .map((l) => `${rel(l.time)} ${l.msg.split(':')[0]}`);
    t.diagnostic(`timeline after the kill: ${timeline.join('; ')}`);
    assert.ok(figures.healthzMaxMs < 1000, `/healthz max ${figures.healthzMaxMs} ms`);

    run.child.kill('SIGTERM');
    const end = await run.exited;
    assert.equal(end.code, 0, `clean stop after recovery:\n${run.log().slice(-2000)}`);

    // Nothing lost: every offset of every partition is in some context's sources. Every context on the
    // topic: an 8 s read could miss the latest ones when the reader joined slowly.
    const docs = readContexts(await consumeAll(topics.contexts));
    for (const d of docs) assertValidContext(d);
    assertCovered(docs, topics.logs, ends);
    for (const w of WORKLOADS) {
      const last = docs.filter((d) => d.scope.workload.name === w).at(-1)!;
      assert.equal(
        last.evidence.find((e) => e.kind === 'k8s_event')?.count,
        fed.produced,
        `${w}: latest count`,
      );
      assert.ok(last.stats.signals >= fed.produced, `${w}: every record counted at least once`);
    }
    const log = run.log();
    assert.match(log, /kafka brokers unreachable/);
    assert.match(log, /kafka brokers reachable again/);
  });

  it('SIGTERM while the broker is down exits within shutdown.grace and says what it could not commit', {
    timeout: 240_000,
  }, async (t) => {
    const topics = await testTopics(PARTITIONS);
    const RECORDS = 300;
    const feed = new SteadyProducer(broker.brokers, topics.logs, PARTITIONS, record);
    feeds.push(feed);
    await feed.start(300);
    await waitFor(() => feed.produced >= RECORDS, 10_000, 'records produced');
    // Contexts wait group_wait (30 s), so at SIGTERM their records are still uncommitted.
    const cfg = runConfig(topics, { shutdown: { grace: '10s' } });
    (cfg.grouping as Record<string, unknown>).groupWait = '30s';
    const fed = await feed.stop();
    const run = await startRun(cfg);
    children.push(run);
    await waitFor(
      async () => (await metricSum(run.port, 'kubetriage_records_total')) >= fed.produced,
      60_000,
      'records read',
    );
    await broker.kill();
    await waitFor(
      async () => (await metricSum(run.port, 'kubetriage_kafka_brokers_reachable')) === 0,
      30_000,
      'the service sees the broker gone',
    );
    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    const end = await run.exited;
    const exitMs = Date.now() - signalledAt;
    t.diagnostic(`SIGTERM with the broker down: exit ${end.code} after ${exitMs} ms (grace 10000 ms)`);
    assert.ok(exitMs < 10_000 + 1500, `exited ${exitMs} ms after SIGTERM`);
    assert.equal(end.code, 1, 'exit 1: records left uncommitted');
    const stopped = run
      .log()
      .split('\n')
      .filter((l) => l.includes('stopped with records not committed'))
      .map(
        (l) => JSON.parse(l) as { uncommitted: { topic: string; processed: number }[]; leftGroup: boolean },
      );
    assert.equal(stopped.length, 1, run.log().slice(-3000));
    const uncommitted = stopped[0]!.uncommitted.filter((u) => u.topic === topics.logs);
    assert.equal(
      uncommitted.reduce((n, u) => n + u.processed, 0),
      fed.produced,
      'names every processed record',
    );
    assert.equal(stopped[0]!.leftGroup, false);

    // At-least-once: with the broker back, the next instance reads them again and emits their contexts.
    await broker.restart();
    const second = await startRun(runConfig(topics));
    children.push(second);
    await waitFor(
      async () => (await committedTotal(topics)) === fed.produced,
      120_000,
      'the next instance commits all',
    );
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
    // Every context on the topic, not what a 5 s read got.
    const docs = readContexts(await consumeAll(topics.contexts));
    assertCovered(docs, topics.logs, await committedOffsets(topics.group, topics.logs, PARTITIONS));
  });
});
