// Scale-out on a real broker with real `kubetriage run` processes (scaleOut.enabled): ingest on every
// replica, one owner per incident scope through the repartition topic, owner state rebuilt per
// partition. Whatever happens to the replicas (SIGKILL, a fourth joining, a rolling restart, a crash
// between sending contexts and committing), the result must be what one process replaying the same
// input gives: one incident per workload, revisions that never go back, every input offset in some
// context's provenance, and exactly the same evidence counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafka from '@confluentinc/kafka-javascript';
import { type Config, type ConfigInput, DEFAULT_ANOMALIES, validateConfig } from '../../src/core/config.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { decodeSignalsBatch } from '../../src/stream/scaleout/codec.ts';
import { keyPartitioner } from '../../src/stream/scaleout/partitioner.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { type RunChild, startRun } from '../fault/run-child.ts';
import {
  brokers,
  committedOffsets,
  consumeAll,
  consumeUntil,
  produce,
  type TestTopics,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';
import { logsRecord, nanos, POD_ATTRS } from '../helpers/otlp.ts';
import { assertValidContext } from '../helpers/schema.ts';

const INPUT_PARTITIONS = 3;
const SIGNALS_PARTITIONS = 6;
const WORKLOADS = Array.from({ length: 18 }, (_, i) => `w${String(i).padStart(2, '0')}`);
const pod = (w: string) => `${w}-7d9f8c6b5-x2kqz`;

interface Input {
  topic: keyof Pick<TestTopics, 'logs' | 'metrics' | 'traces'>;
  partition: number;
  timestamp: number;
  value: Buffer;
  /** Opens or joins its incident whatever the order (decisive events): must be in some context's sources. */
  decisive?: boolean;
}

/**
 * Many workloads, each with a crash-looping pod (Warning events with cumulative counts: decisive) and
 * ERROR log lines (plain counts), plus one simulated cascade scenario (spans, logs, metrics).
 */
function inputStream(records: number, start: number): Input[] {
  const out: Input[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < records; i++) {
    const at = start + i * 100;
    const partition = i % INPUT_PARTITIONS;
    if (i % 3 !== 2) {
      const events = [0, 1, 2].map((k) => {
        const w = WORKLOADS[(i * 7 + k * 5) % WORKLOADS.length]!;
        const count = (counts.get(w) ?? 0) + 1;
        counts.set(w, count);
        return {
          namespace: 'shop',
          reason: 'BackOff',
          message: `Back-off restarting failed container app in pod ${pod(w)}`,
          type: 'Warning' as const,
          object: { kind: 'Pod', name: pod(w), fieldPath: 'spec.containers{app}' },
          uid: `ev-${w}`,
          count,
          atMs: at,
        };
      });
      out.push({ topic: 'logs', partition, timestamp: at, value: encodeEvents(events), decisive: true });
    } else {
      const w = WORKLOADS[i % WORKLOADS.length]!;
      const value = logsRecord([
        {
          attrs: POD_ATTRS('shop', w, pod(w)),
          records: [`payment ${i} failed: upstream 503`, `retry ${i} failed`].map((body) => ({
            timeUnixNano: nanos(at),
            severityNumber: 17,
            severityText: 'ERROR',
            body: { stringValue: body },
          })),
        },
      ]);
      out.push({ topic: 'logs', partition, timestamp: at, value });
    }
  }
  // The Collector's kafka exporter with partition_metrics_by_resource_attributes: a container's resource
  // changes with each restart (container.id, last_terminated_reason), so its restart counter's samples
  // hop partitions and reach an owner in another order than their times (stream/counter-runs.ts).
  const sim = getScenario('cascade').generate({
    seed: 3,
    start,
    collector: { partitions: INPUT_PARTITIONS, partitionMetricsByResource: true },
  });
  for (const r of sim.records) {
    const topic = r.topic === 'otlp_logs' ? 'logs' : r.topic === 'otlp_metrics' ? 'metrics' : 'traces';
    out.push({ topic, partition: r.partition, timestamp: r.timestamp, value: r.value });
  }
  return out;
}

const encodeEvents = (events: Parameters<typeof k8sEventsRequest>[0]): Buffer =>
  encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events));

