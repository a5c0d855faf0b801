// Composition of the exec stage for `run`: ledger (+ optional Kafka mirror), Kubernetes connection,
// the start-up permission check (execute mode), the approval service and its HTTP routes.
// Secrets from the environment only: SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, and KUBETRIAGE_API_TOKEN
// (read only when exec.api.staticToken.enabled opts in to it, for local use).

import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { TriageReport } from '../agents/report.ts';
import type { Config } from '../core/config.ts';
import { KubetriageError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { settledWithin } from '../core/settle.ts';
import type { Tracing } from '../core/tracing.ts';
import { scanLedger } from '../exec/audit.ts';
import {
  ApiIdentity,
  ApprovalService,
  type AuditEntry,
  AuditLedger,
  checkPermissions,
  type ExecKube,
  ExecKubeClient,
  registerExecRoutes,
} from '../exec/index.ts';
import { KafkaProposalLedger } from '../exec/proposal-ledger.ts';
import { ReplicatedApprovals } from '../exec/replicated.ts';
import { BotNotifier, type ProposalNotifier } from '../exec/slack-notifier.ts';

export interface ExecWiring {
  /** Hand it each triage report once it is durable (the serialized report, as produced). */
  onReport(value: Buffer | TriageReport): void;
  /**
   * Waits (at most `timeoutMs`) for Slack posts and executions in flight, then closes the ledger;
   * false when the time ran out (the ledger then stays open for what is still running).
   */
  close(timeoutMs: number): Promise<boolean>;
  /** The approval service and the API's identity check, for the incident page's buttons (absent when inert). */
  approvals?: {
    service: ApprovalService;
    identity: ApiIdentity;
    /** Replicated mode: the page forwards its decisions to the proposal's owner, as the API does. */
    replicated?: { forward: ReplicatedApprovals['forward']; outcomeWaitMs: number };
  };
}

export interface ExecWiringOptions {
  config: Config;
  log: Logger;
  registry: Registry;
  http: FastifyInstance;
  env?: NodeJS.ProcessEnv;
  /** A durable Kafka send; with exec.audit.kafka every audit entry is mirrored to kafka.topics.audit. */
  send?: (topic: string, key: string | null, value: Buffer) => Promise<unknown>;
  /** Spans per approval and execution (src/core/tracing.ts). */
  tracing?: Tracing;
  /** Every audit entry: those already in the ledger at start-up, then each one written (the incident page). */
  onAudit?: (entry: AuditEntry) => void;
}

const NOOP: ExecWiring = { onReport() {}, close: async () => true };

export async function wireExec(o: ExecWiringOptions): Promise<ExecWiring> {
  const c = o.config.exec;
  const env = o.env ?? process.env;
  if (!c.enabled) {
    o.log.info('exec stage disabled (exec.enabled: false)');
    return NOOP;
  }
  const staticToken =
    c.api.staticToken.enabled && env.KUBETRIAGE_API_TOKEN
      ? { token: env.KUBETRIAGE_API_TOKEN, name: c.api.staticToken.name }
      : undefined;
  if (c.api.staticToken.enabled && !staticToken)
    o.log.warn('exec.api.staticToken.enabled is true but KUBETRIAGE_API_TOKEN is not set: no static token');
  if (!c.api.staticToken.enabled && env.KUBETRIAGE_API_TOKEN)
    o.log.warn(
      'KUBETRIAGE_API_TOKEN is set but ignored: the approval API authenticates Kubernetes tokens (exec.api.staticToken.enabled opts in to a shared token, for local use)',
    );
  let kube: ExecKube | null = null;
  let kubeError = '';
  try {
    kube = ExecKubeClient.fromSettings(c.kube, env);
  } catch (err) {
    kubeError = (err as Error).message;
  }
  const botToken = env.SLACK_BOT_TOKEN || undefined;
  const transport = c.slack.transport === 'auto' ? (botToken ? 'bot' : 'webhook') : c.slack.transport;
  if (transport === 'bot' && !botToken)
    throw new KubetriageError('CONFIG_INVALID', 'exec.slack.transport is bot but SLACK_BOT_TOKEN is not set');
  let notifier: ProposalNotifier | undefined;
  if (transport === 'bot' && botToken) {
    if (!c.slack.defaultChannel && Object.keys(c.slack.channels).length === 0)
      throw new KubetriageError(
        'CONFIG_INVALID',
        'Slack bot mode needs exec.slack.defaultChannel or exec.slack.channels (team → channel)',
      );
    notifier = new BotNotifier({
      token: botToken,
      channels: c.slack.channels,
      defaultChannel: c.slack.defaultChannel,
      apiUrl: c.slack.apiUrl,
      timeoutMs: c.slack.timeout,
      maxAttempts: c.slack.maxAttempts,
      maxRetryAfterMs: c.slack.maxRetryAfter,
      log: o.log,
    });
  }
  if (!env.SLACK_WEBHOOK_URL && !notifier && !staticToken && !kube) {
    // Nobody could approve anything: stay inert (no routes, no ledger file) rather than audit noise.
    o.log.warn(
      { kube: kubeError },
      'exec stage inactive: no SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN, no Kubernetes connection to authenticate API callers, no opted-in static token',
    );
    return NOOP;
  }
  if (!kube) {
    if (c.mode === 'execute')
      throw new KubetriageError('CONFIG_INVALID', `exec.mode is execute but: ${kubeError}`);
    o.log.warn({ err: kubeError }, 'exec: no Kubernetes connection; approvals will fail (audited)');
  }
  if (staticToken)
    o.log.warn(
      { actor: `static:${staticToken.name}` },
      '!!! exec.api.staticToken is ENABLED: anyone holding KUBETRIAGE_API_TOKEN can approve, reject and roll back as one shared identity. For local use only; in a cluster use Kubernetes tokens (kubetriage approve sends your kubeconfig credentials) !!!',
    );
  if (kube && c.mode === 'execute' && c.permissions.check) {
    const report = await checkPermissions(kube, c.policy.namespaces, { apiAuth: true });
    for (const line of report.tooBroad)
      o.log.error({ grant: line }, 'exec: credentials are broader than needed');
    for (const line of report.missing) o.log.error({ grant: line }, 'exec: credentials lack a needed grant');
    for (const line of report.apiAuthMissing)
      o.log.error(
        { grant: line },
        'exec: cannot review API callers (apply config/rbac/approval-api.yaml); `kubetriage approve` will answer 503',
      );
    if (report.missing.length)
      throw new KubetriageError('CONFIG_INVALID', `exec: cannot scale: ${report.missing.join('; ')}`);
    if (report.tooBroad.length && !c.permissions.allowBroad)
      throw new KubetriageError(
        'CONFIG_INVALID',
        `exec: refusing to run with credentials that can do more than scale (set exec.permissions.allowBroad to override):\n  ${report.tooBroad.join('\n  ')}`,
      );
    o.log.info(
      { tooBroad: report.tooBroad.length, incomplete: report.incomplete },
      'exec: permissions checked',
    );
  }
  const send = o.send;
  const mirror =
    c.audit.kafka && send
      ? (e: AuditEntry) =>
          void send(o.config.kafka.topics.audit, e.incident, Buffer.from(JSON.stringify(e))).catch(
            (err: Error) =>
              o.log.error({ err: err.message, seq: e.seq }, 'exec: audit mirror to Kafka failed'),
          )
      : undefined;
  const onAudit = o.onAudit;
  const observe =
    mirror || onAudit
      ? (e: AuditEntry) => {
          mirror?.(e);
          onAudit?.(e);
        }
      : undefined;
  // The page's history starts with what is on disk (a broken chain fails start() below anyway).
  if (onAudit && existsSync(c.audit.file)) await scanLedger(c.audit.file, onAudit).catch(() => undefined);
  // Replicated mode: the proposals topic is the ledger (the local file an optional copy; the incident
  // page's history comes from that copy, so a replica shows the history of what it wrote).
  const replicated = c.replicated.commandsTopic
    ? new ReplicatedApprovals({ config: o.config, log: o.log, registry: o.registry })
    : undefined;
  if (replicated) await replicated.prepare();
  const localLedger =
    !replicated || c.audit.localCopy
      ? new AuditLedger({ file: c.audit.file, registry: o.registry, ...(observe ? { mirror: observe } : {}) })
      : undefined;
  const kafkaLedger = replicated
    ? new KafkaProposalLedger({
        topic: c.replicated.proposalsTopic,
        partitions: replicated.partitions,
        send: replicated.send,
        local: localLedger,
        replica: replicated.replica,
        maxEntries: c.replicated.maxEntriesPerProposal,
        log: o.log,
        registry: o.registry,
      })
    : undefined;
  const ledger = (kafkaLedger ?? localLedger)!;
  // Test hooks for failover tests: the process dies right before (its `executing` intent is durable)
  // or right after its first scale write (before the outcome is recorded).
  const hook = env.KUBETRIAGE_TEST_HOOK;
  const die = () => void process.kill(process.pid, 'SIGKILL');
  if (hook)
    o.log.warn(
      { hook },
      '!!! KUBETRIAGE_TEST_HOOK is set: this process kills itself at that point of its first execution !!!',
    );
  const service = new ApprovalService({
    config: c,
    ledger,
    replicated: replicated !== undefined,
    hooks: {
      ...(hook === 'crash-before-scale-write' ? { beforeScaleWrite: die } : {}),
      ...(hook === 'crash-after-scale-write' ? { afterScaleWrite: die } : {}),
    },
    kube,
    webhookUrl: env.SLACK_WEBHOOK_URL || undefined,
    notifier,
    log: o.log,
    registry: o.registry,
    forgedSummaryIntervalMs: c.slack.forgedSummaryInterval,
    ...(o.tracing ? { tracing: o.tracing } : {}),
  });
  // Streams and verifies the ledger (a torn tail is quarantined and recorded), restores proposal states.
  await service.start();
  const identity = new ApiIdentity({
    kube,
    audiences: c.api.audiences,
    group: c.api.group,
    resource: c.api.resource,
    cacheSize: c.api.cacheSize,
    cacheTtlMs: c.api.cacheTtl,
    negativeCacheTtlMs: c.api.negativeCacheTtl,
    staticToken,
    registry: o.registry,
  });
  // Joins the commands group: each assignment restores its proposals before deciding their commands.
  if (replicated && kafkaLedger) await replicated.start(service, kafkaLedger, identity);
  await registerExecRoutes(o.http, {
    service,
    signingSecret: env.SLACK_SIGNING_SECRET || undefined,
    identity,
    replicated,
    outcomeWaitMs: c.replicated.outcomeWait,
    toleranceMs: c.slack.signatureTolerance,
    maxBodyBytes: c.slack.maxBodyBytes,
    forgedMax: c.slack.forgedRateLimit,
    forgedWindowMs: c.slack.forgedRateWindow,
  });
  o.log.info(
    {
      mode: c.mode,
      approvers: c.approvers.length,
      slack: notifier ? 'bot' : env.SLACK_WEBHOOK_URL ? 'webhook' : 'off',
      api: kube ? 'kubernetes' : staticToken ? 'static-token' : 'off',
      ledger: replicated
        ? `${c.replicated.proposalsTopic} (${replicated.partitions} partitions)`
        : c.audit.file,
      localCopy: localLedger ? c.audit.file : null,
      restored: localLedger?.restoredCount ?? 0,
    },
    'exec stage ready',
  );
  return {
    approvals: {
      service,
      identity,
      ...(replicated
        ? {
            replicated: {
              forward: replicated.forward.bind(replicated),
              outcomeWaitMs: c.replicated.outcomeWait,
            },
          }
        : {}),
    },
    onReport(value) {
      let report: TriageReport;
      try {
        report = Buffer.isBuffer(value) ? (JSON.parse(value.toString('utf8')) as TriageReport) : value;
      } catch {
        return;
      }
      if (!replicated) return void service.onReport(report);
      // The proposal's owner posts and decides it; a report without one is not forwarded.
      void replicated.propose(report)?.then((r) => {
        if (!r.ok)
          o.log.error(
            { err: r.error, incident: report.incident },
            'exec: proposal not forwarded to its owner',
          );
      });
    },
    async close(timeoutMs) {
      // The ledger then stays open for what is still running.
      const stop = async () => {
        await replicated?.close();
        await service.close();
      };
      return settledWithin(stop(), timeoutMs);
    },
  };
}
