// Approvals on any replica (exec.replicated): every replica verifies what reaches it (the Slack
// signature, the API caller's TokenReview) and forwards it as a command on the commands topic, keyed
// by proposal id; the replica whose consumer group member owns that partition decides, through the
// same state machine (approvals.ts), on the state restored from the proposals topic (co-partitioned,
// compacted) for exactly the partitions it was given, on every assignment. Like a Kafka Streams task:
// restore before processing, process a partition's commands in order, commit what was processed.
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TriageReport } from '../agents/report.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { consumerConfig, reliableProducerConfig } from '../stream/kafka/client-config.ts';
import { GroupConsumer, type InRecord } from '../stream/kafka/consumer.ts';
import { AckedProducer } from '../stream/kafka/producer.ts';
import { type ApiIdentity, actorName } from './api-identity.ts';
import { ensureApprovalTopics, readProposalPartitions } from './approval-topics.ts';
import type { ApprovalService, DecisionOutcome } from './approvals.ts';
import {
  type ApprovalCommand,
  type DecideCommand,
  decodeCommand,
  encodeCommand,
  newCommandId,
  type ProposeCommand,
} from './commands.ts';
import type { KafkaProposalLedger } from './proposal-ledger.ts';

export type ReplicatedSettings = Config['exec']['replicated'];

/** Who this replica is in commands and audit entries. */
export function replicaName(): string {
  return `${hostname()}-${process.pid}`;
}

export interface ReplicatedOptions {
  config: Config;
  log: Logger;
  registry?: Registry | undefined;
  replica?: string;
}

export type ForwardResult = { ok: true; commandId: string } | { ok: false; error: string };