function scaleOutConfig(t: TestTopics, signals: string, changelog: string, extra: ConfigInput = {}) {
  return {
    log: { level: 'info' },
    // Run and replay differ by their clocks, in one process as in several: span buckets close on the
    // wall clock in `run` and on record time in `replay`, and the dedup window runs on the same clocks.
    // Neither is what this test is about, so the span-derived rules are off and the window is a day.
    dedup: { window: '24h' },
    anomalies: DEFAULT_ANOMALIES.filter((r) => r.name !== 'latency-p99-up' && r.name !== 'error-rate-up'),
    grouping: { groupWait: '200ms', groupInterval: '300ms', resolveTimeout: '1h', restore: false },
    ...extra,
    kafka: {
      brokers: brokers().split(','),
      groupId: t.group,
      batchSize: 50,
      commitInterval: '200ms',
      topics: { logs: [t.logs], metrics: [t.metrics], traces: [t.traces], contexts: t.contexts, dlq: t.dlq },
      librdkafka: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000 },
      ...(extra.kafka as object | undefined),
    },
    scaleOut: { enabled: true, partitions: SIGNALS_PARTITIONS, topics: { signals, changelog } },
  };
}

/** Produces input records to their partitions. */
async function produceInput(t: TestTopics, input: Input[]): Promise<void> {
  for (const kind of ['logs', 'metrics', 'traces'] as const) {
    const mine = input.filter((r) => r.topic === kind);
    if (mine.length > 0)
      await produce(
        t[kind],
        mine.map((r) => ({ value: r.value, partition: r.partition, timestamp: r.timestamp })),
      );
  }
}

/** All of `input` as it is on the broker (offsets), in record-time order: what one process replays. */
async function captureOf(
  t: TestTopics,
  input: Input[],
): Promise<{ capture: CapturedRecord[]; decisive: string[] }> {
  const decisive: string[] = [];
  const byValue = new Map(input.map((r) => [r.value.toString('base64'), r]));
  const capture: CapturedRecord[] = [];
  for (const kind of ['logs', 'metrics', 'traces'] as const) {
    const n = input.filter((r) => r.topic === kind).length;
    const back = await consumeUntil(t[kind], (rs) => rs.length >= n, 60_000);
    assert.equal(back.length, n, `${kind} read back`);
    for (const r of back) {
      const src = byValue.get(r.value!.toString('base64'))!;
      if (src.decisive) decisive.push(`${r.topic}\u0000${r.partition}\u0000${r.offset}`);
      capture.push({
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp: src.timestamp,
        key: null,
        headers: {},
        value: r.value!,
      });
    }
  }
  // One process consumes in record-time order.
  capture.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
  return { capture, decisive };
}

async function replayed(config: Config, capture: CapturedRecord[]): Promise<Map<string, IncidentContextDoc>> {
  const latest = new Map<string, IncidentContextDoc>();
  await replay({
    input: capture,
    config,
    resolver: new NamePatternResolver(),
    onContext: (doc) => {
      latest.set(doc.id, doc);
    },
  });
  return latest;
}

/**
 * What one process gives replaying the input in the order the owners consumed it: per signals
 * partition, the input records in the order their signals first reached it (re-deliveries dropped),
 * keeping the incidents of the scopes that partition holds. What a record joins can depend on the order
 * of a workload's records across topics (which sub-floor records were held before the incident opened:
 * `context` flags, `sources`), in one process as in several: this is the replay a scale-out run must
 * match exactly, whatever was killed or restarted. Its counts are also the time-ordered replay's (last test).
 */
async function replayedAsConsumed(
  config: Config,
  capture: CapturedRecord[],
  signalsTopic: string,
): Promise<Map<string, IncidentContextDoc>> {
  const byKey = new Map(capture.map((r) => [`${r.topic}\u0000${r.partition}\u0000${r.offset}`, r]));
  const hw = await highWatermarks(signalsTopic, SIGNALS_PARTITIONS);
  const total = [...hw.values()].reduce((a, b) => a + b, 0);
  const records = await consumeUntil(signalsTopic, (rs) => rs.length >= total, 60_000);
  assert.equal(records.length, total, 'signals topic read back');
  const out = new Map<string, IncidentContextDoc>();
  for (let p = 0; p < SIGNALS_PARTITIONS; p++) {
    const mine = records.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
    const order: CapturedRecord[] = [];
    const seen = new Set<string>();
    for (const r of mine) {
      const groups = decodeSignalsBatch(r.value ?? null);
      assert.ok(groups, 'a signals record the owners can read');
      for (const { src } of groups) {
        const key = `${src.topic}\u0000${src.partition}\u0000${src.offset}`;
        if (seen.has(key)) continue;
        seen.add(key);
        order.push(byKey.get(key)!);
      }
    }
    // The partition holds the scopes whose key hashes to it, as the producer's partitioner would put them.
    for (const d of (await replayed(config, order)).values())
      if (partitionOf(workloadOf(d), SIGNALS_PARTITIONS) === p) out.set(workloadOf(d), d);
  }
  return out;
}

