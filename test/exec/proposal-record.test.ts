// Replicated approvals without a broker: Kafka's partitioner, the per-proposal chain on the proposals
// topic (what verifies, what is named), the ledger that writes it (chain continuity, fail closed,
// bounded refusals) and the command wire format. The broker-backed behaviour is in replicas.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { type AuditEntry, LedgerWriteError } from '../../src/exec/audit.ts';
import { COMMAND_SCHEMA, decodeCommand, encodeCommand } from '../../src/exec/commands.ts';
import { murmur2, partitionOf } from '../../src/exec/partitioner.ts';
import { KafkaProposalLedger } from '../../src/exec/proposal-ledger.ts';
import {
  chainProblem,
  decodeProposalRecord,
  encodeProposalRecord,
  verifyProposalRecords,
} from '../../src/exec/proposal-record.ts';

/** A ledger whose "topic" is an array: what was sent, in order. */
function memoryLedger(o: { fail?: () => boolean; maxEntries?: number } = {}) {
  const sent: { topic: string; partition: number; key: string; value: Buffer }[] = [];
  const registry = new Registry();
  const ledger = new KafkaProposalLedger({
    topic: 'proposals',
    partitions: 6,
    replica: 'host-1',
    maxEntries: o.maxEntries ?? 200,
    registry,
    send: async (topic, partition, key, value) => {
      if (o.fail?.()) throw new Error('broker unreachable');
      sent.push({ topic, partition, key, value });
    },
  });
  return { ledger, sent, registry };
}

const proposalOf = (id: string) => ({
  id,
  action: 'scale',
  target: { namespace: 'shop', kind: 'Deployment', name: 'web' },
  fromReplicas: 5,
  toReplicas: 2,
});
const input = (event: string, proposal = 'p-1') =>
  ({
    actor: 'kubetriage',
    event,
    incident: 'inc-1',
    proposal,
    detail: event === 'proposed' ? { n: 1, proposal: proposalOf(proposal) } : { n: 1 },
  }) as Parameters<KafkaProposalLedger['append']>[0];

