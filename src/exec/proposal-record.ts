// The record on the proposals (audit) topic: key = proposal id, value = that proposal's whole audit
// chain so far. The topic is compacted, so only the latest record per proposal is sure to remain: the
// chain is per proposal (seq 1…n, the first prevHash 64 zeros), and every record carries all of it, so
// the record that compaction keeps still verifies on its own. A later record of a proposal must
// extend the earlier one (same hashes as a prefix): anything else is a rewritten history or a fork
// (two writers), which `verifyProposalRecords` names.
import { AUDIT_SCHEMA, type AuditEntry, entryHash, GENESIS } from './audit.ts';

export const PROPOSAL_AUDIT_SCHEMA = 'kubetriage.io/proposal-audit/v1';

export interface ProposalAuditRecord {
  schema: typeof PROPOSAL_AUDIT_SCHEMA;
  proposal: string;
  entries: AuditEntry[];
}

export function encodeProposalRecord(proposal: string, entries: AuditEntry[]): Buffer {
  const r: ProposalAuditRecord = { schema: PROPOSAL_AUDIT_SCHEMA, proposal, entries };
  return Buffer.from(JSON.stringify(r));
}

/** Why a chain is broken (1-based entry), or null when it verifies. */
export function chainProblem(proposal: string, entries: readonly AuditEntry[]): string | null {
  let head = GENESIS;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const n = i + 1;
    if (e === null || typeof e !== 'object' || e.schema !== AUDIT_SCHEMA)
      return `entry ${n}: schema is not ${AUDIT_SCHEMA}`;
    if (e.proposal !== proposal) return `entry ${n}: belongs to proposal ${String(e.proposal)}`;
    if (e.seq !== n) return `entry ${n}: seq ${e.seq} (an entry removed, added or moved)`;
    if (e.prevHash !== head) return `entry ${n}: prevHash does not match the previous entry's hash`;
    if (typeof e.detail !== 'object' || e.detail === null) return `entry ${n}: no detail object`;
    if (entryHash(e) !== e.hash) return `entry ${n}: hash does not match the entry (edited)`;
    head = e.hash;
  }
  if (entries[0]?.event !== 'proposed') return 'the chain does not start with `proposed`';
  // Hashes prove order, not authorship: the state machine also needs the proposal it will act on.
  const p = entries[0].detail.proposal as
    | {
        id?: unknown;
        target?: { namespace?: unknown; name?: unknown };
        fromReplicas?: unknown;
        toReplicas?: unknown;
      }
    | undefined;
  if (
    p?.id !== proposal ||
    typeof p.target?.namespace !== 'string' ||
    typeof p.target?.name !== 'string' ||
    !Number.isInteger(p.fromReplicas) ||
    !Number.isInteger(p.toReplicas)
  )
    return 'entry 1: `proposed` does not hold this proposal (id, target, fromReplicas, toReplicas)';
  return null;
}

export type DecodedProposalRecord =
  | { ok: true; record: ProposalAuditRecord }
  | { ok: false; reason: 'empty' | 'not_json' | 'foreign' | 'key_mismatch' | 'broken_chain'; detail: string };

/** A record read back from the topic: checked whole (shape, key, chain) before anything uses it. */
export function decodeProposalRecord(
  key: Buffer | string | null,
  value: Buffer | null,
): DecodedProposalRecord {
  if (!value || value.length === 0) return { ok: false, reason: 'empty', detail: 'no value (a tombstone?)' };
  let v: ProposalAuditRecord;
  try {
    v = JSON.parse(value.toString('utf8')) as ProposalAuditRecord;
  } catch {
    return { ok: false, reason: 'not_json', detail: 'value is not JSON' };
  }
  if (
    v === null ||
    typeof v !== 'object' ||
    v.schema !== PROPOSAL_AUDIT_SCHEMA ||
    typeof v.proposal !== 'string' ||
    !Array.isArray(v.entries)
  )
    return { ok: false, reason: 'foreign', detail: `not a ${PROPOSAL_AUDIT_SCHEMA} record` };
  const k = key === null ? null : key.toString();
  if (k !== v.proposal)
    return {
      ok: false,
      reason: 'key_mismatch',
      detail: `key ${String(k).slice(0, 80)} ≠ proposal ${v.proposal.slice(0, 80)}`,
    };
  const why = chainProblem(v.proposal, v.entries);
  if (why) return { ok: false, reason: 'broken_chain', detail: why };
  return { ok: true, record: v };
}

export interface RawTopicRecord {
  partition: number;
  offset: number;
  key: Buffer | string | null;
  value: Buffer | null;
}

export interface TopicVerifyResult {
  ok: boolean;
  proposals: number;
  records: number;
  entries: number;
  /** Each bad record or fork: where and why. */
  problems: { partition: number; offset: number; reason: string }[];
}

/**
 * Verifies everything read from the proposals topic (in offset order per partition): every record's
 * chain, and that each later record of a proposal extends the earlier one.
 */
export function verifyProposalRecords(records: readonly RawTopicRecord[]): TopicVerifyResult {
  const latest = new Map<string, AuditEntry[]>();
  const problems: TopicVerifyResult['problems'] = [];
  for (const r of records) {
    const d = decodeProposalRecord(r.key, r.value);
    if (!d.ok) {
      problems.push({ partition: r.partition, offset: r.offset, reason: `${d.reason}: ${d.detail}` });
      continue;
    }
    const prev = latest.get(d.record.proposal);
    if (prev) {
      const next = d.record.entries;
      const extends_ = next.length >= prev.length && prev.every((e, i) => next[i]!.hash === e.hash);
      if (!extends_)
        problems.push({
          partition: r.partition,
          offset: r.offset,
          reason: `fork: this record of ${d.record.proposal} does not extend the previous one (two writers, or history rewritten)`,
        });
    }
    latest.set(d.record.proposal, d.record.entries);
  }
  let entries = 0;
  for (const e of latest.values()) entries += e.length;
  return { ok: problems.length === 0, proposals: latest.size, records: records.length, entries, problems };
}
