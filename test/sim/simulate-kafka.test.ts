// `simulate --brokers` against a real broker (run with `node scripts/test.ts test/sim/simulate-kafka.test.ts`):
// every record lands on its topic with its value, key and CreateTime timestamp; pacing holds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import kafka from '@confluentinc/kafka-javascript';
import { produceRecords } from '../../src/sim/produce.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import { brokers, testTopics, unique } from '../helpers/kafka.ts';

const { KafkaConsumer } = kafka;
const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

interface Landed {
  topic: string;
  key: string | null;
  value: string;
  timestamp: number;
}

/** Reads topics from the beginning until `n` records arrived (or the timeout passes). */
async function readAll(topics: string[], n: number, timeoutMs = 60_000): Promise<Landed[]> {
  const consumer = new KafkaConsumer(
    {
      'bootstrap.servers': brokers(),
      'group.id': unique('sim-reader'),
      'enable.auto.commit': false,
      log_level: 3,
    } as never,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({}, (err) => (err ? reject(err) : resolve())),
  );
  const out: Landed[] = [];
  try {
    consumer.subscribe(topics);
    const deadline = Date.now() + timeoutMs;
    while (out.length < n && Date.now() < deadline) {
      const msgs = await new Promise<kafka.Message[]>((resolve, reject) =>
        consumer.consume(500, (err, m) => (err ? reject(err) : resolve(m))),
      );
      for (const m of msgs) {
        out.push({
          topic: m.topic,
          key:
            m.key == null ? null : (Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key)).toString('base64'),
          value: (m.value ?? Buffer.alloc(0)).toString('base64'),
          timestamp: m.timestamp ?? -1,
        });
      }
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

const sig = (r: Landed) => `${r.topic}|${r.key}|${r.timestamp}|${r.value}`;

function expected(records: CapturedRecord[]): Landed[] {
  return records.map((r) => ({
    topic: r.topic,
    key: r.key === null ? null : r.key.toString('base64'),
    value: r.value.toString('base64'),
    timestamp: r.timestamp,
  }));
}

describe('simulate to Kafka', () => {
  it('lands every record with its value, key and timestamp (simulate --brokers, --speed max)', async () => {
    const t = await testTopics(3);
    const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 30 * 60_000).toISOString();
    const { stderr } = await run(
      process.execPath,
      [
        BIN,
        'simulate',
        '--scenario',
        'bad-image',
        '--seed',
        '4',
        '--brokers',
        brokers(),
        '--topics-logs',
        t.logs,
        '--topics-metrics',
        t.metrics,
        '--topics-traces',
        t.traces,
        '--speed',
        'max',
        '--start',
        start,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const want = expected(
      getScenario('bad-image').records({
        seed: 4,
        start,
        collector: { topics: { logs: t.logs, metrics: t.metrics, traces: t.traces } },
      }),
    );
    assert.match(stderr, new RegExp(`${want.length} records acknowledged`));
    const got = await readAll([t.logs, t.metrics, t.traces], want.length);
    assert.equal(got.length, want.length);
    assert.deepEqual(got.map(sig).sort(), want.map(sig).sort());
  });

  it('keeps the 16-byte resource keys with --partition-by-resource', async () => {
    const t = await testTopics(3);
    const records = getScenario('unschedulable')
      .records({
        seed: 1,
        start: Date.now() - 20 * 60_000,
        collector: {
          topics: { logs: t.logs, metrics: t.metrics, traces: t.traces },
          partitionLogsByResource: true,
          partitionMetricsByResource: true,
        },
      })
      .filter((r) => r.topic === t.logs)
      .slice(0, 200);
    const n = await produceRecords(records, { client: { 'bootstrap.servers': brokers() }, speed: 0 });
    assert.equal(n, records.length);
    const got = await readAll([t.logs], records.length);
    assert.deepEqual(got.map(sig).sort(), expected(records).map(sig).sort());
    assert.ok(got.every((r) => r.key !== null && Buffer.from(r.key, 'base64').length === 16));
  });

  it('paces by record timestamps divided by --speed', async () => {
    const t = await testTopics(1);
    const all = getScenario('noise-only').records({
      seed: 1,
      start: Date.now(),
      collector: { topics: { logs: t.logs, metrics: t.metrics, traces: t.traces } },
    });
    // The records of the first ~40 s of scenario time, at 20× speed: about 2 s of wall time.
    const first = all[0]!.timestamp;
    const records = all.filter((r) => r.timestamp - first <= 40_000);
    const span = records[records.length - 1]!.timestamp - first;
    const t0 = performance.now();
    await produceRecords(records, { client: { 'bootstrap.servers': brokers() }, speed: 20 });
    const elapsed = performance.now() - t0;
    assert.ok(
      elapsed >= span / 20 - 50,
      `took ${elapsed.toFixed(0)} ms for ${span} ms of scenario time at 20×`,
    );
    assert.ok(elapsed < span / 20 + 5000, `took ${elapsed.toFixed(0)} ms`);
    const got = await readAll([t.logs, t.metrics, t.traces], records.length);
    assert.equal(got.length, records.length);
  });
});