describe('replicated approvals: partitioner, proposal chains, commands', () => {
  test("partitionOf is Kafka's default partitioner (murmur2, Java's test vectors)", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    assert.equal(murmur2(Buffer.from('21')), -973932308);
    assert.equal(murmur2(Buffer.from('foobar')), -790332482);
    assert.equal(murmur2(Buffer.from('a-little-bit-long-string')), -985981536);
    assert.equal(murmur2(Buffer.from('a-little-bit-longer-string')), -1486304829);
    assert.equal(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
    for (let i = 0; i < 100; i++) {
      const p = partitionOf(`proposal-${i}`, 6);
      assert.ok(p >= 0 && p < 6);
    }
  });

  test('each append extends the proposal chain and sends the whole chain to its partition; the record verifies on its own', async () => {
    const { ledger, sent } = memoryLedger();
    await ledger.append(input('proposed'));
    await ledger.append(input('posted'));
    const last = await ledger.append(input('approved'));
    assert.equal(last.seq, 3);
    assert.equal(sent.length, 3);
    assert.ok(sent.every((s) => s.key === 'p-1' && s.partition === partitionOf('p-1', 6)));
    const d = decodeProposalRecord(sent[2]!.key, sent[2]!.value);
    assert.ok(d.ok);
    assert.deepEqual(
      d.record.entries.map((e) => e.event),
      ['proposed', 'posted', 'approved'],
    );
    assert.equal(d.record.entries[2]!.detail.replica, 'host-1');
    const v = verifyProposalRecords(
      sent.map((s, i) => ({ partition: s.partition, offset: i, key: s.key, value: s.value })),
    );
    assert.deepEqual(v.problems, []);
    assert.equal(v.entries, 3);
  });

  test('an edited, removed or reordered entry, a foreign record, a wrong key and a fork are each named', async () => {
    const { ledger, sent } = memoryLedger();
    for (const e of ['proposed', 'posted', 'approved', 'executing', 'executed'])
      await ledger.append(input(e));
    const entries = JSON.parse(sent.at(-1)!.value.toString()).entries as AuditEntry[];
    const edited = structuredClone(entries);
    edited[2]!.detail.n = 2;
    assert.match(chainProblem('p-1', edited)!, /entry 3: hash does not match/);
    assert.match(chainProblem('p-1', [entries[0]!, entries[2]!])!, /entry 2: seq 3/);
    assert.match(chainProblem('p-1', [entries[0]!, entries[2]!, entries[1]!])!, /entry 2/);
    assert.match(chainProblem('p-2', entries)!, /belongs to proposal p-1/);
    assert.match(chainProblem('p-1', entries.slice(1))!, /seq 2/);
    // A chain whose hashes hold but whose `proposed` entry carries no usable proposal.
    const hollow = memoryLedger();
    await hollow.ledger.append({ ...input('proposed'), detail: { proposal: { id: 'p-1' } } });
    const h = decodeProposalRecord('p-1', hollow.sent[0]!.value);
    assert.ok(!h.ok && h.reason === 'broken_chain');
    assert.match(h.detail, /does not hold this proposal/);
    assert.equal(chainProblem('p-1', entries), null);

    assert.equal(decodeProposalRecord('x', Buffer.from('{')).ok, false);
    const foreign = decodeProposalRecord('x', Buffer.from('{"schema":"other/v1"}'));
    assert.ok(!foreign.ok && foreign.reason === 'foreign');
    const wrongKey = decodeProposalRecord('p-2', encodeProposalRecord('p-1', entries));
    assert.ok(!wrongKey.ok && wrongKey.reason === 'key_mismatch');
    const tombstone = decodeProposalRecord('p-1', null);
    assert.ok(!tombstone.ok && tombstone.reason === 'empty');

    // A second writer that continued from an older head (a fork) is named by the topic check.
    const fork = memoryLedger();
    for (const e of ['proposed', 'posted', 'approved', 'executing']) await fork.ledger.append(input(e));
    fork.ledger.adopt('p-1', entries.slice(0, 3));
    await fork.ledger.append(input('refused'));
    const records = [sent.at(-1)!, fork.sent.at(-1)!].map((s, i) => ({
      partition: 0,
      offset: i,
      key: s.key,
      value: s.value,
    }));
    const v = verifyProposalRecords(records);
    assert.equal(v.problems.length, 1);
    assert.match(v.problems[0]!.reason, /^fork/);
  });

  test('fail closed: a send the broker does not acknowledge rejects with LedgerWriteError and leaves the chain as it was', async () => {
    let down = false;
    const { ledger, sent } = memoryLedger({ fail: () => down });
    await ledger.append(input('proposed'));
    down = true;
    await assert.rejects(ledger.append(input('approved')), LedgerWriteError);
    assert.match(ledger.lastError!, /broker unreachable/);
    down = false;
    const e = await ledger.append(input('approved'));
    assert.equal(e.seq, 2, 'no hole: the failed entry never joined the chain');
    assert.equal(ledger.lastError, null);
    assert.equal(sent.length, 2);
  });

  test('entries of no known proposal and refusals beyond the bound stay off the topic (counted)', async () => {
    const { ledger, sent, registry } = memoryLedger({ maxEntries: 20 });
    await ledger.append(input('refused', 'never-proposed'));
    await ledger.append({
      actor: 'kubetriage',
      event: 'forged_requests',
      incident: null,
      proposal: null,
      detail: {},
    });
    assert.equal(sent.length, 0);
    await ledger.append(input('proposed'));
    for (let i = 0; i < 30; i++) await ledger.append(input('ignored'));
    assert.equal(ledger.entries('p-1')!.length, 20);
    // A state change still gets on after the bound.
    await ledger.append(input('approved'));
    assert.equal(ledger.entries('p-1')!.length, 21);
    const m = await registry.metrics();
    assert.match(m, /kubetriage_exec_proposal_entries_unchained_total\{reason="no_chain"\} 2/);
    assert.match(m, /kubetriage_exec_proposal_entries_unchained_total\{reason="bound"\} 11/);
  });

  test('concurrent appends of one proposal are chained one after the other', async () => {
    const { ledger, sent } = memoryLedger();
    await ledger.append(input('proposed'));
    const all = await Promise.all(
      [input('approved'), input('ignored'), input('ignored')].map((i) => ledger.append(i)),
    );
    assert.deepEqual(
      all.map((e) => e.seq),
      [2, 3, 4],
    );
    const last = decodeProposalRecord(sent.at(-1)!.key, sent.at(-1)!.value);
    assert.ok(last.ok);
    assert.equal(last.record.entries.length, 4);
  });

  test('commands: round trip; foreign, not JSON and malformed records are told apart, never decided', () => {
    const cmd = {
      schema: COMMAND_SCHEMA,
      id: 'c-1',
      receivedBy: 'host-2',
      at: new Date().toISOString(),
      type: 'decide',
      proposalId: 'p-1',
      action: 'approve',
      via: 'slack',
      actor: { id: 'U0APPROVER', name: 'alice' },
      requestKey: '1.2',
      responseUrl: 'https://hooks.slack.com/actions/1',
    } as const;
    const d = decodeCommand(encodeCommand(cmd));
    assert.ok(d.ok);
    assert.deepEqual(d.command, cmd);
    assert.deepEqual(decodeCommand(Buffer.from('nope')), { ok: false, reason: 'not_json' });
    assert.deepEqual(decodeCommand(Buffer.from('{"schema":"x"}')), { ok: false, reason: 'foreign' });
    assert.deepEqual(decodeCommand(Buffer.from(JSON.stringify({ ...cmd, action: 'delete' }))), {
      ok: false,
      reason: 'malformed',
    });
    assert.deepEqual(decodeCommand(null), { ok: false, reason: 'empty' });
  });
});
