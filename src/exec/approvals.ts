// Each proposal is an idempotent state machine (signatures carry no nonce, Slack retries, people
// double-click):
//   pending → approved | rejected | expired;  approved → executed | failed;  executed → rolled_back
// Every transition, refusal and ignored duplicate is an audit entry. Transitions happen synchronously
// before any await, so two concurrent approvals can never both reach the executor. Fail closed: an
// approval executes only once its `approved` entry is on disk; when the ledger cannot be written the
// approval is refused (the proposal stays pending) with the reason. Nothing here rejects: an error
// inside a decision moves the proposal to `failed` (audited) and answers the click.
import { LRUCache } from 'lru-cache';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Proposal, TriageReport } from '../agents/report.ts';
import type { ExecConfig } from '../core/config-exec.ts';
import type { Logger } from '../core/logger.ts';
import { NO_TRACING, type TraceSpan, type Tracing } from '../core/tracing.ts';
import { managementOf, NO_MANAGEMENT } from '../enrich/gitops.ts';
import type { VerifiedIdentity } from './api-identity.ts';
import type { AuditEntry, AuditEvent, AuditInput } from './audit.ts';
import { ForgedRequests } from './forged-requests.ts';
import { gitopsMode, gitopsVerdict } from './gitops-policy.ts';
import type { ExecKube } from './kube-client.ts';
import { policyViolation, workloadKey } from './policy.ts';
import { scaleDeployment } from './scaler.ts';
import { kubectlLine, outcomeMessage, proposalMessage, stateMessage } from './slack-message.ts';
import {
  type MessageRef,
  type ProposalNotifier,
  type SlackMessage,
  WebhookNotifier,
} from './slack-notifier.ts';
import { type PostResult, postJson } from './slack-webhook.ts';

export type ProposalState =
  | 'pending'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'executed'
  | 'failed'
  | 'rolled_back';
export type DecisionAction = 'approve' | 'reject' | 'rollback';

export interface Actor {
  /** Slack user id, when the decision came from Slack. */
  id?: string;
  name: string;
  /**
   * API decisions: the identity the API server vouched for (TokenReview) or the opted-in static
   * token, and whether SubjectAccessReview allowed the action. The route sets both; a name the
   * caller claims is never used.
   */
  identity?: VerifiedIdentity;
  authorized?: { allowed: boolean; reason: string };
}

export interface Decision {
  proposalId: string;
  action: DecisionAction;
  actor: Actor;
  /** `page`: the incident page (src/page), authenticated and authorised exactly as `api`. */
  via: 'slack' | 'api' | 'page';
  /** Identifies the request (Slack: action_ts); a second identical one is marked as a replay. */
  requestKey?: string;
  /** Replicated mode: the replica that received and verified it, when not the one deciding. */
  receivedBy?: string;
}

/**
 * Where entries go: the local hash-chained file (AuditLedger) or, in replicated mode, the proposals
 * topic (KafkaProposalLedger). `append` resolves once the entry is durable and rejects when it cannot be.
 */
export interface AuditSink {
  open(onRestore?: (entry: AuditEntry) => void): Promise<unknown>;
  append(input: AuditInput): Promise<AuditEntry>;
  readonly lastError: string | null;
  close(): Promise<void>;
}

export interface DecisionOutcome {
  ok: boolean;
  code: 'done' | 'unknown' | 'not_approver' | 'duplicate' | 'expired' | 'refused' | 'failed';
  state: ProposalState | null;
  message: string;
  /** Set when the outcome changed replicas (for the Roll back button). */
  rollbackable?: boolean;
}

interface ProposalRecord {
  proposal: Proposal;
  incident: string;
  revision: number;
  state: ProposalState;
  postedAt: number | undefined;
  dryRun: boolean;
  rollbackInFlight: boolean;
  /** Bot mode: where the proposal was posted, and what, to show its state in place. */
  ref?: MessageRef;
  message?: SlackMessage;
  /** Slack updates of this proposal, one after the other (in state order). */
  shown?: Promise<unknown>;
  /** An `executing` intent was recorded: a scale write may have happened (a takeover verifies first). */
  intent?: boolean;
  /** Who approved it (restored with the state: a takeover executes in their name). */
  approvedBy?: string;
}

export interface ApprovalServiceOptions {
  config: ExecConfig;
  ledger: AuditSink;
  /** Null: nothing can be executed (every approval fails, audited). */
  kube: ExecKube | null;
  webhookUrl?: string | undefined;
  /** How proposals reach Slack (bot mode); default: the incoming webhook `webhookUrl`, if any. */
  notifier?: ProposalNotifier | undefined;
  now?: () => number;
  delay?: (ms: number) => Promise<void>;
  log?: Logger;
  registry?: Registry;
  maxProposals?: number;
  /** Forged Slack requests are summed into one audit entry per this interval (0: only on flush/close). */
  forgedSummaryIntervalMs?: number;
  /** A span per decision and per execution, in the incident's trace (src/core/tracing.ts). */
  tracing?: Tracing;
  /**
   * Replicated mode (src/exec/replicated.ts): an `executing` intent is made durable before every scale
   * write, and approvals found without an outcome are resumed by `resume()` instead of failed at start.
   */
  replicated?: boolean;
  /**
   * Test hooks (replicated mode): right before the scale write (the intent is durable) and right after
   * it (before its outcome is recorded). Failover tests kill the process there.
   */
  hooks?: { beforeScaleWrite?: () => void | Promise<void>; afterScaleWrite?: () => void | Promise<void> };
}

