// A signals record whose delivery fails (librdkafka gives up on it after message.timeout.ms; here the
// broker is down) is produced again. If a later record of the same signals partition reached the broker
// first, the owner's duplicate rule (a group at or below the last (offset, index) absorbed from its input
// partition is a re-delivery) skipped the re-sent record's groups: its signals were lost and its input
// offset in no context's sources, while the ingest side committed past it. A failed record must reach
// its partition before any later one. Its own broker (it hangs and comes back), its topics, the service in-process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { newRegistry } from '../../src/core/metrics.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { decodeSignalsBatch } from '../../src/stream/scaleout/codec.ts';
import { PartitionReader } from '../../src/stream/scaleout/partition-reader.ts';
import { ScaleOutService } from '../../src/stream/scaleout/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  committedOffsets,
  consumeAll,
  consumeUntil,
  produce,
  serviceConfig,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';
import {
  attempts,
  errorLines,
  metric,
  ownBroker,
  replayedLatest,
  untilLogging,
} from '../helpers/scaleout-faults.ts';
import { assertValidContext } from '../helpers/schema.ts';

/** Produces one record from a child process: this process's event loop waits for it. */
function produceBlocking(topic: string, value: Buffer, timestamp: number): void {
  const helpers = new URL('../helpers/kafka.ts', import.meta.url).href;
  const script = `import { produce } from ${JSON.stringify(helpers)};
    const [topic, value, timestamp] = process.argv.slice(-3);
    await produce(topic, [{ value: Buffer.from(value, 'base64'), partition: 0, timestamp: Number(timestamp) }]);`;
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', script, topic, value.toString('base64'), String(timestamp)],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, `producing from a child process: ${r.stderr}`);
}

const sleepBlocking = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const services: ScaleOutService[] = [];
const own = ownBroker(services);

