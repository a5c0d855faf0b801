// The audit ledger: append-only JSONL, one `kubetriage.io/audit/v1` entry a line, chained by hash.
// hash = sha256(canonical JSON of the entry without `hash`), canonical = keys sorted at every level.
// `prevHash` of the first entry is 64 zeros. Any edited, removed or reordered line breaks the chain
// (seq must be 1, 2, 3 … and each prevHash the previous line's hash); only a truncated tail cannot be
// seen from the file alone, which is what the Kafka mirror (incident-audit) is for.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { redactor } from '../core/redact.ts';

export const AUDIT_SCHEMA = 'kubetriage.io/audit/v1';
export const GENESIS = '0'.repeat(64);

export const AUDIT_EVENTS = [
  'proposed',
  'posted',
  'post_failed',
  'approved',
  'rejected',
  'expired',
  'refused',
  'ignored',
  'executed',
  'verified',
  'failed',
  'rollback_requested',
  'rolled_back',
  'rollback_failed',
  'permissions_checked',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditEntry {
  schema: typeof AUDIT_SCHEMA;
  seq: number;
  at: string;
  /** Who: `kubetriage` for the service's own steps, `slack:<id>(<name>)`, `api:<name>`, `unknown`. */
  actor: string;
  event: AuditEvent;
  incident: string | null;
  proposal: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type AuditInput = Pick<AuditEntry, 'actor' | 'event' | 'incident' | 'proposal' | 'detail'>;

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function entryHash(entry: Omit<AuditEntry, 'hash'> | AuditEntry): string {
  const { hash: _drop, ...rest } = entry as AuditEntry;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export type VerifyResult =
  | { ok: true; entries: number; head: string }
  | { ok: false; line: number; reason: string; entries: number };

/** Checks every line; names the first bad one (1-based). */
export function verifyLedgerText(text: string): VerifyResult {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let prev = GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const bad = (reason: string): VerifyResult => ({ ok: false, line, reason, entries: i });
    let e: AuditEntry;
    try {
      e = JSON.parse(lines[i]!) as AuditEntry;
    } catch {
      return bad('not valid JSON');
    }
    if (e === null || typeof e !== 'object' || e.schema !== AUDIT_SCHEMA)
      return bad(`schema is not ${AUDIT_SCHEMA}`);
    if (e.seq !== line)
      return bad(`seq ${e.seq} where ${line} was expected (a line removed, added or moved)`);
    if (e.prevHash !== prev)
      return bad(`prevHash does not match the previous line's hash (a line removed or moved before it)`);
    if (entryHash(e) !== e.hash) return bad('hash does not match the entry (the line was edited)');
    prev = e.hash;
  }
  return { ok: true, entries: lines.length, head: prev };
}

export function verifyLedgerFile(file: string): VerifyResult {
  return verifyLedgerText(readFileSync(file, 'utf8'));
}

export interface AuditLedgerOptions {
  file: string;
  now?: () => number;
  /** Called with each entry after it is on disk (e.g. the Kafka mirror); must not throw. */
  mirror?: (entry: AuditEntry) => void;
}

/**
 * Appends entries with an fsync each (approvals are rare; losing one is not an option). Opening an
 * existing ledger verifies it first and refuses to extend a broken chain.
 */
export class AuditLedger {
  readonly file: string;
  readonly #now: () => number;
  readonly #mirror: ((entry: AuditEntry) => void) | undefined;
  /** Opened at the first append: a service that never proposes leaves no file behind. */
  #fd = -1;
  #seq = 0;
  #head = GENESIS;
  readonly #entries: AuditEntry[] = [];

  constructor(o: AuditLedgerOptions) {
    this.file = o.file;
    this.#now = o.now ?? Date.now;
    this.#mirror = o.mirror;
    if (existsSync(o.file)) {
      const text = readFileSync(o.file, 'utf8');
      const r = verifyLedgerText(text);
      if (!r.ok) throw new Error(`audit ledger ${o.file} is broken at line ${r.line}: ${r.reason}`);
      for (const l of text.split('\n')) if (l) this.#entries.push(JSON.parse(l) as AuditEntry);
      this.#seq = r.entries;
      this.#head = r.head;
    }
  }

  /** The entries that were on disk when the ledger was opened (to restore proposal state); not kept after. */
  get restored(): readonly AuditEntry[] {
    return this.#entries;
  }

  get head(): string {
    return this.#head;
  }

  append(input: AuditInput): AuditEntry {
    const base: Omit<AuditEntry, 'hash'> = {
      schema: AUDIT_SCHEMA,
      seq: this.#seq + 1,
      at: new Date(this.#now()).toISOString(),
      // Redacted before hashing (the chain covers what is stored): the actor and detail carry free text.
      actor: redactor().text(input.actor, 'audit'),
      event: input.event,
      incident: input.incident,
      proposal: input.proposal,
      // A JSON round trip: what is hashed is exactly what a reader parses back.
      detail: JSON.parse(redactor().json(input.detail, 'audit')) as Record<string, unknown>,
      prevHash: this.#head,
    };
    const entry: AuditEntry = { ...base, hash: entryHash(base) };
    if (this.#fd < 0) this.#fd = openSync(this.file, 'a', 0o600);
    writeSync(this.#fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.#fd);
    this.#seq = entry.seq;
    this.#head = entry.hash;
    try {
      this.#mirror?.(entry);
    } catch {}
    return entry;
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}
