// The audit ledger: append-only JSONL, one `kubetriage.io/audit/v1` entry a line, chained by hash.
// hash = sha256(canonical JSON of the entry without `hash`), canonical = keys sorted at every level.
// `prevHash` of the first entry is 64 zeros. Any edited, removed or reordered line breaks the chain
// (seq must be 1, 2, 3 … and each prevHash the previous line's hash); only a truncated tail cannot be
// seen from the file alone, which is what the Kafka mirror (incident-audit) is for.
//
// Writes are off the event loop and group-committed: entries queue, a single writer appends a batch
// and fsyncs once; the chain (seq, prevHash, hash) is computed when a batch is written, so a batch
// that fails is cut back off the file and never leaves a hole in the chain. A torn tail (bytes after
// the last newline, from a crash or a full disk mid-write) is quarantined to a side file at open and
// recorded as a `ledger_recovered` entry; the chain continues from the last whole entry.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { type FileHandle, open, writeFile } from 'node:fs/promises';
import { Counter, Gauge, type Registry } from 'prom-client';
import { redactor } from '../core/redact.ts';
import { auditWriter, type LedgerWriter } from './audit-writer.ts';

export const AUDIT_SCHEMA = 'kubetriage.io/audit/v1';
export const GENESIS = '0'.repeat(64);
/** Actors named from a verified identity (src/exec/api-identity.ts actorName), never from telemetry. */
const VERIFIED_ACTOR = /^(?:k8s|static):[^\s]{1,256}$/;

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
  /** The intent written before the scale write (replicated mode): a takeover completes or verifies it. */
  'executing',
  'failed',
  'rollback_requested',
  'rolled_back',
  'rollback_failed',
  'permissions_checked',
  /** Requests whose Slack signature failed, summed per interval (never one line each). */
  'forged_requests',
  /** A torn tail was found at open and moved to a side file. */
  'ledger_recovered',
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

/**
 * The entry as stored: actor and detail redacted before hashing (the chain covers what is stored), then
 * chained to `prevHash`. Identities the API server vouched for (`k8s:`) and the configured static-token
 * name (`static:`) are ours, not telemetry: kept exactly as verified.
 */
export function sealEntry(input: AuditInput, seq: number, prevHash: string, at: string): AuditEntry {
  const base: Omit<AuditEntry, 'hash'> = {
    schema: AUDIT_SCHEMA,
    seq,
    at,
    actor: VERIFIED_ACTOR.test(input.actor) ? input.actor : redactor().text(input.actor, 'audit'),
    event: input.event,
    incident: input.incident,
    proposal: input.proposal,
    // A JSON round trip: what is hashed is exactly what a reader parses back.
    detail: JSON.parse(redactor().json(input.detail, 'audit')) as Record<string, unknown>,
    prevHash,
  };
  return { ...base, hash: entryHash(base) };
}

/** Bytes after the last newline: a write that did not finish. */
export interface TornTail {
  /** Byte offset where the torn bytes start (= length of the intact prefix). */
  offset: number;
  bytes: number;
  sha256: string;
}

export type VerifyResult =
  | { ok: true; entries: number; head: string; recovered?: number }
  | { ok: false; line: number; reason: string; entries: number; torn?: TornTail };

/** A longer line is not one we wrote: refuse it rather than buffer it. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Checks entries one line at a time; `check(line)` returns the reason a line is bad, or null. */
class ChainChecker {
  entries = 0;
  head = GENESIS;
  recovered = 0;
  check(line: string): { entry: AuditEntry } | { reason: string } {
    const n = this.entries + 1;
    let e: AuditEntry;
    try {
      e = JSON.parse(line) as AuditEntry;
    } catch {
      return { reason: 'not valid JSON' };
    }
    if (e === null || typeof e !== 'object' || e.schema !== AUDIT_SCHEMA)
      return { reason: `schema is not ${AUDIT_SCHEMA}` };
    if (e.seq !== n)
      return { reason: `seq ${e.seq} where ${n} was expected (a line removed, added or moved)` };
    if (e.prevHash !== this.head)
      return {
        reason: `prevHash does not match the previous line's hash (a line removed or moved before it)`,
      };
    if (entryHash(e) !== e.hash) return { reason: 'hash does not match the entry (the line was edited)' };
    this.head = e.hash;
    this.entries = n;
    if (e.event === 'ledger_recovered') this.recovered++;
    return { entry: e };
  }
}

/** Checks every line of an in-memory ledger; names the first bad one (1-based). For small texts and tests. */
export function verifyLedgerText(text: string): VerifyResult {
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const c = new ChainChecker();
  for (const line of lines) {
    const r = c.check(line);
    if ('reason' in r) return { ok: false, line: c.entries + 1, reason: r.reason, entries: c.entries };
  }
  if (tail) {
    const offset = Buffer.byteLength(text) - Buffer.byteLength(tail);
    return tornResult(c.entries, { offset, ...digest(Buffer.from(tail)) });
  }
  return { ok: true, entries: c.entries, head: c.head, ...(c.recovered ? { recovered: c.recovered } : {}) };
}