interface Waiter {
  resolve: (o: DecisionOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * Set up in two steps: `prepare()` checks the topics and connects the producer (the ledger can then
 * be built on it), `start(service)` joins the group and processes commands.
 */
export class ReplicatedApprovals {
  readonly replica: string;
  readonly #cfg: Config;
  readonly #s: ReplicatedSettings & { commandsTopic: string };
  readonly #log: Logger;
  readonly #producer: AckedProducer;
  #partitions = 0;
  #service: ApprovalService | undefined;
  #identity: ApiIdentity | undefined;
  #consumer: GroupConsumer | undefined;
  #loop: Promise<void> | undefined;
  #running = false;
  /** Per assigned partition: resolves once its proposal states are restored. */
  readonly #ready = new Map<number, Promise<void>>();
  /** Next offset to commit per partition (processed records only). */
  readonly #processed = new Map<number, number>();
  #current: Promise<unknown> = Promise.resolve();
  #commits: Promise<void> = Promise.resolve();
  readonly #waiters = new Map<string, Waiter>();
  #ledger: KafkaProposalLedger | undefined;
  readonly #forwarded: Counter;
  readonly #decided: Counter;
  readonly #restoreSeconds: Histogram;
  readonly #restoreRecords: Counter;
  readonly #skipped: Counter;
  readonly #owned: Gauge;
  readonly #resumed: Counter;

  constructor(o: ReplicatedOptions) {
    const s = o.config.exec.replicated;
    if (!s.commandsTopic) throw new Error('exec.replicated.commandsTopic is not set');
    this.#s = { ...s, commandsTopic: s.commandsTopic };
    this.#cfg = o.config;
    this.#log = o.log;
    this.replica = o.replica ?? replicaName();
    this.#producer = new AckedProducer(reliableProducerConfig(o.config.kafka));
    this.#producer.onError = (err, topic, attempt) =>
      this.#log.warn(
        { err: err.message, topic, attempt },
        'exec: command or proposal record not acknowledged yet; retrying',
      );
    const registers = o.registry ? [o.registry] : [];
    this.#forwarded = new Counter({
      name: 'kubetriage_exec_commands_forwarded_total',
      help: 'Verified approvals, API calls and proposals forwarded to the commands topic, by type and result (acked, failed, timeout)',
      labelNames: ['type', 'result'],
      registers,
    });
    this.#decided = new Counter({
      name: 'kubetriage_exec_commands_decided_total',
      help: 'Commands taken by the owner of their partition, by type and result (the outcome code; skipped: foreign or malformed records)',
      labelNames: ['type', 'result'],
      registers,
    });
    this.#restoreSeconds = new Histogram({
      name: 'kubetriage_exec_restore_seconds',
      help: 'Time to restore the proposal states of newly assigned partitions from the proposals topic',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#restoreRecords = new Counter({
      name: 'kubetriage_exec_restore_records_total',
      help: 'Proposal records read back from the proposals topic on assignment',
      registers,
    });
    this.#skipped = new Counter({
      name: 'kubetriage_exec_proposal_records_skipped_total',
      help: 'Records on the proposals topic skipped at restore: foreign, not JSON, key mismatch, a broken chain',
      labelNames: ['reason'],
      registers,
    });
    this.#owned = new Gauge({
      name: 'kubetriage_exec_owned_partitions',
      help: 'Commands-topic partitions this replica owns (1) — the proposals it decides',
      labelNames: ['partition'],
      registers,
    });
    this.#resumed = new Counter({
      name: 'kubetriage_exec_resumed_total',
      help: 'Approvals without an outcome found at restore (their owner stopped) and carried out by this replica',
      registers,
    });
  }

  /** Checks (or creates) the co-partitioned topics, connects the producer; the ledger can then be made. */
  async prepare(): Promise<number> {
    this.#partitions = await ensureApprovalTopics(consumerConfig(this.#cfg.kafka), {
      commandsTopic: this.#s.commandsTopic,
      proposalsTopic: this.#s.proposalsTopic,
      partitions: this.#s.partitions,
      replicationFactor: this.#s.replicationFactor,
    });
    await this.#producer.connect();
    return this.#partitions;
  }

  /** The durable send the proposals ledger writes through (explicit partition, acks=all). */
  readonly send = (topic: string, partition: number, key: string, value: Buffer): Promise<unknown> =>
    this.#producer.send({ topic, partition, key, value });

  get partitions(): number {
    return this.#partitions;
  }

  /** Joins the commands group; each assignment restores its partitions' states before its commands run. */
  async start(service: ApprovalService, ledger: KafkaProposalLedger, identity?: ApiIdentity): Promise<void> {
    this.#service = service;
    this.#ledger = ledger;
    this.#identity = identity;
    const consumer = new GroupConsumer(
      {
        ...consumerConfig(this.#cfg.kafka),
        'session.timeout.ms': this.#s.sessionTimeout,
        'heartbeat.interval.ms': Math.max(100, Math.floor(this.#s.sessionTimeout / 3)),
      },
      { groupId: this.#s.groupId ?? `${this.#cfg.kafka.groupId}-approvals`, initialOffset: 'earliest' },
      {
        onAssign: (parts) => this.#onAssign(parts.map((p) => p.partition)),
        onRevoke: (parts, lost) =>
          this.#onRevoke(
            parts.map((p) => p.partition),
            lost,
          ),
      },
    );
    consumer.onError = (err) => this.#log.warn({ err: err.message }, 'exec: commands consumer');
    this.#consumer = consumer;
    // Before joining: a restore started by the first assignment must not take itself for shut down.
    this.#running = true;
    await consumer.connect([this.#s.commandsTopic]);
    this.#loop = this.#run(consumer);
  }

  #onAssign(parts: number[]): void {
    for (const p of parts) this.#owned.set({ partition: String(p) }, 1);
    const restore = this.#restore(parts);
    for (const p of parts) this.#ready.set(p, restore);
  }

  /** Reads the partitions' chains back, rebuilds states, resumes approvals left without an outcome. */
  async #restore(parts: number[]): Promise<void> {
    const t0 = performance.now();
    for (;;) {
      try {
        const r = await readProposalPartitions(
          consumerConfig(this.#cfg.kafka),
          this.#s.proposalsTopic,
          parts,
          this.#s.restoreTimeout,
        );
        for (const s of r.skipped) {
          this.#skipped.inc({ reason: s.reason });
          this.#log.warn(s, 'exec: skipped a record on the proposals topic (not ours or damaged)');
        }
        this.#restoreRecords.inc(r.records);
        // Oldest proposals first, each chain in order: the state machine sees what happened as it happened.
        const chains = [...r.chains.entries()].sort((a, b) => (a[1][0]!.at < b[1][0]!.at ? -1 : 1));
        for (const [id, entries] of chains) {
          try {
            for (const e of entries) this.#service!.restoreEntry(e);
            this.#ledger!.adopt(id, entries);
          } catch (err) {
            // A chain that verifies but holds what the state machine cannot use: skipped, never a retry loop.
            this.#service!.forget((x) => x !== id);
            r.chains.delete(id);
            this.#skipped.inc({ reason: 'unusable' });
            this.#log.warn(
              { proposal: id, err: (err as Error).message },
              'exec: skipped an unusable proposal chain',
            );
          }
        }
        const seconds = (performance.now() - t0) / 1000;
        this.#restoreSeconds.observe(seconds);
        const resumed = this.#service!.resume(r.chains.keys());
        this.#resumed.inc(resumed);
        this.#log.info(
          {
            partitions: parts,
            records: r.records,
            proposals: r.chains.size,
            skipped: r.skipped.length,
            resumed,
            seconds,
          },
          'exec: proposal states restored',
        );
        return;
      } catch (err) {
        // The broker may be away: try again; this partition's commands wait (never decided on no state).
        this.#log.error({ err: (err as Error).message, partitions: parts }, 'exec: restore failed; retrying');
        if (!this.#running) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async #onRevoke(parts: number[], lost: boolean): Promise<void> {
    // The command being decided finishes first (its execution included), then what it started.
    await this.#current.catch(() => {});
    const idle = this.#service?.idle();
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), this.#s.revokeTimeout).unref());
    if (!(await Promise.race([idle?.then(() => true), timeout])))
      this.#log.warn(
        { partitions: parts },
        'exec: revoke: work still in flight after exec.replicated.revokeTimeout',
      );
    if (!lost) await this.#commit(parts);
    const revoked = new Set(parts);
    const gone = this.#service?.forget((id) => !revoked.has(this.#ledger!.partitionOf(id))) ?? [];
    for (const id of gone) this.#ledger?.forget(id);
    for (const p of parts) {
      this.#ready.delete(p);
      this.#processed.delete(p);
      this.#owned.set({ partition: String(p) }, 0);
    }
    this.#log.info({ partitions: parts, lost, proposals: gone.length }, 'exec: partitions revoked');
  }

  async #run(consumer: GroupConsumer): Promise<void> {
    while (this.#running) {
      let records: InRecord[];
      try {
        records = await consumer.consume(100);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'exec: commands consume failed');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const rec of records) {
        // Fetched during a revoke: left for the next owner to read again.
        if (consumer.revoking || !this.#running) break;
        const ready = this.#ready.get(rec.partition);
        if (!ready) continue;
        await ready;
        const work = this.#take(rec);
        this.#current = work;
        await work;
        this.#processed.set(rec.partition, rec.offset + 1);
      }
      // Not awaited: a commit's answer arrives through consume calls, so this loop must keep polling.
      if (records.length) void this.#commit([...this.#processed.keys()]);
    }
  }

  #commit(parts: number[]): Promise<void> {
    const consumer = this.#consumer;
    const offsets = parts
      .filter((p) => this.#processed.has(p))
      .map((p) => ({ topic: this.#s.commandsTopic, partition: p, offset: this.#processed.get(p)! }));
    const next = this.#commits.then(() =>
      consumer?.commit(offsets, 10_000).catch((err: Error) =>
        // Not fatal: the commands are decided again by whoever reads them next, and are idempotent.
        this.#log.warn({ err: err.message }, 'exec: commands offset commit failed'),
      ),
    );
    this.#commits = next.then(() => {});
    return this.#commits;
  }

  /** One command, by the owner. Never throws. */
  async #take(rec: InRecord): Promise<void> {
    const d = decodeCommand(rec.value);
    if (!d.ok) {
      this.#decided.inc({ type: 'unknown', result: `skipped_${d.reason}` });
      this.#log.warn(
        { partition: rec.partition, offset: rec.offset, reason: d.reason },
        'exec: skipped a record on the commands topic',
      );
      return;
    }
    const c = d.command;
    try {
      if (c.type === 'propose') {
        await this.#service!.onReport(c.report as unknown as TriageReport);
        this.#decided.inc({ type: 'propose', result: 'done' });
        return;
      }
      const outcome = await this.#decide(c);
      this.#decided.inc({ type: c.action, result: outcome.code });
      const w = this.#waiters.get(c.id);
      if (w) {
        clearTimeout(w.timer);
        this.#waiters.delete(c.id);
        w.resolve(outcome);
      }
      if (c.responseUrl) await this.#service!.followUp(c.responseUrl, outcome, c.proposalId);
    } catch (err) {
      this.#decided.inc({ type: c.type, result: 'error' });
      this.#log.error({ err: (err as Error).message, command: c.id }, 'exec: command failed');
    }
  }

  async #decide(c: DecideCommand): Promise<DecisionOutcome> {
    const service = this.#service!;
    const common = {
      proposalId: c.proposalId,
      action: c.action,
      via: c.via,
      receivedBy: c.receivedBy,
      ...(c.requestKey ? { requestKey: c.requestKey } : {}),
    };
    if (c.via === 'slack')
      return service.decide({
        ...common,
        actor: { ...(c.actor.id ? { id: c.actor.id } : {}), name: c.actor.name },
      });
    // API: authenticated by the receiver (TokenReview); authorised here, where the target namespace is known.
    const who = c.actor.identity;
    if (!who || !this.#identity)
      return {
        ok: false,
        code: 'failed',
        state: service.state(c.proposalId),
        message: 'no identity to authorise',
      };
    const verdict = await this.#identity.authorize(
      who,
      c.action,
      c.proposalId,
      service.targetNamespace(c.proposalId),
    );
    if ('error' in verdict)
      return { ok: false, code: 'failed', state: service.state(c.proposalId), message: verdict.error };
    return service.decide({ ...common, actor: { name: actorName(who), identity: who, authorized: verdict } });
  }

  /** Produces a verified command; resolves once the broker acknowledged it, or with why not (in time). */
  async forward(
    c:
      | Omit<DecideCommand, 'schema' | 'id' | 'receivedBy' | 'at'>
      | Omit<ProposeCommand, 'schema' | 'id' | 'receivedBy' | 'at'>,
    waitMs = 0,
  ): Promise<ForwardResult & { outcome?: Promise<DecisionOutcome | undefined> }> {
    const id = newCommandId();
    const partition = this.#ledger!.partitionOf(c.proposalId);
    // Registered before the send: when this replica is the owner, its decision cannot be missed.
    const outcome = waitMs > 0 && this.#ready.has(partition) ? this.#outcomeOf(id, waitMs) : undefined;
    const cmd = {
      ...c,
      schema: 'kubetriage.io/approval-command/v1',
      id,
      receivedBy: this.replica,
      at: new Date().toISOString(),
    } as ApprovalCommand;
    const type = c.type === 'decide' ? c.action : 'propose';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.#s.ackTimeout);
    });
    try {
      const r = await Promise.race([
        this.#producer.send({
          topic: this.#s.commandsTopic,
          partition,
          key: c.proposalId,
          value: encodeCommand(cmd),
        }),
        timeout,
      ]);
      if (r === 'timeout') {
        this.#forwarded.inc({ type, result: 'timeout' });
        return { ok: false, error: `the commands topic did not acknowledge within ${this.#s.ackTimeout} ms` };
      }
      this.#forwarded.inc({ type, result: 'acked' });
      return { ok: true, commandId: id, ...(outcome ? { outcome } : {}) };
    } catch (err) {
      this.#forwarded.inc({ type, result: 'failed' });
      return { ok: false, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A triage report produced here: its proposal goes to its owner (who posts it and decides). */
  propose(report: TriageReport): Promise<ForwardResult> | undefined {
    if (!report.proposal || report.status !== 'open') return undefined;
    return this.forward({ type: 'propose', proposalId: report.proposal.id, report });
  }

  /** The outcome of a forwarded command, when this replica decides it within `timeoutMs`; else undefined. */
  #outcomeOf(commandId: string, timeoutMs: number): Promise<DecisionOutcome | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(commandId);
        resolve(undefined);
      }, timeoutMs);
      this.#waiters.set(commandId, { resolve, timer });
    });
  }

  /** Stops taking commands (the current one finishes), leaves the group, closes the producer. */
  async close(): Promise<void> {
    this.#running = false;
    await this.#loop?.catch(() => {});
    await this.#current.catch(() => {});
    await this.#consumer?.settled();
    // The loop has stopped: poll here until the last commit is answered (records fetched meanwhile are
    // left uncommitted, for the next owner).
    let committed = false;
    const last = this.#commit([...this.#processed.keys()]).finally(() => {
      committed = true;
    });
    while (!committed && this.#consumer) await this.#consumer.consume(1).catch(() => []);
    await last;
    await this.#consumer?.disconnect();
    await this.#producer.disconnect(5_000);
  }
}