describe('scale-out ingest: a signals record whose delivery fails', () => {
  it('reaches its partition before any later record: nothing lost, nothing counted twice', {
    timeout: 180_000,
  }, async () => {
    const t = await testTopics(1);
    const signals = unique('signals');
    const changelog = unique('changelog');
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const registry = newRegistry();
    // A wait that times out says what the service logged last.
    const until = untilLogging(lines);
    const config = serviceConfig(t, {
      dedup: { window: '24h' },
      grouping: { groupWait: '300ms', groupInterval: '300ms', resolveTimeout: '1h', restore: false },
      scaleOut: { enabled: true, partitions: 1, topics: { signals, changelog } },
      kafka: {
        librdkafka: {
          // librdkafka gives a record up after 1 s (default 300 s): what a longer outage does.
          'message.timeout.ms': 1000,
          // Back quickly once the broker is; the group keeps its members over the outage (no rebalance).
          'reconnect.backoff.max.ms': 1000,
          'session.timeout.ms': 120_000,
        },
      },
    });
    const service = new ScaleOutService({ config, log, registry, resolver: new NamePatternResolver() });
    services.push(service);
    await service.start();
    await until(
      async () =>
        lines.some((l) => l.side === 'owner' && l.msg === 'partitions assigned') &&
        lines.some((l) => l.side === 'ingest' && l.msg === 'partitions assigned'),
      30_000,
      'both sides assigned',
    );
    // The first input record is fetched while the broker is up, but its signals record must not reach
    // it: this thread is blocked while a child process produces the record and librdkafka's own threads
    // fetch it, and the broker hangs (SIGSTOP) before the service's code runs again.
    const now = Date.now();
    produceBlocking(t.logs, errorLines('a', now - 2000), now - 2000);
    sleepBlocking(2500);
    own.broker.pause();
    await until(
      async () => service.ingest.splitter.stats.records.logs >= 1,
      10_000,
      'the first input record fetched before the broker went away',
    );
    // The first input record was read before the broker went away; its signals record cannot be
    // delivered. Once it failed seven times the producer waits 30 s before the next try: the broker
    // comes back meanwhile, and the second input record comes. A hung broker answers again within
    // milliseconds of SIGCONT; a killed one needed a JVM start (14-20 s on a loaded CI machine), which
    // with the second record's produce and fetch did not always fit in the 30 s.
    await until(
      async () => attempts(lines, signals) >= 7,
      120_000,
      'seven failed deliveries of the signals record',
    );
    own.broker.resume();
    await produce(t.logs, [{ value: errorLines('b', now - 1000), partition: 0, timestamp: now - 1000 }]);
    await until(
      async () => service.ingest.splitter.stats.records.logs >= 2,
      30_000,
      'the second input record read',
    );
    // Nothing of either input record has reached the signals topic yet: both wait on the failed record.
    const deliveredWhenSecondRead = await metric(registry, 'kubetriage_scaleout_signal_records_total');
    // The failed delivery holds the input back: nothing of it is committed while it is not acknowledged.
    const committedWhileFailing = (await committedOffsets(t.group, t.logs, 1)).get(0) ?? -1;

    // Both input records are committed, and the owners committed every signals record (so applied it).
    await until(
      async () => (await committedOffsets(t.group, t.logs, 1)).get(0) === 2,
      60_000,
      'both input records committed',
    );
    let signalsRecords: Awaited<ReturnType<typeof consumeUntil>> = [];
    await until(
      async () => {
        // All the topic holds: a 1 s read could miss a record and leave it out of the order check.
        signalsRecords = await consumeAll(signals);
        const owned = (await committedOffsets(`${t.group}-owners`, signals, 1)).get(0) ?? -1;
        return signalsRecords.length >= 2 && owned >= signalsRecords.length;
      },
      60_000,
      'the owner committed every signals record',
    );

    // Every context on the topic: a 2 s read could miss the latest revision when the reader joined slowly.
    const docs = (await consumeAll(t.contexts)).map(
      (r) => JSON.parse(r.value!.toString()) as IncidentContextDoc,
    );
    for (const d of docs) assertValidContext(d);
    assert.equal(new Set(docs.map((d) => d.id)).size, 1, 'one incident');
    const latest = docs.reduce((a, b) => (b.revision >= a.revision ? b : a));

    // Exactly what one process replaying both input records gives.
    const input = await consumeUntil(t.logs, (rs) => rs.length >= 2, 30_000);
    const want = await replayedLatest(input, config, now - 2000);
    const counts = (d: IncidentContextDoc) => Object.fromEntries(d.evidence.map((e) => [e.key, e.count]));
    assert.ok(want, 'the replay opens the incident');
    assert.deepEqual(counts(latest), counts(want), 'evidence counts as one process replaying both records');
    const covered = (offset: number) =>
      docs.some((d) =>
        (d.sources ?? []).some(
          (s) =>
            s.topic === t.logs && s.partition === 0 && s.ranges.some(([a, b]) => offset >= a && offset <= b),
        ),
      );
    assert.deepEqual(
      [0, 1].filter((o) => !covered(o)),
      [],
      'both input offsets are in some context',
    );

    // On the partition, the first input record's signals come before the second's.
    const order = signalsRecords
      .sort((a, b) => a.offset - b.offset)
      .flatMap((r) => decodeSignalsBatch(r.value ?? null)?.map((g) => g.src.offset) ?? [-1]);
    assert.deepEqual([...new Set(order)], [0, 1], `input offsets in signals order: ${order.join(', ')}`);
    assert.equal(
      deliveredWhenSecondRead,
      0,
      'the second record was read while the first one could not be delivered',
    );
    assert.ok(committedWhileFailing < 1, `input committed to ${committedWhileFailing} while undelivered`);
    assert.ok(
      (await metric(registry, 'kubetriage_scaleout_signal_send_failures_total')) >= 7,
      'failures counted',
    );
    assert.ok(
      lines.some((l) => l.event === 'signals_send_failed' && l.partition === 0 && l.attempt === 7),
      'each failure logged with its partition and attempt',
    );
    await service.stop(10_000);
  });
});

describe('scale-out restore reader: a broker that hangs, then answers again', () => {
  it('reads again once the broker is back, whether its connect or its read failed', {
    timeout: 120_000,
  }, async () => {
    const t = await testTopics(1);
    await produce(
      t.logs,
      ['a', 'b', 'c'].map((tag, i) => ({ value: errorLines(tag, Date.now() - 3000 + i), partition: 0 })),
    );
    const reader = new PartitionReader(
      { 'bootstrap.servers': own.broker.brokers },
      { connectTimeoutMs: 2000 },
    );
    const readAll = (timeoutMs?: number) => reader.read(t.logs, 0, () => {}, { timeoutMs });
    // Retried as the owner's restore retries a read (owner-side.ts #restoreRetrying): a broker that hung
    // longer than its session with its controller (9 s) is fenced when it comes back, and its partitions
    // answer "Unknown partition" until it is unfenced.
    const readsAgain = (what: string) => waitFor(async () => (await readAll()) === 3, 60_000, what);
    try {
      // The first connect fails: before, that rejection was kept and every later read got it.
      own.broker.pause();
      await assert.rejects(readAll(), 'no connect while the broker hangs');
      own.broker.resume();
      await readsAgain('a read once the broker is back after a failed connect');
      // A read on a connected consumer fails: the next one works on a fresh consumer.
      own.broker.pause();
      await assert.rejects(readAll(1000), 'no read while the broker hangs');
      own.broker.resume();
      await readsAgain('a read once the broker is back after a failed read');
    } finally {
      own.broker.resume();
      await reader.close();
    }
  });
});