function digest(b: Buffer): { bytes: number; sha256: string } {
  return { bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
}

function tornResult(entries: number, torn: TornTail): VerifyResult {
  return {
    ok: false,
    line: entries + 1,
    reason: `torn tail: ${torn.bytes} bytes after the last newline (a write that did not finish); \`run\` quarantines it to a side file and records ledger_recovered`,
    entries,
    torn,
  };
}

/**
 * Streams a ledger file (never loads it whole), verifying the chain; `onEntry` sees each good entry
 * in order. A torn tail is reported with its offset, size and hash.
 */
export async function scanLedger(
  file: string,
  onEntry?: (e: AuditEntry) => void,
): Promise<VerifyResult & { size: number; lastHead: string }> {
  const c = new ChainChecker();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0; // bytes of whole lines seen
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl);
      const line = pending.length
        ? Buffer.concat([...pending, part]).toString('utf8')
        : part.toString('utf8');
      const lineBytes = pendingBytes + part.length + 1;
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      const r = c.check(line);
      if ('reason' in r)
        return {
          ok: false,
          line: c.entries + 1,
          reason: r.reason,
          entries: c.entries,
          size: offset,
          lastHead: c.head,
        };
      offset += lineBytes;
      onEntry?.(r.entry);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES)
        return {
          ok: false,
          line: c.entries + 1,
          reason: `a line longer than ${MAX_LINE_BYTES} bytes (not written by kubetriage)`,
          entries: c.entries,
          size: offset,
          lastHead: c.head,
        };
    }
  }
  if (pendingBytes)
    return {
      ...tornResult(c.entries, { offset, ...digest(Buffer.concat(pending)) }),
      size: offset,
      lastHead: c.head,
    };
  return {
    ok: true,
    entries: c.entries,
    head: c.head,
    ...(c.recovered ? { recovered: c.recovered } : {}),
    size: offset,
    lastHead: c.head,
  };
}

export function verifyLedgerFile(file: string): Promise<VerifyResult> {
  return scanLedger(file).then(({ size: _s, lastHead: _h, ...r }) => r as VerifyResult);
}

/** Why an entry could not be made durable (the disk is full, the directory read-only, …). */
export class LedgerWriteError extends Error {
  override name = 'LedgerWriteError';
}

export interface AuditLedgerOptions {
  file: string;
  now?: () => number;
  /** Called with each entry after it is on disk (e.g. the Kafka mirror); must not throw. */
  mirror?: (entry: AuditEntry) => void;
  /** The file under the ledger; injected by fault tests. */
  writer?: LedgerWriter;
  /** Entries per write + fsync at most. */
  maxBatch?: number;
  registry?: Registry;
}

interface Queued {
  input: AuditInput;
  at: string;
  resolve: (e: AuditEntry) => void;
  reject: (err: LedgerWriteError) => void;
}

/**
 * Appends entries durably (written and fsynced before `append` resolves), in call order. `open()`
 * streams and verifies an existing ledger first and refuses to extend a broken chain; a torn tail is
 * quarantined and recorded.
 */
export class AuditLedger {
  readonly file: string;
  readonly #now: () => number;
  readonly #mirror: ((entry: AuditEntry) => void) | undefined;
  readonly #writer: LedgerWriter;
  readonly #maxBatch: number;
  #seq = 0;
  #head = GENESIS;
  /** Length of the file's intact prefix: a failed batch is cut back to it. */
  #size = 0;
  /** The file may end in bytes of a failed batch that could not be cut off yet. */
  #dirty = false;
  #queue: Queued[] = [];
  #writing: Promise<void> | null = null;
  #lastError: string | null = null;
  #restoredCount = 0;
  #opened = false;
  #closed = false;
  readonly #written: Counter;
  readonly #failed: Counter;
  readonly #batches: Counter;
  readonly #writable: Gauge;

