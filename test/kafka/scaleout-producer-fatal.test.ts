// A scale-out replica whose producer librdkafka stopped with a fatal error used to retry on it forever:
// no progress until a restart. Both halves produce through it: the ingest side's signals records and
// the owner side's contexts and changelog entries. Each half here meets a fatal error with records
// queued (the producer client is a real one behind a switch that answers as librdkafka does after a
// fatal error, test/helpers/fatal-producer.ts; a real fatal error cannot be provoked on the test broker):
// the replica replaces the client and goes on, every input offset committed only once what it produced
// is acknowledged, counts as one process replaying the input gives, and the changelog's newest entry last.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { newRegistry } from '../../src/core/metrics.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { decodeChangelog } from '../../src/stream/scaleout/changelog.ts';
import { ScaleOutService } from '../../src/stream/scaleout/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { FatalSwitch } from '../helpers/fatal-producer.ts';
import {
  committedOffsets,
  consumeUntil,
  produce,
  serviceConfig,
  testTopics,
  unique,
} from '../helpers/kafka.ts';
import { errorLines, metric, replayedLatest, untilLogging } from '../helpers/scaleout-faults.ts';

describe('scale-out: a fatal producer error', () => {
  it('replaces the producer, on the ingest and the owner side; nothing lost, nothing committed early', {
    timeout: 180_000,
  }, async () => {
    const t = await testTopics(1);
    const signals = unique('signals');
    const changelog = unique('changelog');
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const registry = newRegistry();
    const until = untilLogging(lines);
    const config = serviceConfig(t, {
      dedup: { window: '24h' },
      grouping: { groupWait: '300ms', groupInterval: '300ms', resolveTimeout: '1h', restore: false },
      scaleOut: { enabled: true, partitions: 1, topics: { signals, changelog } },
    });
    const clients: FatalSwitch[] = [];
    const docs: IncidentContextDoc[] = [];
    const service = new ScaleOutService({
      config,
      log,
      registry,
      resolver: new NamePatternResolver(),
      producerClient: (c) => {
        const client = new FatalSwitch(c);
        clients.push(client);
        return client;
      },
      onContext: (d) => docs.push(d),
    });
    try {
      await service.start();
      await until(
        () =>
          lines.some((l) => l.side === 'owner' && l.msg === 'partitions assigned') &&
          lines.some((l) => l.side === 'ingest' && l.msg === 'partitions assigned'),
        60_000,
        'both sides assigned',
      );
      const now = Date.now();
      const input = (n: number) => ({
        value: errorLines(`r${n}`, now - 3000 + 1000 * n),
        partition: 0,
        timestamp: now - 3000 + 1000 * n,
      });
      const committed = async () => (await committedOffsets(t.group, t.logs, 1)).get(0) ?? -1;

      await produce(t.logs, [input(0)]);
      await until(() => docs.length >= 1, 30_000, 'the first context');

      // Ingest: the second input's signals record is queued when the client goes fatal.
      clients[0]!.hold = (topic) => topic === signals;
      await produce(t.logs, [input(1)]);
      await until(() => clients[0]!.held.length >= 1, 30_000, 'the signals record queued');
      const committedWhileQueued = await committed();
      clients[0]!.goFatal();
      await until(() => clients.length === 2, 30_000, 'a new producer client');
      await until(async () => (await committed()) === 2, 60_000, 'the second input committed');

      // Owner: the next context and its changelog entry are queued when the new client goes fatal.
      const contexts = docs.length;
      clients[1]!.hold = (topic) => topic === t.contexts || topic === changelog;
      await produce(t.logs, [input(2)]);
      await until(() => clients[1]!.held.length >= 2, 30_000, 'a context and its changelog entry queued');
      assert.equal(docs.length, contexts, 'no context acknowledged while queued');
      clients[1]!.goFatal();
      await until(() => clients.length === 3, 30_000, 'another new producer client');
      await until(async () => (await committed()) === 3, 60_000, 'the third input committed');
      let signalsCount = 0;
      await until(
        async () => {
          signalsCount = (await consumeUntil(signals, () => false, 1000)).length;
          const owned = (await committedOffsets(`${t.group}-owners`, signals, 1)).get(0) ?? -1;
          return signalsCount >= 3 && owned >= signalsCount && docs.length > contexts;
        },
        60_000,
        'the owner committed every signals record',
      );

      assert.ok(
        committedWhileQueued < 2,
        `input committed to ${committedWhileQueued} while its signals were queued`,
      );
      assert.equal(await metric(registry, 'kubetriage_scaleout_producer_rebuilds_total'), 2);
      assert.equal(
        lines.filter((l) => l.event === 'producer_rebuilt' && l.code === -150).length,
        2,
        'each rebuild logged with the fatal error code',
      );
      assert.ok(clients[0]!.closed && clients[1]!.closed, 'the fatal clients are closed');

      // Counts exactly as one process replaying the three input records.
      const back = await consumeUntil(t.logs, (rs) => rs.length >= 3, 30_000);
      const want = await replayedLatest(back, config, now - 3000);
      const latest = docs.reduce((a, b) => (b.revision >= a.revision ? b : a));
      const counts = (d: IncidentContextDoc) => Object.fromEntries(d.evidence.map((e) => [e.key, e.count]));
      assert.ok(want);
      assert.deepEqual(counts(latest), counts(want), 'evidence counts as one process replaying the input');

      const entries = (await consumeUntil(changelog, () => false, 2000))
        .sort((a, b) => a.offset - b.offset)
        .map((r) => decodeChangelog(r.value ?? null))
        .filter((e) => e?.id === latest.id);
      assert.equal(
        entries.at(-1)?.revision,
        latest.revision,
        "the changelog's last entry is the newest revision",
      );
    } finally {
      await service.stop(10_000);
    }
  });
});