const SERVICE = 'kubetriage';

/** The outcome on the span (code, resulting state; status ERROR unless it went through). */
function endDecisionSpan(span: TraceSpan, out: DecisionOutcome): DecisionOutcome {
  span.set({ 'kubetriage.decision.code': out.code, 'kubetriage.proposal.state': out.state ?? undefined });
  if (!out.ok) span.fail(out.message.slice(0, 200));
  span.end();
  return out;
}

export class ApprovalService {
  readonly #c: ExecConfig;
  readonly #ledger: AuditSink;
  readonly #replicated: boolean;
  readonly #hooks: NonNullable<ApprovalServiceOptions['hooks']>;
  readonly #kube: ExecKube | null;
  readonly #notifier: ProposalNotifier | undefined;
  readonly #now: () => number;
  readonly #delay: ((ms: number) => Promise<void>) | undefined;
  readonly #log: Logger | undefined;
  readonly #tracing: Tracing;
  readonly #records: LRUCache<string, ProposalRecord>;
  readonly #revisions: LRUCache<string, true>;
  readonly #requests = new LRUCache<string, true>({ max: 10_000 });
  readonly #lastAction = new LRUCache<string, number>({ max: 10_000 });
  readonly #pending = new Set<Promise<unknown>>();
  readonly #events: Counter;
  readonly #toPosted: Histogram;
  readonly #toApproved: Histogram;
  readonly #toExecuted: Histogram;
  readonly #forged: ForgedRequests;
  readonly #gitopsChecks: Counter;