  constructor(o: AuditLedgerOptions) {
    this.file = o.file;
    this.#now = o.now ?? Date.now;
    this.#mirror = o.mirror;
    this.#writer = o.writer ?? auditWriter(o.file);
    this.#maxBatch = o.maxBatch ?? 512;
    const registers = o.registry ? [o.registry] : [];
    this.#written = new Counter({
      name: 'kubetriage_audit_entries_written_total',
      help: 'Audit entries written and fsynced',
      registers,
    });
    this.#failed = new Counter({
      name: 'kubetriage_audit_write_failures_total',
      help: 'Audit entries that could not be written (disk full, read-only, …); each was refused to its caller',
      registers,
    });
    this.#batches = new Counter({
      name: 'kubetriage_audit_batches_total',
      help: 'Group commits (one write + one fsync each) of the audit ledger',
      registers,
    });
    this.#writable = new Gauge({
      name: 'kubetriage_audit_ledger_writable',
      help: '1 when the last audit write succeeded (or none was tried), 0 while the ledger cannot be written',
      registers,
    });
    this.#writable.set(1);
  }

  /**
   * Streams and verifies what is on disk (each good entry to `onRestore`, in order), quarantines a
   * torn tail; throws when the chain is broken. Appends wait for this.
   */
  async open(onRestore?: (entry: AuditEntry) => void): Promise<this> {
    if (this.#opened) return this;
    if (existsSync(this.file)) {
      const r = await scanLedger(this.file, onRestore);
      const torn = r.ok ? undefined : r.torn;
      if (!r.ok && !torn)
        throw new Error(`audit ledger ${this.file} is broken at line ${r.line}: ${r.reason}`);
      this.#seq = r.entries;
      this.#head = r.lastHead;
      this.#size = r.size;
      this.#restoredCount = r.entries;
      this.#opened = true;
      if (torn) await this.#recoverTorn(torn);
    }
    this.#opened = true;
    return this;
  }

  async #recoverTorn(torn: TornTail): Promise<void> {
    const side = `${this.file}.torn-${new Date(this.#now()).toISOString().replace(/[:.]/g, '')}`;
    const fh: FileHandle = await open(this.file, 'r');
    let bytes: Buffer;
    try {
      bytes = Buffer.alloc(torn.bytes);
      await fh.read(bytes, 0, torn.bytes, torn.offset);
    } finally {
      await fh.close();
    }
    await writeFile(side, bytes, { mode: 0o600 });
    await this.#writer.truncate(torn.offset);
    await this.append({
      actor: 'kubetriage',
      event: 'ledger_recovered',
      incident: null,
      proposal: null,
      detail: {
        reason: 'torn tail (bytes after the last newline) found at open',
        afterSeq: this.#seq,
        bytes: torn.bytes,
        sha256: torn.sha256,
        quarantinedTo: side,
      },
    });
  }

  /** How many entries were on disk when the ledger was opened. */
  get restoredCount(): number {
    return this.#restoredCount;
  }

  get head(): string {
    return this.#head;
  }

  /** Null while writes succeed; else why the last one failed. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /** Resolves once the entry is written and fsynced; rejects with LedgerWriteError when it cannot be. */
  append(input: AuditInput): Promise<AuditEntry> {
    if (this.#closed) return Promise.reject(new LedgerWriteError('the audit ledger is closed'));
    if (!this.#opened) return Promise.reject(new LedgerWriteError('the audit ledger is not opened yet'));
    return new Promise<AuditEntry>((resolve, reject) => {
      this.#queue.push({ input, at: new Date(this.#now()).toISOString(), resolve, reject });
      this.#kick();
    });
  }

  /**
   * Starts the writer unless it runs. An entry queued after the writer's last look at the queue but
   * before its promise settled (an awaiting caller appends again in between) starts the next round,
   * so nothing waits in the queue with no writer.
   */
  #kick(): void {
    if (this.#writing) return;
    this.#writing = this.#drain()
      .catch((err: unknown) => {
        // #drain handles write errors itself; anything else fails the queued entries, never hangs them.
        const why = `audit ledger ${this.file}: ${(err as Error).message}`;
        for (const q of this.#queue.splice(0)) q.reject(new LedgerWriteError(why));
      })
      .finally(() => {
        this.#writing = null;
        if (this.#queue.length) this.#kick();
      });
  }

  /** Waits for every queued entry to be written (or refused). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      let seq = this.#seq;
      let head = this.#head;
      const entries: AuditEntry[] = [];
      const lines: string[] = [];
      for (const q of batch) {
        const entry = sealEntry(q.input, ++seq, head, q.at);
        head = entry.hash;
        entries.push(entry);
        lines.push(`${JSON.stringify(entry)}\n`);
      }
      const data = Buffer.from(lines.join(''));
      try {
        if (this.#dirty) {
          await this.#writer.truncate(this.#size);
          this.#dirty = false;
        }
        await this.#writer.write(data);
        await this.#writer.sync();
      } catch (err) {
        this.#dirty = true;
        // Cut the failed batch back off now (if the disk lets us; else before the next write, or at open).
        try {
          await this.#writer.truncate(this.#size);
          this.#dirty = false;
        } catch {}
        const why = `audit ledger ${this.file} cannot be written: ${(err as Error).message}`;
        this.#lastError = why;
        this.#writable.set(0);
        this.#failed.inc(batch.length);
        for (const q of batch) q.reject(new LedgerWriteError(why));
        continue;
      }
      this.#batches.inc();
      this.#written.inc(entries.length);
      this.#writable.set(1);
      this.#lastError = null;
      this.#size += data.length;
      this.#seq = seq;
      this.#head = head;
      for (let i = 0; i < batch.length; i++) {
        try {
          this.#mirror?.(entries[i]!);
        } catch {}
        batch[i]!.resolve(entries[i]!);
      }
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#writer.close();
  }
}
