// An owner's changelog entry whose delivery fails (librdkafka gives it up after message.timeout.ms; here
// the broker is down) used to be re-sent after the next revision's entry of the same incident was
// acknowledged: the older entry was then last on the compacted changelog, and the owner that rebuilt the
// partition continued from the older revision (it sent a revision number that was already taken). The
// newest entry of an incident must stay last. Its own broker (it is killed), its topics, the service
// in-process, twice (the second one rebuilds the partition from the changelog).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { newRegistry } from '../../src/core/metrics.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { decodeChangelog } from '../../src/stream/scaleout/changelog.ts';
import { ScaleOutService } from '../../src/stream/scaleout/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  committedOffsets,
  consumeUntil,
  produce,
  serviceConfig,
  testTopics,
  unique,
} from '../helpers/kafka.ts';
import { attempts, errorLines, metric, ownBroker, untilLogging } from '../helpers/scaleout-faults.ts';

const services: ScaleOutService[] = [];
const own = ownBroker(services);

describe('scale-out owner: a changelog entry whose delivery fails', () => {
  it('never lands after a newer revision of its incident: a rebuild continues from the newest', {
    timeout: 300_000,
  }, async () => {
    const t = await testTopics(1);
    const signals = unique('signals');
    const changelog = unique('changelog');
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const until = untilLogging(lines);
    const config = serviceConfig(t, {
      dedup: { window: '24h' },
      // The first context waits 4 s after the incident opens: the broker is killed meanwhile.
      grouping: { groupWait: '4s', groupInterval: '300ms', resolveTimeout: '1h', restore: false },
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
    const start = async (
      registry: ReturnType<typeof newRegistry>,
      onContext?: (d: IncidentContextDoc) => void,
    ) => {
      const service = new ScaleOutService({
        config,
        log,
        registry,
        resolver: new NamePatternResolver(),
        ...(onContext ? { onContext } : {}),
      });
      services.push(service);
      const from = lines.length;
      await service.start();
      await until(
        async () =>
          lines.slice(from).some((l) => l.side === 'owner' && l.msg === 'partitions assigned') &&
          lines.slice(from).some((l) => l.side === 'ingest' && l.msg === 'partitions assigned'),
        60_000,
        'both sides assigned',
      );
      return service;
    };
    const registry = newRegistry();
    const first = await start(registry);

    // Revision 1: its incident opens on the owner, then the broker goes away before its first context.
    const now = Date.now();
    await produce(t.logs, [{ value: errorLines('a', now - 2000), partition: 0, timestamp: now - 2000 }]);
    await until(
      async () => (await metric(registry, 'kubetriage_scaleout_owner_records_total')) >= 1,
      30_000,
      'the owner applied the first signals record',
    );
    await own.broker.kill();
    // Revision 1's changelog entry cannot be delivered. Once it failed seven times the producer waits
    // 30 s before the next try: the broker comes back meanwhile and revision 2 goes out first.
    await until(
      async () => attempts(lines, changelog) >= 7,
      120_000,
      "seven failed deliveries of revision 1's changelog entry",
    );
    await own.broker.restart();
    await produce(t.logs, [{ value: errorLines('b', now - 1000), partition: 0, timestamp: now - 1000 }]);
    let docs: IncidentContextDoc[] = [];
    await until(
      async () => {
        docs = (await consumeUntil(t.contexts, () => false, 1000)).map(
          (r) => JSON.parse(r.value!.toString()) as IncidentContextDoc,
        );
        return docs.some((d) => d.revision >= 2);
      },
      60_000,
      'revision 2 acknowledged',
    );
    // Everything the owner read is committed: revision 1's entry is settled one way or the other.
    await until(
      async () => {
        const records = await consumeUntil(signals, () => false, 1000);
        const owned = (await committedOffsets(`${t.group}-owners`, signals, 1)).get(0) ?? -1;
        return records.length >= 2 && owned >= records.length;
      },
      90_000,
      'the owner committed every signals record',
    );
    const id = docs[0]!.id;
    const newest = Math.max(...docs.map((d) => d.revision));

    // What compaction keeps of the incident: its last changelog record.
    const entries = (await consumeUntil(changelog, () => false, 2000))
      .sort((a, b) => a.offset - b.offset)
      .map((r) => decodeChangelog(r.value ?? null))
      .filter((e) => e?.id === id);
    assert.ok(entries.length >= 1, 'the incident has changelog entries');
    assert.deepEqual(
      entries.map((e) => e!.revision),
      [...entries.map((e) => e!.revision)].sort((a, b) => a - b),
      'changelog entries of the incident in revision order',
    );
    assert.equal(entries.at(-1)!.revision, newest, 'the last changelog entry is the newest revision');
    assert.ok(
      (await metric(registry, 'kubetriage_scaleout_changelog_superseded_total')) >= 1,
      'the failed entry counted as superseded',
    );
    assert.ok(
      lines.some((l) => l.event === 'changelog_entry_superseded' && l.key === `inc/${id}`),
      'the superseded entry logged with its key',
    );
    await first.stop(10_000);

    // Another owner rebuilds the partition from the changelog and goes on from the newest revision.
    const rebuilt: IncidentContextDoc[] = [];
    await start(newRegistry(), (d) => rebuilt.push(d));
    await produce(t.logs, [{ value: errorLines('c', now), partition: 0, timestamp: now }]);
    await until(() => rebuilt.length >= 1, 60_000, 'a context from the rebuilt owner');
    assert.equal(rebuilt[0]!.id, id, 'the same incident goes on');
    assert.equal(rebuilt[0]!.revision, newest + 1, 'its next revision follows the newest one sent');
  });
});