async function highWatermarks(topic: string, partitions: number): Promise<Map<number, number>> {
  const c = new kafka.KafkaConsumer(
    { 'bootstrap.servers': brokers(), 'group.id': unique('hw'), log_level: 3 } as never,
    {},
  );
  await new Promise<void>((resolve, reject) => c.connect({}, (err) => (err ? reject(err) : resolve())));
  try {
    const out = new Map<number, number>();
    for (let p = 0; p < partitions; p++)
      out.set(
        p,
        await new Promise<number>((resolve, reject) =>
          c.queryWatermarkOffsets(topic, p, 10_000, (err, w) => (err ? reject(err) : resolve(w.highOffset))),
        ),
      );
    return out;
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

const partitionOf = keyPartitioner();
const workloadOf = (d: IncidentContextDoc) =>
  `${d.scope.cluster}/${d.scope.namespace}/${d.scope.workload.kind}/${d.scope.workload.name}`;

async function allCommitted(group: string, topic: string, partitions: number, ends: Map<number, number>) {
  const c = await committedOffsets(group, topic, partitions);
  for (const [p, end] of ends) if ((c.get(p) ?? -1) < end) return false;
  return true;
}

function endsOf(capture: CapturedRecord[], topic: string): Map<number, number> {
  const ends = new Map<number, number>();
  for (const r of capture)
    if (r.topic === topic) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
  return ends;
}

/** Reads every context, checks the invariants against the single-process replay, returns the docs. */
async function checkAgainstReplay(
  t: TestTopics,
  capture: CapturedRecord[],
  decisive: string[],
  config: Config,
  log: () => string,
): Promise<IncidentContextDoc[]> {
  // Every context on the topic (a 6 s read missed the latest revisions when the reader joined slowly).
  const records = await consumeAll(t.contexts);
  const docs = records.map((r) => JSON.parse(r.value!.toString()) as IncidentContextDoc);
  assert.ok(docs.length > 0, 'contexts were sent');
  for (const d of docs) assertValidContext(d);

  // One incident id per workload.
  const ids = new Map<string, Set<string>>();
  for (const d of docs) {
    const w = workloadOf(d);
    if (!ids.has(w)) ids.set(w, new Set());
    ids.get(w)!.add(d.id);
  }
  for (const [w, set] of ids) assert.equal(set.size, 1, `${w}: one incident id, got ${[...set].join(', ')}`);

  // Revisions never go back (contexts are keyed by id: one partition, in the order they were sent).
  const lastRev = new Map<string, number>();
  for (const d of docs) {
    const prev = lastRev.get(d.id) ?? 0;
    assert.ok(d.revision >= prev, `${d.id}: revision ${d.revision} after ${prev}`);
    lastRev.set(d.id, d.revision);
  }

  const mine = new Map<string, IncidentContextDoc>();
  // By workload: an incident's id hashes its first signal, and which signal comes first depends on how
  // input partitions interleave (as for one process consuming them live).
  for (const d of docs)
    if ((mine.get(workloadOf(d))?.revision ?? -1) <= d.revision) mine.set(workloadOf(d), d);
  const counts = (d: IncidentContextDoc) => Object.fromEntries(d.evidence.map((e) => [e.key, e.count]));

  // Exactly what one process replaying the input in the owners' order gives: same incidents, same counts.
  const asConsumed = await replayedAsConsumed(config, capture, config.scaleOut.topics.signals);
  assert.deepEqual(
    [...mine.keys()].sort(),
    [...asConsumed.keys()].sort(),
    'the same incidents as one replaying process',
  );
  for (const [w, want] of asConsumed)
    assert.deepEqual(counts(mine.get(w)!), counts(want), `${w}: evidence counts\n${log().slice(-2000)}`);

  // The synthetic workloads' counts do not depend on the order (cumulative Event counts, log lines
  // counted once each): exactly the time-ordered replay's.
  const inTimeOrder = new Map([...(await replayed(config, capture)).values()].map((d) => [workloadOf(d), d]));
  for (const w of WORKLOADS) {
    const key = `default/shop/Deployment/${w}`;
    assert.ok(inTimeOrder.has(key) && mine.has(key), `${key}: an incident in both`);
    assert.deepEqual(
      counts(mine.get(key)!),
      counts(inTimeOrder.get(key)!),
      `${key}: evidence counts in time order`,
    );
  }
  lastRun = { mine, inTimeOrder };

  // Every record that contributes whatever the order is in some context's sources. (A sub-floor record
  // that arrives before its incident opens is held without its offset by design, stream/README.md:
  // which ones those are depends on how partitions interleave, in one process as in several.)
  const covered = (topic: string, partition: number, offset: number) =>
    docs.some((d) =>
      (d.sources ?? []).some(
        (s) =>
          s.topic === topic &&
          s.partition === partition &&
          s.ranges.some(([a, b]) => offset >= a && offset <= b),
      ),
    );
  const needed = new Set(decisive);
  const missing = [...needed].filter((k) => {
    const [topic, partition, offset] = k.split('\u0000');
    return !covered(topic!, Number(partition), Number(offset));
  });
  assert.deepEqual(missing, [], 'every contributing input offset is in some context');
  return docs;
}

/**
 * Waits until the contexts topic has gone quiet (no new context for 3 s, at least one at or after the
 * offsets `since`), and returns those contexts with the latest per workload and the topic's ends.
 */
async function settledContexts(
  t: TestTopics,
  since: Map<number, number>,
): Promise<{
  ends: Map<number, number>;
  docs: IncidentContextDoc[];
  latest: Map<string, IncidentContextDoc>;
}> {
  const fresh = (r: { partition: number; offset: number }) => r.offset >= (since.get(r.partition) ?? 0);
  let last = -1;
  let stableSince = Date.now();
  let records: Awaited<ReturnType<typeof consumeUntil>> = [];
  await waitFor(
    async () => {
      // All the topic holds at each look: a partial read could pass for a quiet topic.
      records = await consumeAll(t.contexts);
      if (records.length !== last) {
        last = records.length;
        stableSince = Date.now();
      }
      return records.some(fresh) && Date.now() - stableSince > 3000;
    },
    120_000,
    'contexts to settle',
  );
  const ends = new Map<number, number>();
  for (const r of records) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
  const docs = records.filter(fresh).map((r) => JSON.parse(r.value!.toString()) as IncidentContextDoc);
  const latest = new Map<string, IncidentContextDoc>();
  for (const d of docs)
    if ((latest.get(workloadOf(d))?.revision ?? -1) <= d.revision) latest.set(workloadOf(d), d);
  return { ends, docs, latest };
}

/** Every context at or after the offsets `since`, and the latest per workload. */
async function contextsSince(
  t: TestTopics,
  since: Map<number, number>,
): Promise<{ docs: IncidentContextDoc[]; latest: Map<string, IncidentContextDoc> }> {
  // Every context on the topic, not what a 3 s read got (the latest revision could be missing).
  const records = await consumeAll(t.contexts);
  const docs = records
    .filter((r) => r.offset >= (since.get(r.partition) ?? 0))
    .map((r) => JSON.parse(r.value!.toString()) as IncidentContextDoc);
  const latest = new Map<string, IncidentContextDoc>();
  for (const d of docs)
    if ((latest.get(workloadOf(d))?.revision ?? -1) <= d.revision) latest.set(workloadOf(d), d);
  return { docs, latest };
}

/** The first test's result, for the time-order comparison of the scenario's workloads (todo below). */
let lastRun:
  | { mine: Map<string, IncidentContextDoc>; inTimeOrder: Map<string, IncidentContextDoc> }
  | undefined;

describe('scale-out (scaleOut.enabled) with several kubetriage run processes', () => {
  it('kill one of three, add a fourth, roll all: one incident per workload, counts exactly as one replaying process', {
    timeout: 600_000,
  }, async () => {
    const t = await testTopics(INPUT_PARTITIONS);
    const signals = unique('signals');
    const changelog = unique('changelog');
    const cfgFile = scaleOutConfig(t, signals, changelog);
    const input = inputStream(900, Date.now() - 20 * 60_000);
    const half = Math.floor(input.length / 2);
    await produceInput(t, input.slice(0, half));
    const runs: RunChild[] = [];
    const everyRun: RunChild[] = [];
    const start = async () => {
      const r = await startRun(cfgFile);
      everyRun.push(r);
      return r;
    };
    const logs = () => everyRun.map((r) => r.log()).join('');
    try {
      for (let i = 0; i < 3; i++) runs.push(await start());
      // Mid-stream: some input committed, not all.
      await waitFor(
        async () => {
          const c = await committedOffsets(t.group, t.logs, INPUT_PARTITIONS);
          return [...c.values()].some((o) => o > 0);
        },
        120_000,
        'ingest progress',
      );
      // SIGKILL while the second half streams in.
      const producing = produceInput(t, input.slice(half));
      runs[0]!.child.kill('SIGKILL');
      await runs[0]!.exited;
      const atKill = await committedOffsets(t.group, t.logs, INPUT_PARTITIONS);
      await producing;
      runs.push(await start());
      // Roll the survivors and the newcomer one by one (SIGTERM, then a fresh process).
      for (let i = 1; i < runs.length; i++) {
        const r = runs[i]!;
        r.child.kill('SIGTERM');
        await r.exited;
        runs[i] = await start();
      }
      runs[0] = await start();
      const { capture, decisive } = await captureOf(t, input);
      const logsEnd = endsOf(capture, t.logs);
      assert.ok(
        [...atKill].some(([p, o]) => o < (logsEnd.get(p) ?? 0)),
        `killed mid-stream (committed ${JSON.stringify([...atKill])})`,
      );
      for (const kind of ['logs', 'metrics', 'traces'] as const)
        await waitFor(
          () => allCommitted(t.group, t[kind], INPUT_PARTITIONS, endsOf(capture, t[kind])),
          240_000,
          `every ${kind} record ingested and committed`,
        );
      // Every signals record applied and its outputs acknowledged before its offset was committed. Wait
      // for the owners before stopping: stopping all at once rebalances, and a partition handed over
      // during the shutdown is (rightly) left for the next start, not processed by a stopping replica.
      const hw = await highWatermarks(signals, SIGNALS_PARTITIONS);
      const written = new Map([...hw].filter(([, end]) => end > 0));
      await waitFor(
        () => allCommitted(`${t.group}-owners`, signals, SIGNALS_PARTITIONS, written),
        240_000,
        'every signals record applied and committed by its owner',
      );
      for (const r of runs) r.child.kill('SIGTERM');
      for (const r of runs) assert.equal((await r.exited).code, 0, `clean stop\n${r.log().slice(-2000)}`);
      const owners = await committedOffsets(`${t.group}-owners`, signals, SIGNALS_PARTITIONS);
      for (const [p, end] of hw)
        if (end > 0) assert.equal(owners.get(p), end, `signals partition ${p} committed`);
      const config = validateConfig(scaleOutConfig(t, signals, changelog) as ConfigInput);
      await checkAgainstReplay(t, capture, decisive, config, logs);
      // Owners that took partitions over rebuilt their state from the records already committed.
      assert.match(logs(), /"replayed":[1-9][0-9]*,[^\n]*"msg":"restored partition state"/);
    } finally {
      for (const r of runs) if (r.alive()) r.child.kill('SIGKILL');
    }
  });

  it('a crash between sending contexts and committing offsets never raises a count on restart', {
    timeout: 300_000,
  }, async () => {
    const t = await testTopics(INPUT_PARTITIONS);
    const signals = unique('signals');
    const changelog = unique('changelog');
    // No periodic commits: everything processed and sent before the kill is still uncommitted on both
    // sides, so the restart re-ingests it (the signals are produced a second time) and re-owns it.
    const cfgFile = scaleOutConfig(t, signals, changelog, { kafka: { commitInterval: '1h' } });
    const input = inputStream(300, Date.now() - 20 * 60_000);
    await produceInput(t, input);
    const { capture, decisive } = await captureOf(t, input);
    const everyRun: RunChild[] = [];
    const logs = () => everyRun.map((r) => r.log()).join('');
    try {
      const first = await startRun(cfgFile);
      everyRun.push(first);
      const before = await settledContexts(t, new Map());
      const owners = await committedOffsets(`${t.group}-owners`, signals, SIGNALS_PARTITIONS);
      const hw = await highWatermarks(signals, SIGNALS_PARTITIONS);
      assert.ok(
        [...hw].some(([p, end]) => end > 0 && (owners.get(p) ?? -1) < end),
        'contexts sent, signals offsets not all committed',
      );
      first.child.kill('SIGKILL');
      await first.exited;
      // The records below these the restarted owner re-reads on restore; the rest it takes live.
      const committedAtKill = [
        ...(await committedOffsets(`${t.group}-owners`, signals, SIGNALS_PARTITIONS)).values(),
      ].reduce((a, o) => a + (Number.isFinite(o) && o > 0 ? o : 0), 0);
      let inputCommittedAtKill = 0;
      for (const kind of ['logs', 'metrics', 'traces'] as const)
        for (const o of (await committedOffsets(t.group, t[kind], INPUT_PARTITIONS)).values())
          inputCommittedAtKill += Number.isFinite(o) && o > 0 ? o : 0;

      const second = await startRun(cfgFile);
      everyRun.push(second);
      // The restart re-ingests every input record (nothing was committed) and its owner takes every
      // signals record, the re-produced ones included. It need not send anything: its incidents come
      // back from the changelog already holding what they were sent with.
      let metrics = '';
      let progress = '';
      const sum = (name: string) =>
        [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
          (a, m) => a + Number(m[1]),
          0,
        );
      await waitFor(
        async () => {
          metrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text();
          progress = `records ${sum('kubetriage_records_total')} of ${input.length} - ${inputCommittedAtKill}`;
          if (sum('kubetriage_records_total') < input.length - inputCommittedAtKill) return false;
          const end = [...(await highWatermarks(signals, SIGNALS_PARTITIONS)).values()].reduce(
            (a, b) => a + b,
            0,
          );
          progress = `${progress}, owner ${sum('kubetriage_scaleout_owner_records_total')} of ${end} - ${committedAtKill}`;
          return sum('kubetriage_scaleout_owner_records_total') >= end - committedAtKill;
        },
        120_000,
        'the restarted process to re-ingest and re-own everything',
      ).catch((err: Error) => {
        throw new Error(`${err.message} (${progress})`);
      });
      const dup = /kubetriage_scaleout_owner_records_total\{result="duplicate"\} (\d+)/.exec(metrics);
      const dupGroups = /kubetriage_scaleout_owner_groups_total\{result="duplicate"\} (\d+)/.exec(metrics);
      second.child.kill('SIGTERM');
      assert.equal((await second.exited).code, 0);
      const after = await contextsSince(t, before.ends);

      const counts = (d: IncidentContextDoc) => Object.fromEntries(d.evidence.map((e) => [e.key, e.count]));
      // Never above what was sent before the crash, at any revision after it; the last one equal.
      for (const d of after.docs) {
        const was = before.latest.get(workloadOf(d));
        assert.ok(was, `${workloadOf(d)} had a context before the crash`);
        assert.equal(d.id, was.id, 'same incident id');
        assert.ok(d.revision >= was.revision, 'revisions go on');
        for (const [k, n] of Object.entries(counts(d)))
          assert.ok(
            n <= (counts(was)[k] ?? 0),
            `${workloadOf(d)} ${k}: ${n} after the restart, ${counts(was)[k]} before`,
          );
      }
      for (const [w, d] of after.latest) assert.deepEqual(counts(d), counts(before.latest.get(w)!), w);
      // The ingest side re-read its uncommitted input and produced those signals again: skipped by source.
      assert.ok(dup && Number(dup[1]) > 0, 're-produced signals were recognised and skipped');
      // Each one input record's signals, batched as the restarted ingest consumed them: skipped one by one.
      assert.ok(
        dupGroups && Number(dupGroups[1]) >= Number(dup![1]),
        'every skipped record skipped its groups',
      );
      const config = validateConfig(scaleOutConfig(t, signals, changelog) as ConfigInput);
      await checkAgainstReplay(t, capture, decisive, config, logs);
    } finally {
      for (const r of everyRun) if (r.alive()) r.child.kill('SIGKILL');
    }
  });

  // The owners read a workload's records in another order than their times (partitions interleave), and
  // a restart counter's samples hop partitions: counts are still those of the time-ordered replay
  // (cascade: restart|Error|inventory 15; 17, or 21 to 25, before counter-runs.ts).
  it('counts of the simulated scenario equal the time-ordered replay too', () => {
    assert.ok(lastRun, 'the test above ran');
    for (const [w, want] of lastRun.inTimeOrder) {
      const got = lastRun.mine.get(w);
      assert.ok(got, `${w}: an incident`);
      assert.deepEqual(
        Object.fromEntries(got.evidence.map((e) => [e.key, e.count])),
        Object.fromEntries(want.evidence.map((e) => [e.key, e.count])),
        w,
      );
    }
  });
});
