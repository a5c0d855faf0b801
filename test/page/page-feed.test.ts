// The incident page's Kafka feed (page.source kafka) on a REAL broker: every partition of the contexts,
// triage and proposals topics is read from `sinceMs` and followed live, whatever process wrote them; a
// report read before its context is kept until the context comes; records that are not ours or are
// damaged are skipped with a metric; a topic made after the feed started is found.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { GENESIS, sealEntry } from '../../src/exec/audit.ts';
import { encodeProposalRecord } from '../../src/exec/proposal-record.ts';
import { PageFeed } from '../../src/page/kafka-feed.ts';
import { IncidentStore } from '../../src/page/store.ts';
import { canaryCrashLoop } from '../agents/contexts.ts';
import { reportWith } from '../exec/helpers.ts';
import { brokers, createTopics, produce, unique, waitFor } from '../helpers/kafka.ts';

const buf = (v: unknown) => Buffer.from(JSON.stringify(v));

function chain(incident: string, proposal: ReturnType<typeof reportWith>['proposal'], events: string[]) {
  const out: ReturnType<typeof sealEntry>[] = [];
  for (const event of events)
    out.push(
      sealEntry(
        {
          actor: event === 'approved' ? 'k8s:system:serviceaccount:shop:oncall' : 'kubetriage',
          event: event as never,
          incident,
          proposal: proposal.id,
          detail: event === 'proposed' ? { proposal, revision: 1 } : { via: 'page' },
        },
        out.length + 1,
        out.at(-1)?.hash ?? GENESIS,
        new Date().toISOString(),
      ),
    );
  return out;
}

test('page feed: every partition from sinceMs, live; a report before its context; skipped records counted; a topic made later is found', {
  timeout: 120_000,
}, async () => {
  const contexts = unique('page-contexts');
  const triage = unique('page-triage');
  const proposals = unique('page-proposals');
  await createTopics([contexts, proposals], 2);
  const now = new Date().toISOString();
  const base = canaryCrashLoop();
  const doc = { ...base, timings: { ...base.timings, updated: now } };
  const old = { ...canaryCrashLoop({ ns: 'old' }), timings: { ...base.timings, updated: now } };
  assert.notEqual(old.id, doc.id);
  const report = reportWith({
    incident: doc.id,
    namespace: 'shop',
    name: 'checkout-canary',
    from: 10,
    to: 2,
  });
  // Older than sinceMs: not read.
  await produce(contexts, [{ key: old.id, value: buf(old), timestamp: Date.now() - 3 * 3600_000 }]);
  await produce(contexts, [
    { key: 'junk', partition: 0, value: Buffer.from('not json {') },
    { key: 'foreign', partition: 1, value: buf({ schema: 'someone-else/v9' }) },
    { key: 'bad', partition: 0, value: buf({ ...doc, id: 'inc-not-hex' }) },
    { key: 'tomb', partition: 1, value: null },
  ]);
  await produce(proposals, [
    {
      key: report.proposal.id,
      value: encodeProposalRecord(report.proposal.id, chain(doc.id, report.proposal, ['proposed', 'posted'])),
    },
    { key: 'forged', value: encodeProposalRecord('other', chain(doc.id, report.proposal, ['proposed'])) },
  ]);

  const store = new IncidentStore();
  const registry = new Registry();
  const feed = new PageFeed({
    kafka: { 'bootstrap.servers': brokers(), log_level: 3 },
    topics: { contexts, triage, proposals },
    sinceMs: Date.now() - 3600_000,
    store,
    log: pino({ level: process.env.FEED_LOG ?? 'silent' }, pino.destination(2)),
    registry,
    discoverMs: 300,
  });
  const metric = async (line: RegExp) => line.test(await registry.metrics());
  feed.start();
  try {
    // The triage topic does not exist yet: the feed finds it when it appears. Its report comes first.
    await createTopics([triage], 2);
    await produce(triage, [
      { key: doc.id, value: buf(report) },
      { key: 'x', value: Buffer.from('{"schema":"kubetriage.io/triage/v1","incident":7}') },
    ]);
    await waitFor(
      () => metric(/kubetriage_page_feed_records_total\{kind="triage"\} 2\b/),
      30_000,
      'reports read',
    );
    assert.equal(store.get(doc.id), undefined, 'no context yet');
    const changes: string[] = [];
    store.subscribe((c) => changes.push(c.id));
    await produce(contexts, [{ key: doc.id, value: buf(doc) }]);
    await waitFor(
      () => store.get(doc.id)?.report !== undefined,
      30_000,
      'the context, with its early report',
    );
    assert.equal(store.get(doc.id)!.report!.proposal!.id, report.proposal.id);
    assert.equal(store.get(old.id), undefined, 'records older than sinceMs are not read');
    assert.equal(store.chainState(report.proposal.id), 'pending');
    assert.deepEqual(
      store.history(report.proposal.id).map((e) => e.event),
      ['proposed', 'posted'],
    );
    assert.match(await registry.metrics(), /kubetriage_page_feed_caught_up 1\b/);

    // Live: a new revision and the proposal's next record.
    await produce(contexts, [{ key: doc.id, value: buf({ ...doc, revision: doc.revision + 1 }) }]);
    await produce(proposals, [
      {
        key: report.proposal.id,
        value: encodeProposalRecord(
          report.proposal.id,
          chain(doc.id, report.proposal, ['proposed', 'posted', 'approved', 'executing', 'executed']),
        ),
      },
    ]);
    await waitFor(
      () =>
        store.chainState(report.proposal.id) === 'executed' &&
        store.get(doc.id)?.context.revision === doc.revision + 1,
      30_000,
      'the live revision and the executed chain',
    );
    assert.ok(changes.filter((id) => id === doc.id).length >= 3, `changes heard: ${changes.length}`);
    const m = await registry.metrics();
    for (const line of [
      /kubetriage_page_feed_skipped_total\{kind="contexts",reason="not_json"\} 1\b/,
      /kubetriage_page_feed_skipped_total\{kind="contexts",reason="foreign"\} 1\b/,
      /kubetriage_page_feed_skipped_total\{kind="contexts",reason="malformed"\} 1\b/,
      /kubetriage_page_feed_skipped_total\{kind="contexts",reason="empty"\} 1\b/,
      /kubetriage_page_feed_skipped_total\{kind="triage",reason="malformed"\} 1\b/,
      /kubetriage_page_feed_skipped_total\{kind="proposals",reason="key_mismatch"\} 1\b/,
      /kubetriage_page_feed_partitions\{kind="triage"\} 2\b/,
    ])
      assert.match(m, line);
  } finally {
    await feed.close();
  }
});
