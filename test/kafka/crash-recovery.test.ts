// Invariant: at-least-once. Kill the consumer with SIGKILL in the middle of a 50,000-record stream and
// restart it: every input record is reflected in some emitted context (none lost), and duplicates
// appear only as further revisions of the same incident ids.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import {
  brokers,
  committedOffsets,
  consumeAll,
  produce,
  type RawRecord,
  testTopics,
  waitFor,
} from '../helpers/kafka.ts';
import { assertValidContext } from '../helpers/schema.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
const RECORDS = 50_000;
const PARTITIONS = 3;
const WORKLOADS = ['checkout', 'cart'];

function startService(configFile: string, log: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'run', '--config', configFile, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function committedTotal(group: string, topic: string): Promise<number> {
  let n = 0;
  for (const o of (await committedOffsets(group, topic, PARTITIONS)).values()) if (o > 0) n += o;
  return n;
}

describe('crash recovery (SIGKILL mid-stream)', () => {
  it('loses nothing and duplicates only as revisions of the same incidents', {
    timeout: 240_000,
  }, async () => {
    const t = await testTopics(PARTITIONS);
    const start = Date.now() - 10 * 60_000;
    // Every record is a Collector batch with one event per workload; each Event's count grows with the
    // record number, as the k8seventsreceiver re-emits an Event on every update.
    const records: RawRecord[] = [];
    for (let i = 0; i < RECORDS; i++) {
      const at = start + i * 10;
      const events = WORKLOADS.map((w) => ({
        namespace: 'shop',
        reason: 'BackOff',
        message: `Back-off restarting failed container app in pod ${w}-7d9f8c6b5-x2kqz`,
        type: 'Warning' as const,
        object: { kind: 'Pod', name: `${w}-7d9f8c6b5-x2kqz`, fieldPath: 'spec.containers{app}' },
        uid: `ev-${w}`,
        count: i + 1,
        atMs: at,
      }));
      records.push({
        value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events)),
        partition: i % PARTITIONS,
        timestamp: at,
      });
    }
    await produce(t.logs, records, { compression: 'lz4' });

    const dir = mkdtempSync(join(tmpdir(), 'kt-crash-'));
    const configFile = join(dir, 'kubetriage.yaml');
    writeFileSync(
      configFile,
      stringify({
        log: { level: 'info' },
        grouping: { groupWait: '200ms', groupInterval: '300ms', resolveTimeout: '1h' },
        kafka: {
          brokers: brokers().split(','),
          groupId: t.group,
          // Small fetches so the kill lands mid-stream.
          batchSize: 200,
          commitInterval: '100ms',
          topics: {
            logs: [t.logs],
            metrics: [t.metrics],
            traces: [t.traces],
            contexts: t.contexts,
            dlq: t.dlq,
          },
          librdkafka: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000 },
        },
      }),
    );

    const log: string[] = [];
    const first = startService(configFile, log);
    try {
      await waitFor(
        async () => (await committedTotal(t.group, t.logs)) >= 2000,
        60_000,
        'the first instance to commit progress',
      );
    } finally {
      first.kill('SIGKILL');
    }
    await exited(first);
    const atKill = await committedTotal(t.group, t.logs);
    assert.ok(atKill < RECORDS, `killed mid-stream (committed ${atKill} of ${RECORDS})`);

    const second = startService(configFile, log);
    try {
      await waitFor(
        async () => (await committedTotal(t.group, t.logs)) === RECORDS,
        120_000,
        'the restarted instance to commit everything',
      );
    } catch (err) {
      second.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${log.join('').slice(-3000)}`);
    }
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0, 'SIGTERM: flush, commit, exit 0');
    assert.match(log.join(''), /restored open incidents from the contexts topic/);

    // Every context on the topic: an 8 s read could miss the latest ones when the reader joined slowly.
    const docs = (await consumeAll(t.contexts)).map(
      (r) => JSON.parse(r.value!.toString()) as IncidentContextDoc,
    );
    assert.ok(docs.length > 0);
    for (const d of docs) assertValidContext(d);

    for (const w of WORKLOADS) {
      const mine = docs.filter((d) => d.scope.workload.name === w);
      const ids = new Set(mine.map((d) => d.id));
      assert.equal(ids.size, 1, `${w}: one incident id across the crash (got ${[...ids]})`);
      // None lost: the union of record ranges the contexts cite covers every offset of every partition.
      for (let p = 0; p < PARTITIONS; p++) {
        const covered = new Uint8Array(Math.ceil(RECORDS / PARTITIONS));
        for (const d of mine) {
          for (const s of d.sources) {
            if (s.topic !== t.logs || s.partition !== p) continue;
            for (const [from, to] of s.ranges) covered.fill(1, from, to + 1);
          }
        }
        const expected = RECORDS / PARTITIONS + (p < RECORDS % PARTITIONS ? 1 : 0);
        const missing = covered.subarray(0, Math.floor(expected)).indexOf(0);
        assert.equal(missing, -1, `${w}: offset ${missing} of partition ${p} is in no context`);
      }
      // One key per incident, so its contexts sit in one partition in order: the last one is the latest.
      const last = mine.at(-1)!;
      for (let i = 1; i < mine.length; i++)
        assert.ok(mine[i]!.revision >= mine[i - 1]!.revision, 'revisions never go back');
      assert.equal(
        last.evidence.find((e) => e.kind === 'k8s_event')?.count,
        RECORDS,
        `${w}: the latest count`,
      );
      // The CrashLoopBackOff each BackOff reports is the same fact: no second item counting it again.
      assert.equal(last.evidence.filter((e) => e.kind === 'restart').length, 0, `${w}: one item per fact`);
      assert.ok(
        last.stats.signals >= RECORDS,
        `${w}: every record's signals counted at least once (${last.stats.signals})`,
      );
    }
    // What the topic holds: a 1 s read could see nothing of a record that is there.
    const dlq = await consumeAll(t.dlq);
    assert.equal(dlq.length, 0);
  });
});
