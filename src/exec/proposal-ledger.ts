// The ledger of replicated mode: each audit entry extends its proposal's chain and the whole chain is
// produced to the proposals topic (key = proposal id, on the proposal's partition), acknowledged by the
// broker (acks=all) before `append` resolves, so the fail-closed rules of approvals.ts hold with Kafka
// as the source of truth. The local hash-chained file (exec.audit.localCopy) is optional: it receives
// what this replica wrote, in its own chain. Entries that belong to no known proposal (forged-request
// summaries, refusals of unknown ids) have no chain on the topic: they go to the local file and the log.
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../core/logger.ts';
import {
  AUDIT_SCHEMA,
  type AuditEntry,
  type AuditInput,
  type AuditLedger,
  GENESIS,
  LedgerWriteError,
  sealEntry,
} from './audit.ts';
import { partitionOf } from './partitioner.ts';
import { encodeProposalRecord } from './proposal-record.ts';

export interface ProposalLedgerOptions {
  topic: string;
  /** The topic's partition count (verified equal to the commands topic's at start). */
  partitions: number;
  /** A durable send to an explicit partition: resolves once the broker acknowledged it. */
  send: (topic: string, partition: number, key: string, value: Buffer) => Promise<unknown>;
  /** The optional local file, written after the topic. */
  local?: AuditLedger | undefined;
  /** Who writes (hostname-pid), recorded in each entry's detail. */
  replica: string;
  /** Refusals and ignored duplicates beyond this many entries of one proposal are counted, not chained. */
  maxEntries?: number;
  maxProposals?: number;
  now?: () => number;
  log?: Logger | undefined;
  registry?: Registry | undefined;
}

/** Entries that change nothing: bounded per proposal (a click storm must not grow a record past the broker's limit). */
const UNBOUNDED_EVENTS = new Set(['refused', 'ignored', 'post_failed']);

export class KafkaProposalLedger {
  readonly #o: ProposalLedgerOptions;
  readonly #chains: LRUCache<string, AuditEntry[]>;
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #now: () => number;
  readonly #dropped: Counter;
  readonly #written: Counter;
  #lastError: string | null = null;

  constructor(o: ProposalLedgerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#chains = new LRUCache({ max: o.maxProposals ?? 10_000 });
    const registers = o.registry ? [o.registry] : [];
    this.#written = new Counter({
      name: 'kubetriage_exec_proposal_records_written_total',
      help: 'Proposal audit records (a proposal chain each) acknowledged by the proposals topic',
      registers,
    });
    this.#dropped = new Counter({
      name: 'kubetriage_exec_proposal_entries_unchained_total',
      help: 'Audit entries not put on the proposals topic: no chain (unknown proposal) or the per-proposal bound reached (they go to the local file and the log)',
      labelNames: ['reason'],
      registers,
    });
  }

  get partitions(): number {
    return this.#o.partitions;
  }

  partitionOf(proposal: string): number {
    return partitionOf(proposal, this.#o.partitions);
  }

  /** The local file, when kept: opened (verified, torn tail recovered); proposal states come from the topic. */
  async open(): Promise<this> {
    await this.#o.local?.open();
    return this;
  }

  /** A chain read back from the topic (restore): appends continue it. */
  adopt(proposal: string, entries: AuditEntry[]): void {
    this.#chains.set(proposal, entries);
  }

  /** A proposal whose partition went to another replica. */
  forget(proposal: string): void {
    this.#chains.delete(proposal);
  }

  entries(proposal: string): readonly AuditEntry[] | undefined {
    return this.#chains.get(proposal);
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  /** Resolves once the proposal's record is acknowledged; rejects with LedgerWriteError when it cannot be. */
  append(input: AuditInput): Promise<AuditEntry> {
    const p = input.proposal;
    if (!p || (!this.#chains.has(p) && input.event !== 'proposed')) return this.#unchained(input, 'no_chain');
    // One append at a time per proposal: its chain is a sequence.
    const prev = this.#queues.get(p) ?? Promise.resolve();
    const next = prev.then(
      () => this.#appendNow(p, input),
      () => this.#appendNow(p, input),
    );
    this.#queues.set(p, next);
    const clear = () => {
      if (this.#queues.get(p) === next) this.#queues.delete(p);
    };
    next.then(clear, clear);
    return next;
  }

  async #appendNow(p: string, input: AuditInput): Promise<AuditEntry> {
    const chain = this.#chains.get(p) ?? [];
    if (chain.length >= (this.#o.maxEntries ?? 200) && UNBOUNDED_EVENTS.has(input.event))
      return this.#unchained(input, 'bound');
    const at = new Date(this.#now()).toISOString();
    const entry = sealEntry(
      { ...input, detail: { ...input.detail, replica: this.#o.replica } },
      chain.length + 1,
      chain.at(-1)?.hash ?? GENESIS,
      at,
    );
    const entries = [...chain, entry];
    try {
      await this.#o.send(this.#o.topic, this.partitionOf(p), p, encodeProposalRecord(p, entries));
    } catch (err) {
      this.#lastError = `proposals topic ${this.#o.topic} cannot be written: ${(err as Error).message}`;
      throw new LedgerWriteError(this.#lastError);
    }
    this.#lastError = null;
    this.#chains.set(p, entries);
    this.#written.inc();
    this.#local(input);
    return entry;
  }

  #local(input: AuditInput): void {
    this.#o.local
      ?.append(input)
      .catch((err: Error) =>
        this.#o.log?.warn({ err: err.message, event: input.event }, 'exec: local audit copy not written'),
      );
  }

  /** Not on the topic: the local file (if kept) and the log; resolves an unchained entry (seq 0). */
  async #unchained(input: AuditInput, reason: 'no_chain' | 'bound'): Promise<AuditEntry> {
    this.#dropped.inc({ reason });
    this.#o.log?.info(
      { event: input.event, proposal: input.proposal, actor: input.actor, reason },
      'exec: audit entry kept off the proposals topic',
    );
    if (this.#o.local) return this.#o.local.append(input);
    return {
      schema: AUDIT_SCHEMA,
      seq: 0,
      at: new Date(this.#now()).toISOString(),
      ...input,
      prevHash: GENESIS,
      hash: GENESIS,
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()]);
    await this.#o.local?.close();
  }
}