  constructor(o: ApprovalServiceOptions) {
    this.#c = o.config;
    this.#ledger = o.ledger;
    this.#replicated = o.replicated === true;
    this.#hooks = o.hooks ?? {};
    this.#kube = o.kube;
    this.#now = o.now ?? Date.now;
    this.#delay = o.delay;
    this.#notifier =
      o.notifier ??
      (o.webhookUrl
        ? new WebhookNotifier(o.webhookUrl, {
            timeoutMs: this.#c.slack.timeout,
            maxAttempts: this.#c.slack.maxAttempts,
            maxRetryAfterMs: this.#c.slack.maxRetryAfter,
            ...(this.#delay ? { delay: this.#delay } : {}),
          })
        : undefined);
    this.#log = o.log;
    this.#tracing = o.tracing ?? NO_TRACING;
    this.#records = new LRUCache({ max: o.maxProposals ?? 10_000 });
    this.#revisions = new LRUCache({ max: o.maxProposals ?? 10_000 });
    const registers = o.registry ? [o.registry] : [];
    const buckets = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];
    this.#events = new Counter({
      name: 'kubetriage_exec_events_total',
      help: 'Audit events of the approval and execution stage, by event',
      labelNames: ['event'],
      registers,
    });
    this.#toPosted = new Histogram({
      name: 'kubetriage_time_to_proposal_posted_seconds',
      help: 'Time to understanding: the context a report judged to its proposal posted in Slack',
      buckets,
      registers,
    });
    this.#toApproved = new Histogram({
      name: 'kubetriage_time_to_approved_seconds',
      help: 'Time to understanding: proposal posted to approved',
      buckets,
      registers,
    });
    this.#toExecuted = new Histogram({
      name: 'kubetriage_time_to_executed_seconds',
      help: 'Time to understanding: proposal posted to executed (and verified)',
      buckets,
      registers,
    });
    this.#gitopsChecks = new Counter({
      name: 'kubetriage_exec_gitops_checks_total',
      help: 'Who manages a scale target, checked before proposing and before writing: by stage, tool (none, argocd, flux, helm, unknown) and verdict',
      labelNames: ['stage', 'tool', 'verdict'],
      registers,
    });
    this.#forged = new ForgedRequests({
      intervalMs: o.forgedSummaryIntervalMs ?? 60_000,
      record: (s) => void this.#audit('forged_requests', 'unknown', null, { ...s }),
      now: this.#now,
      ...(o.registry ? { registry: o.registry } : {}),
    });
  }

  /** Opens the ledger (streamed, verified, a torn tail recovered) and rebuilds proposal states from it. */
  async start(): Promise<void> {
    await this.#ledger.open((e) => this.#restore(e));
    // Replicated mode: states come from the proposals topic per partition; see resume().
    if (this.#replicated) return;
    // An approval whose outcome never reached the ledger (the process died mid-execution) is final:
    // `failed`, so a later click cannot run it a second time; the stale check would catch a repeat anyway.
    for (const rec of this.#records.values())
      if (rec.state === 'approved') {
        rec.state = 'failed';
        void this.#audit('failed', SERVICE, rec, {
          reason: 'interrupted: approved, but no outcome was recorded before the process stopped',
        });
      }
    await this.idle();
  }

  /** Waits for everything in flight, records the last forged-requests summary, closes the ledger. */
  async close(): Promise<void> {
    await this.idle();
    this.#forged.stop();
    await this.#ledger.close();
  }

  get mode(): ExecConfig['mode'] {
    return this.#c.mode;
  }

  state(proposalId: string): ProposalState | null {
    return this.#records.get(proposalId)?.state ?? null;
  }

  /** The namespace a proposal acts in (what API callers are authorised against), if known. */
  targetNamespace(proposalId: string): string | undefined {
    return this.#records.get(proposalId)?.proposal.target.namespace;
  }

  /**
   * Appends an entry; resolves true once it is on disk, false (logged, never thrown) when the
   * ledger cannot be written. Callers that must fail closed await it.
   */
  #audit(
    event: AuditEvent,
    actor: string,
    rec: { incident: string; proposal: Proposal } | null,
    detail: Record<string, unknown>,
  ): Promise<boolean> {
    this.#events.inc({ event });
    // Tracked: idle() (and so shutdown) waits for every entry to reach the disk.
    return this.#track(
      this.#ledger
        .append({ actor, event, incident: rec?.incident ?? null, proposal: rec?.proposal.id ?? null, detail })
        .then(
          () => true,
          (err: Error) => {
            this.#log?.error(
              { err: err.message, event, proposal: rec?.proposal.id },
              'exec: audit entry lost',
            );
            return false;
          },
        ),
    );
  }

  /** A Slack request refused before any processing (bad signature, rate limited): counted, summed per interval. */
  forgedRequest(reason: string, source: string | undefined, rateLimited = false): void {
    this.#forged.count(reason, source, rateLimited);
  }

  /** Records the forged requests counted so far now (tests, shutdown). */
  flushForged(): void {
    this.#forged.flush();
  }

  /** Why approvals are refused right now (the ledger cannot be written), or null. */
  get ledgerError(): string | null {
    return this.#ledger.lastError;
  }

  /** Replicated mode: one entry of a proposal chain read back from the proposals topic, in order. */
  restoreEntry(e: AuditEntry): void {
    this.#restore(e);
  }

  /** Replicated mode: drops the proposals another replica now owns (their partition was revoked). */
  forget(owned: (proposalId: string) => boolean): string[] {
    const gone: string[] = [];
    for (const id of [...this.#records.keys()])
      if (!owned(id)) {
        this.#records.delete(id);
        gone.push(id);
      }
    return gone;
  }

  /**
   * Replicated mode, after a partition's states were restored: an approval without an outcome (its
   * owner stopped between approval and execution) is carried out now, exactly once: the scale write
   * is conditional on the expected replicas and the read resourceVersion, and when an `executing`
   * intent shows a write may have happened the Deployment is read first (already at the target: the
   * execution is recorded as done, verified, and nothing is written again).
   */
  resume(ids: Iterable<string>): number {
    let n = 0;
    for (const id of ids) {
      const rec = this.#records.get(id);
      if (rec?.state !== 'approved') continue;
      n++;
      const actor = rec.approvedBy ?? SERVICE;
      this.#log?.warn(
        { proposal: id, intent: rec.intent === true },
        'exec: resuming an approval whose owner stopped',
      );
      void this.#track(
        this.#execute(rec, actor)
          .then((out) =>
            this.#show(
              rec,
              out.ok
                ? `✅ executed (resumed after a failover), approved by ${actor}`
                : `⛔ ${out.code} after approval by ${actor}`,
              out.message,
              out.rollbackable ? rec.proposal.id : undefined,
            ),
          )
          .catch((err: unknown) =>
            this.#unexpected(
              { proposalId: id, action: 'approve', actor: { name: actor }, via: 'slack' },
              err,
            ),
          ),
      );
    }
    return n;
  }

  /** Rebuilds proposal states from the ledger, one entry at a time (a restart keeps idempotency). */
  #restore(e: AuditEntry): void {
    {
      if (e.event === 'proposed' && e.proposal && e.incident) {
        const p = e.detail.proposal as Proposal | undefined;
        if (!p) return;
        const rev = Number(e.detail.revision ?? 0);
        this.#records.set(p.id, {
          proposal: p,
          incident: e.incident,
          revision: rev,
          state: 'pending',
          postedAt: undefined,
          dryRun: true,
          rollbackInFlight: false,
        });
        this.#revisions.set(`${e.incident}|${rev}`, true);
        return;
      }
      const rec = e.proposal ? this.#records.get(e.proposal) : undefined;
      if (!rec) return;
      const at = Date.parse(e.at);
      if (e.event === 'posted') {
        rec.postedAt = at;
        const { channel, ts } = e.detail;
        if (typeof channel === 'string' && typeof ts === 'string') rec.ref = { channel, ts };
      } else if (e.event === 'approved' || e.event === 'rejected' || e.event === 'expired') {
        rec.state = e.event;
        if (e.event === 'approved') rec.approvedBy = e.actor;
      } else if (e.event === 'executing') rec.intent = true;
      else if (e.event === 'failed' || (e.event === 'refused' && rec.state === 'approved'))
        rec.state = 'failed';
      else if (e.event === 'executed') {
        rec.state = 'executed';
        rec.dryRun = e.detail.dryRun === true;
        if (!rec.dryRun) this.#lastAction.set(workloadKey(rec.proposal), at);
      } else if (e.event === 'rolled_back') {
        rec.state = 'rolled_back';
        this.#lastAction.set(workloadKey(rec.proposal), at);
      }
    }
  }

  /** The run hook: a triage report that is durable. Never throws. */
  onReport(report: TriageReport): Promise<void> {
    const p = this.#propose(report).catch((err: Error) =>
      this.#log?.error({ err: err.message, incident: report.incident }, 'exec: proposal handling failed'),
    );
    return this.#track(p);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    // Both branches handled: the bookkeeping never makes a rejection of its own.
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    return p;
  }

  /** Waits for everything in flight (Slack posts, executions, follow-ups). */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  async #propose(report: TriageReport): Promise<void> {
    const p = report.proposal;
    if (!p || report.status !== 'open') return;
    const revKey = `${report.incident}|${report.revision}`;
    // One message per proposal, never repeated for the same incident revision.
    if (this.#records.has(p.id) || this.#revisions.has(revKey)) return;
    this.#revisions.set(revKey, true);
    const now = this.#now();
    const rec: ProposalRecord = {
      proposal: p,
      incident: report.incident,
      revision: report.revision,
      state: 'pending',
      postedAt: undefined,
      dryRun: this.#c.mode === 'dry-run',
      rollbackInFlight: false,
    };
    this.#records.set(p.id, rec);
    const recorded = this.#audit('proposed', SERVICE, rec, {
      revision: report.revision,
      severity: report.severity,
      team: report.team,
      engine: report.engine,
      hypotheses: report.hypotheses.slice(0, 3).map((h) => ({ cause: h.cause, evidence: h.evidence })),
      proposal: p,
      kubectl: kubectlLine(p),
      mode: this.#c.mode,
    });
    // A newer revision's proposal supersedes the incident's older pending ones.
    for (const [id, other] of this.#records.entries())
      if (id !== p.id && other.incident === report.incident && other.state === 'pending') {
        other.state = 'expired';
        void this.#audit('expired', SERVICE, other, {
          reason: `superseded by ${p.id} (revision ${report.revision})`,
        });
        this.#show(other, `⌛ expired: superseded by a newer proposal (revision ${report.revision})`);
      }
    const why = policyViolation(
      this.#c.policy,
      { namespace: p.target.namespace, from: p.fromReplicas, to: p.toReplicas },
      { now, lastActionAt: this.#lastAction.get(workloadKey(p)) },
    );
    if (why) {
      rec.state = 'failed';
      void this.#audit('refused', SERVICE, rec, { reason: why, stage: 'propose' });
      return;
    }
    // GitOps: a workload Argo CD or Flux reconciles is not offered for a scale they would revert.
    const gitops = await this.#gitops(p, false);
    if (gitops.action === 'refuse') {
      rec.state = 'failed';
      void this.#audit('refused', SERVICE, rec, {
        reason: gitops.reason,
        stage: 'propose',
        gitops: gitops.management,
      });
      return;
    }
    if (now > Date.parse(p.expiresAt)) {
      rec.state = 'expired';
      void this.#audit('expired', SERVICE, rec, {
        reason: 'expired before it could be posted',
        expiresAt: p.expiresAt,
      });
      return;
    }
    // Fail closed: a proposal the ledger does not hold is never offered for approval.
    if (!(await recorded)) {
      rec.state = 'failed';
      this.#log?.error({ proposal: p.id, reason: this.#ledger.lastError }, 'exec: proposal not posted');
      return;
    }
    if (!this.#notifier) {
      void this.#audit('post_failed', SERVICE, rec, {
        error: 'neither SLACK_WEBHOOK_URL nor SLACK_BOT_TOKEN is set: approve with `kubetriage approve`',
      });
      return;
    }
    const msg = proposalMessage(
      { ...report, proposal: p },
      this.#c.mode,
      gitops.action === 'warn' ? gitops.reason : undefined,
    );
    rec.message = msg;
    const r = await this.#notifier.post(msg, report.team);
    if (r.ok) {
      rec.postedAt = this.#now();
      if (r.ref) rec.ref = r.ref;
      this.#toPosted.observe(Math.max(0, (rec.postedAt - Date.parse(report.at)) / 1000));
      await this.#audit('posted', SERVICE, rec, {
        attempts: r.attempts,
        via: this.#notifier.kind,
        ...(r.ref ? { channel: r.ref.channel, ts: r.ref.ts } : {}),
        ...(gitops.action === 'warn' ? { gitopsWarning: gitops.reason } : {}),
      });
    } else
      await this.#audit('post_failed', SERVICE, rec, {
        attempts: r.attempts,
        via: this.#notifier.kind,
        error: r.error,
      });
  }

  /**
   * Who manages the target (read live: labels, annotations, field managers of spec.replicas) and what
   * exec.policy.gitops says about it. Fail closed at execution (`strict`): when the Deployment cannot be
   * read the scale is refused; at proposal time an unreadable one is left to the execution check.
   */
  async #gitops(
    p: Proposal,
    strict: boolean,
  ): Promise<{ action: 'refuse' | 'warn' | 'allow'; reason: string; management: unknown }> {
    const v = await this.#gitopsCheck(p, strict);
    const tool =
      (v.management as { tool?: string | null } | null)?.tool ?? (v.management ? 'none' : 'unknown');
    this.#gitopsChecks.inc({ stage: strict ? 'execute' : 'propose', tool, verdict: v.action });
    return v;
  }

  async #gitopsCheck(
    p: Proposal,
    strict: boolean,
  ): Promise<{ action: 'refuse' | 'warn' | 'allow'; reason: string; management: unknown }> {
    const read = this.#kube?.readDeploymentMeta?.bind(this.#kube);
    if (!read) {
      // Nothing to read live: the executor agent's note (from enrichment) is all there is.
      const mode = gitopsMode(this.#c.policy.gitops, p.target.namespace);
      if (!p.blockedBy || mode === 'allow') return { action: 'allow', reason: '', management: NO_MANAGEMENT };
      return { action: mode, reason: p.blockedBy, management: null };
    }
    try {
      const m = managementOf(await read(p.target.namespace, p.target.name));
      return { ...gitopsVerdict(this.#c.policy.gitops, p.target.namespace, m), management: m };
    } catch (err) {
      const reason = `cannot tell who manages ${p.target.namespace}/${p.target.name}: ${(err as Error).message.slice(0, 200)}`;
      return { action: strict ? 'refuse' : 'allow', reason, management: null };
    }
  }

  /**
   * Bot mode: shows the proposal's state in place (chat.update: the buttons give way to the state) and
   * the details in its thread; one update after another per proposal. A Slack error is audited
   * (`post_failed`), never thrown. Webhook mode: outcomes go to the click's response_url instead.
   */
  #show(rec: ProposalRecord, state: string, detail?: string, rollbackOf?: string): void {
    const n = this.#notifier;
    const ref = rec.ref;
    if (!n?.update || !ref) return;
    const run = async () => {
      // After a restart the posted blocks are not known: the state replaces them with a summary.
      const p = rec.proposal;
      const original = rec.message ?? {
        text: `proposal ${p.id}: scale ${p.target.namespace}/${p.target.name} ${p.fromReplicas} → ${p.toReplicas}`,
        blocks: [],
      };
      const r = await n.update?.(ref, stateMessage(original, state));
      if (r && !r.ok)
        await this.#audit('post_failed', SERVICE, rec, { op: 'chat.update', state, error: r.error });
      if (detail && n.reply) {
        const t = await n.reply(ref, outcomeMessage(detail, rollbackOf));
        if (!t.ok) await this.#audit('post_failed', SERVICE, rec, { op: 'thread reply', error: t.error });
      }
    };
    const next = (rec.shown ?? Promise.resolve())
      .then(run)
      .catch((err: Error) =>
        this.#log?.warn({ err: err.message, proposal: rec.proposal.id }, 'exec: Slack update failed'),
      );
    rec.shown = next;
    void this.#track(next);
  }

  #post(url: string, body: unknown): Promise<PostResult> {
    return postJson(url, body, {
      timeoutMs: this.#c.slack.timeout,
      maxAttempts: this.#c.slack.maxAttempts,
      maxRetryAfterMs: this.#c.slack.maxRetryAfter,
      ...(this.#delay ? { delay: this.#delay } : {}),
    });
  }

  /** Posts a decision's outcome to Slack's response_url (bounded retries, never rejects). */
  followUp(responseUrl: string, outcome: DecisionOutcome, proposalId: string): Promise<void> {
    // Bot mode: a change of state is already shown in place and in the thread; only answers that
    // changed nothing (not an approver, a duplicate, …) go back, to the clicker alone.
    const inPlace = this.#notifier?.kind === 'bot' && this.#records.get(proposalId)?.ref !== undefined;
    const changed =
      outcome.code === 'done' ||
      outcome.code === 'failed' ||
      outcome.code === 'expired' ||
      (outcome.code === 'refused' && outcome.state === 'failed');
    if (inPlace && changed) return Promise.resolve();
    const post = async () => {
      const msg = outcomeMessage(
        `${outcome.ok ? '✅' : '⛔'} ${outcome.message}`,
        outcome.rollbackable ? proposalId : undefined,
      );
      const r = await this.#post(responseUrl, {
        response_type: inPlace ? 'ephemeral' : 'in_channel',
        replace_original: false,
        ...msg,
      });
      if (!r.ok)
        this.#log?.warn({ error: r.error, proposal: proposalId }, 'exec: response_url follow-up failed');
    };
    return this.#track(
      post().catch((err: Error) =>
        this.#log?.warn({ err: err.message, proposal: proposalId }, 'exec: response_url follow-up failed'),
      ),
    );
  }

  /**
   * Slack: the user ID only (names and display names are changed by their owners at will). API: the
   * identity the API server vouched for, authorised by the route (SubjectAccessReview or the opted-in
   * static token).
   */
  #isApprover(a: Actor, via: Decision['via']): boolean {
    if (via === 'slack') return a.id !== undefined && this.#c.approvers.includes(a.id);
    if (a.identity) return a.authorized?.allowed === true;
    return false;
  }

  /** Never rejects: whatever goes wrong inside becomes a `failed` outcome, audited when possible. */
  decide(d: Decision): Promise<DecisionOutcome> {
    const rec = this.#records.get(d.proposalId);
    const span = this.#tracing.span('kubetriage.approval', rec?.incident ?? null, {
      'kubetriage.proposal.id': d.proposalId,
      'kubetriage.decision.action': d.action,
      'kubetriage.decision.via': d.via,
    });
    return this.#track(
      this.#decide(d)
        .catch((err: unknown) => this.#unexpected(d, err))
        .then((out) => endDecisionSpan(span, out)),
    );
  }

  async #unexpected(d: Decision, err: unknown): Promise<DecisionOutcome> {
    const message = err instanceof Error ? err.message : String(err);
    const rec = this.#records.get(d.proposalId);
    this.#log?.error({ err: message, proposal: d.proposalId, action: d.action }, 'exec: decision failed');
    // An approval that was under way ends here: `failed` is final, so nothing runs twice later.
    const wasApproved = rec?.state === 'approved';
    if (rec && wasApproved) rec.state = 'failed';
    if (rec)
      await this.#audit(d.action === 'rollback' ? 'rollback_failed' : 'failed', SERVICE, rec, {
        reason: 'internal error',
        error: message.slice(0, 500),
        action: d.action,
      });
    return {
      ok: false,
      code: 'failed',
      state: rec?.state ?? null,
      message: `${d.action} of ${d.proposalId} failed: ${message.slice(0, 200)}. The proposal is ${rec?.state ?? 'unknown'}; check the workload before acting by hand.`,
    };
  }

  async #decide(d: Decision): Promise<DecisionOutcome> {
    // API actors arrive named by their verified identity (`k8s:<user>`, `static:<name>`).
    const actor = d.via === 'slack' ? `slack:${d.actor.id ?? '?'}(${d.actor.name})` : d.actor.name;
    let replay = false;
    if (d.requestKey) {
      const k = `${actor}|${d.action}|${d.proposalId}|${d.requestKey}`;
      replay = this.#requests.has(k);
      this.#requests.set(k, true);
    }
    const base = {
      action: d.action,
      via: d.via,
      ...(d.receivedBy ? { receivedBy: d.receivedBy } : {}),
      ...(replay ? { replay: true } : {}),
      ...(d.actor.identity ? { identity: { ...d.actor.identity } } : {}),
    };
    const rec = this.#records.get(d.proposalId);
    if (!rec) {
      // An API caller not allowed (cluster-wide, as the namespace is unknown) learns nothing about ids.
      const denied = d.actor.identity !== undefined && d.actor.authorized?.allowed !== true;
      void this.#audit('refused', actor, null, {
        ...base,
        reason: denied ? (d.actor.authorized?.reason ?? 'not authorised') : 'unknown proposal',
        claimedProposal: d.proposalId,
      });
      if (denied)
        return { ok: false, code: 'not_approver', state: null, message: `${d.actor.name} is not authorised` };
      return { ok: false, code: 'unknown', state: null, message: `unknown proposal ${d.proposalId}` };
    }
    if (!this.#isApprover(d.actor, d.via)) {
      void this.#audit('refused', actor, rec, {
        ...base,
        reason: d.actor.identity
          ? (d.actor.authorized?.reason ?? 'not authorised')
          : 'not an approver (exec.approvers)',
      });
      return {
        ok: false,
        code: 'not_approver',
        state: rec.state,
        message: `${d.actor.name} is not an approver: nothing was done`,
      };
    }
    if (d.action === 'rollback') {
      const out = await this.#rollback(rec, actor, base);
      if (out.code === 'done') this.#show(rec, `↩️ rolled back by ${d.actor.name}`, out.message);
      // A refused click on a proposal that was never executed leaves its message (and buttons) alone.
      else if ((out.code === 'failed' || out.code === 'refused') && rec.state === 'executed' && !rec.dryRun)
        this.#show(rec, `⛔ rollback by ${d.actor.name} failed; still executed`, out.message);
      return out;
    }
    if (rec.state !== 'pending') {
      void this.#audit('ignored', actor, rec, { ...base, reason: `already ${rec.state}` });
      return {
        ok: false,
        code: 'duplicate',
        state: rec.state,
        message: `proposal ${rec.proposal.id} is already ${rec.state}: nothing done twice`,
      };
    }
    const now = this.#now();
    if (now > Date.parse(rec.proposal.expiresAt)) {
      rec.state = 'expired';
      void this.#audit('expired', actor, rec, { ...base, expiresAt: rec.proposal.expiresAt });
      this.#show(rec, `⌛ expired at ${rec.proposal.expiresAt}: nothing was done`);
      return {
        ok: false,
        code: 'expired',
        state: 'expired',
        message: `proposal expired at ${rec.proposal.expiresAt}: nothing was done`,
      };
    }
    if (d.action === 'reject') {
      rec.state = 'rejected';
      if (!(await this.#audit('rejected', actor, rec, base))) {
        rec.state = 'pending';
        return this.#ledgerRefusal(rec);
      }
      this.#show(rec, `🚫 rejected by ${d.actor.name}: nothing was done`);
      return {
        ok: true,
        code: 'done',
        state: 'rejected',
        message: `rejected by ${d.actor.name}: nothing was done`,
      };
    }
    rec.state = 'approved';
    rec.approvedBy = actor;
    // Fail closed: nothing executes without its approval on disk.
    if (!(await this.#audit('approved', actor, rec, base))) {
      rec.state = 'pending';
      return this.#ledgerRefusal(rec);
    }
    if (rec.postedAt !== undefined) this.#toApproved.observe(Math.max(0, (now - rec.postedAt) / 1000));
    this.#show(rec, `⏳ approved by ${d.actor.name}; executing`);
    const out = await this.#execute(rec, actor);
    this.#show(
      rec,
      out.ok
        ? `✅ executed, approved by ${d.actor.name}${rec.dryRun ? ' (dry run: nothing changed)' : ''}`
        : `⛔ ${out.code === 'refused' ? 'refused' : 'failed'} after approval by ${d.actor.name}`,
      out.message,
      out.rollbackable ? rec.proposal.id : undefined,
    );
    return out;
  }

  #ledgerRefusal(rec: ProposalRecord): DecisionOutcome {
    return {
      ok: false,
      code: 'refused',
      state: rec.state,
      message: `refused: the audit ledger cannot be written (${this.#ledger.lastError ?? 'unknown error'}); nothing was done, the proposal is still ${rec.state}`,
    };
  }

  async #execute(rec: ProposalRecord, actor: string): Promise<DecisionOutcome> {
    const span = this.#tracing.span('kubetriage.execution', rec.incident, {
      'kubetriage.proposal.id': rec.proposal.id,
      'kubetriage.execution.dry_run': this.#c.mode === 'dry-run',
      'k8s.namespace.name': rec.proposal.target.namespace,
      'k8s.deployment.name': rec.proposal.target.name,
      'kubetriage.execution.from_replicas': rec.proposal.fromReplicas,
      'kubetriage.execution.to_replicas': rec.proposal.toReplicas,
    });
    try {
      return endDecisionSpan(span, await this.#executeNow(rec, actor));
    } catch (err) {
      span.fail(String((err as Error)?.message ?? err).slice(0, 200));
      span.end();
      throw err;
    }
  }

  async #executeNow(rec: ProposalRecord, actor: string): Promise<DecisionOutcome> {
    const p = rec.proposal;
    const dryRun = this.#c.mode === 'dry-run';
    rec.dryRun = dryRun;
    const why = policyViolation(
      this.#c.policy,
      { namespace: p.target.namespace, from: p.fromReplicas, to: p.toReplicas },
      { now: this.#now(), lastActionAt: this.#lastAction.get(workloadKey(p)) },
    );
    if (why) {
      rec.state = 'failed';
      void this.#audit('refused', SERVICE, rec, { reason: why, stage: 'execute', approvedBy: actor });
      return { ok: false, code: 'refused', state: 'failed', message: `refused: ${why}` };
    }
    // Defence in depth: who manages the workload may have changed since the proposal was made.
    const gitops = await this.#gitops(p, true);
    if (gitops.action === 'refuse') {
      rec.state = 'failed';
      void this.#audit('refused', SERVICE, rec, {
        reason: gitops.reason,
        stage: 'execute',
        gitops: gitops.management,
        approvedBy: actor,
      });
      return { ok: false, code: 'refused', state: 'failed', message: `refused: ${gitops.reason}` };
    }
    if (!this.#kube) {
      rec.state = 'failed';
      void this.#audit('failed', SERVICE, rec, { reason: 'no Kubernetes connection configured (exec.kube)' });
      return {
        ok: false,
        code: 'failed',
        state: 'failed',
        message: 'no Kubernetes connection: nothing was done',
      };
    }
    if (this.#replicated) {
      // A takeover after an `executing` intent: the write may have happened before its owner stopped.
      if (rec.intent && !dryRun) {
        const done = await this.#alreadyScaled(rec, actor);
        if (done) return done;
      }
      // The intent first, durable, then the write: whoever owns the proposal next knows to check.
      rec.intent = true;
      const recorded = await this.#audit('executing', SERVICE, rec, {
        dryRun,
        from: p.fromReplicas,
        to: p.toReplicas,
        approvedBy: actor,
      });
      if (!recorded) {
        // Still `approved` on the topic (if anything reached it): the next owner resumes it.
        rec.state = 'failed';
        return this.#ledgerRefusal(rec);
      }
      await this.#hooks.beforeScaleWrite?.();
    }
    const out = await scaleDeployment(
      this.#kube,
      {
        namespace: p.target.namespace,
        name: p.target.name,
        expected: p.fromReplicas,
        to: p.toReplicas,
        dryRun,
      },
      this.#c.kube.maxConflicts,
    );
    if (this.#replicated && out.ok) await this.#hooks.afterScaleWrite?.();
    // Replicated: a write by a stopped or partitioned former owner may have landed between our read and
    // our write (409, then stale at the target): that is this proposal's execution, not someone else's.
    if (!out.ok && out.reason === 'stale' && this.#replicated && !dryRun && out.observed === p.toReplicas) {
      const done = await this.#alreadyScaled(rec, actor);
      if (done) return done;
    }
    if (!out.ok) {
      rec.state = 'failed';
      void this.#audit(out.reason === 'stale' ? 'refused' : 'failed', SERVICE, rec, {
        reason: out.reason,
        message: out.message,
        ...(out.observed !== undefined ? { observed: out.observed } : {}),
        ...(out.status !== undefined ? { status: out.status } : {}),
        conflicts: out.conflicts,
        approvedBy: actor,
      });
      return {
        ok: false,
        code: out.reason === 'stale' ? 'refused' : 'failed',
        state: 'failed',
        message: out.message,
      };
    }
    rec.state = 'executed';
    const now = this.#now();
    if (!dryRun) this.#lastAction.set(workloadKey(p), now);
    void this.#audit('executed', SERVICE, rec, {
      dryRun,
      from: out.from,
      to: out.to,
      readResourceVersion: out.resourceVersion,
      response: out.response,
      conflicts: out.conflicts,
      kubectl: kubectlLine(p),
      approvedBy: actor,
    });
    void this.#audit('verified', SERVICE, rec, {
      dryRun,
      specReplicas: out.response.specReplicas,
      verified: out.verified,
    });
    if (rec.postedAt !== undefined) this.#toExecuted.observe(Math.max(0, (now - rec.postedAt) / 1000));
    return {
      ok: true,
      code: 'done',
      state: 'executed',
      rollbackable: !dryRun,
      message: `${dryRun ? '[dry run, nothing changed] ' : ''}scaled ${p.target.namespace}/${p.target.name} ${p.fromReplicas} → ${p.toReplicas} (approved by ${actor})`,
    };
  }

  /**
   * After an `executing` intent: is the Deployment already at the target? Then the execution happened
   * (the former owner's write): recorded as executed and verified (`recovered`), nothing written again.
   * Null: not there (the write never happened), the caller writes.
   */
  async #alreadyScaled(rec: ProposalRecord, actor: string): Promise<DecisionOutcome | null> {
    const p = rec.proposal;
    const scale = await this.#kube!.readScale(p.target.namespace, p.target.name);
    if (scale.spec.replicas !== p.toReplicas) return null;
    rec.state = 'executed';
    rec.dryRun = false;
    const now = this.#now();
    this.#lastAction.set(workloadKey(p), now);
    void this.#audit('executed', SERVICE, rec, {
      dryRun: false,
      from: p.fromReplicas,
      to: p.toReplicas,
      recovered:
        'the scale write of a former owner (after its executing intent) was found applied; not written again',
      readResourceVersion: scale.metadata.resourceVersion,
      kubectl: kubectlLine(p),
      approvedBy: actor,
    });
    void this.#audit('verified', SERVICE, rec, {
      dryRun: false,
      specReplicas: scale.spec.replicas,
      verified: true,
    });
    if (rec.postedAt !== undefined) this.#toExecuted.observe(Math.max(0, (now - rec.postedAt) / 1000));
    return {
      ok: true,
      code: 'done',
      state: 'executed',
      rollbackable: true,
      message: `scaled ${p.target.namespace}/${p.target.name} ${p.fromReplicas} → ${p.toReplicas} (approved by ${actor}; completed after a failover)`,
    };
  }

  async #rollback(
    rec: ProposalRecord,
    actor: string,
    base: Record<string, unknown>,
  ): Promise<DecisionOutcome> {
    const p = rec.proposal;
    if (rec.state === 'rolled_back' || rec.rollbackInFlight) {
      void this.#audit('ignored', actor, rec, {
        ...base,
        reason: rec.rollbackInFlight ? 'rollback in progress' : 'already rolled_back',
      });
      return {
        ok: false,
        code: 'duplicate',
        state: rec.state,
        message: `proposal ${p.id} is already rolled back`,
      };
    }
    if (rec.state !== 'executed' || rec.dryRun) {
      const reason =
        rec.dryRun && rec.state === 'executed'
          ? 'it was a dry run: nothing to roll back'
          : `it is ${rec.state}`;
      void this.#audit('refused', actor, rec, { ...base, reason: `cannot roll back: ${reason}` });
      return { ok: false, code: 'refused', state: rec.state, message: `cannot roll back: ${reason}` };
    }
    rec.rollbackInFlight = true;
    try {
      // Fail closed, as for approvals: no rollback without its request on disk.
      if (!(await this.#audit('rollback_requested', actor, rec, base))) return this.#ledgerRefusal(rec);
      const why = policyViolation(
        this.#c.policy,
        { namespace: p.target.namespace, from: p.toReplicas, to: p.rollback.toReplicas },
        { now: this.#now(), lastActionAt: undefined, skipCooldown: true },
      );
      if (why) {
        void this.#audit('rollback_failed', SERVICE, rec, { reason: why });
        return { ok: false, code: 'refused', state: rec.state, message: `rollback refused: ${why}` };
      }
      if (!this.#kube) {
        void this.#audit('rollback_failed', SERVICE, rec, { reason: 'no Kubernetes connection' });
        return { ok: false, code: 'failed', state: rec.state, message: 'no Kubernetes connection' };
      }
      const out = await scaleDeployment(
        this.#kube,
        {
          namespace: p.target.namespace,
          name: p.target.name,
          expected: p.toReplicas,
          to: p.rollback.toReplicas,
          dryRun: false,
        },
        this.#c.kube.maxConflicts,
      );
      if (!out.ok) {
        void this.#audit('rollback_failed', SERVICE, rec, {
          reason: out.reason,
          message: out.message,
          observed: out.observed,
        });
        return {
          ok: false,
          code: out.reason === 'stale' ? 'refused' : 'failed',
          state: rec.state,
          message: out.message,
        };
      }
      rec.state = 'rolled_back';
      this.#lastAction.set(workloadKey(p), this.#now());
      void this.#audit('rolled_back', SERVICE, rec, {
        from: out.from,
        to: out.to,
        response: out.response,
        verified: out.verified,
        requestedBy: actor,
        kubectl: kubectlLine(p, p.rollback.toReplicas, p.toReplicas),
      });
      return {
        ok: true,
        code: 'done',
        state: 'rolled_back',
        message: `rolled back ${p.target.namespace}/${p.target.name} ${p.toReplicas} → ${p.rollback.toReplicas} (by ${actor})`,
      };
    } finally {
      rec.rollbackInFlight = false;
    }
  }
}
