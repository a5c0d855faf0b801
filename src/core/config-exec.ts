// The `exec` config section (src/exec): Slack proposals, approvals, scale execution, audit ledger.
// Defaults live here. Secrets never come from the file: SLACK_WEBHOOK_URL, SLACK_SIGNING_SECRET and
// KUBETRIAGE_API_TOKEN (only with exec.api.staticToken.enabled) are read from the environment.
import { z } from 'zod';
import { duration } from './config-duration.ts';

/** Slack user IDs: U… (or W… on Enterprise Grid), upper-case letters and digits. */
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

export const execSchema = z
  .object({
    /** Off: reports are not posted, no approvals route. */
    enabled: z.boolean().default(true),
    /** `dry-run` sends every write with server-side dryRun=All (nothing changes); `execute` changes replicas. */
    mode: z.enum(['dry-run', 'execute']).default('dry-run'),
    /**
     * Who may approve, reject and roll back: Slack user IDs (U… or W…), never names: a Slack username
     * or display name is changed by its owner at will, so matching it would let anyone become an
     * approver. Empty: nobody.
     */
    approvers: z
      .array(
        z
          .string()
          .min(1)
          .regex(SLACK_USER_ID, {
            error: (iss) =>
              `"${String(iss.input)}" is not a Slack user ID: approvers are matched by ID only (U… or W…, e.g. U024BE7LH; in Slack: profile → ⋮ → Copy member ID), because names can be changed by their owners`,
          }),
      )
      .default([]),
    slack: z
      .object({
        /** Webhook POST timeout. */
        timeout: duration('10s'),
        /** Attempts per message (429 and 5xx are retried, honouring Retry-After). */
        maxAttempts: z.number().int().min(1).max(10).default(4),
        /** A Retry-After longer than this is not waited for: the post fails (audited). */
        maxRetryAfter: duration('30s'),
        /** Signed requests older (or further in the future) than this are refused. */
        signatureTolerance: duration('5m'),
        /** Largest interaction request body: Slack's are a few KiB; bigger ones get 413 unread. */
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(1024 * 1024)
          .default(64 * 1024),
        /** Requests with a failed signature answered per window (all senders together), then 429. */
        forgedRateLimit: z.number().int().min(1).default(60),
        forgedRateWindow: duration('1m'),
        /** Forged requests are audited as one `forged_requests` summary entry per this interval. */
        forgedSummaryInterval: duration('1m'),
        /**
         * `webhook` (SLACK_WEBHOOK_URL) or `bot` (SLACK_BOT_TOKEN, chat.postMessage/chat.update: the
         * proposal is updated in place and details go to its thread). `auto`: bot when the token is set.
         */
        transport: z.enum(['auto', 'webhook', 'bot']).default('auto'),
        /** Bot mode: channel (ID or #name) per team; teams not listed go to `defaultChannel`. */
        channels: z.record(z.string().min(1), z.string().min(1)).default({}),
        defaultChannel: z.string().min(1).nullable().default(null),
        /** Bot mode: Slack Web API base URL (tests point it at a fake). */
        apiUrl: z.string().url().default('https://slack.com/api/'),
      })
      .strict()
      .prefault({}),
    policy: z
      .object({
        /** Namespaces (glob patterns) where scaling is allowed. */
        namespaces: z.array(z.string().min(1)).default(['*']),
        minReplicas: z.number().int().min(0).default(1),
        maxReplicas: z.number().int().min(1).default(50),
        /** Largest |to − from| a single action may change. */
        maxStep: z.number().int().min(1).default(10),
        /** After an execution or rollback on a workload, further actions on it wait this long. */
        cooldown: duration('10m'),
        /**
         * Workloads managed by Argo CD or Flux (their labels, annotations, field managers): `refuse` a
         * scale (the controller puts the replicas back from Git), `warn` (proceed, say so) or `allow`.
         * Helm without a controller is at most a warning. `rules`: per namespace globs, first match wins.
         */
        gitops: z
          .object({
            mode: z.enum(['refuse', 'warn', 'allow']).default('refuse'),
            rules: z
              .array(
                z
                  .object({
                    namespaces: z.array(z.string().min(1)).min(1),
                    mode: z.enum(['refuse', 'warn', 'allow']),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        /** Append-only JSONL ledger, chained by hash (`kubetriage audit verify`). */
        file: z.string().min(1).default('kubetriage-audit.jsonl'),
        /** Also mirror every entry to kafka.topics.audit (incident-audit). */
        kafka: z.boolean().default(false),
        /**
         * Replicated mode (exec.replicated.commandsTopic set): the proposals topic is the ledger; also
         * keep this replica's entries in `file`, in its own hash chain. Off: no local file at all.
         */
        localCopy: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    kube: z
      .object({
        /**
         * A kubeconfig file (contexts, exec credential plugins, OIDC); null = url/tokenFile/caFile below
         * (in-cluster by default). Never the default loading rules: a developer's admin kubeconfig must
         * not be picked up by accident.
         */
        kubeconfig: z.string().min(1).nullable().default(null),
        /** Context in `kubeconfig`; null = its current-context. */
        context: z.string().min(1).nullable().default(null),
        /** API server URL; null = in-cluster (KUBERNETES_SERVICE_HOST/PORT). */
        url: z.string().url().nullable().default(null),
        tokenFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
        caFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'),
        timeout: duration('10s'),
        /** Conflicts (409) re-read and re-checked at most this many times. */
        maxConflicts: z.number().int().min(0).max(10).default(3),
      })
      .strict()
      .prefault({}),
    /** `/api/proposals/…` (`kubetriage approve|reject|rollback`): who the caller is and what they may do. */
    api: z
      .object({
        /** TokenReview audiences the caller's token must carry; empty = the API server's own. */
        audiences: z.array(z.string().min(1)).default([]),
        /** SubjectAccessReview attributes: verb = the action (approve|reject|rollback|get). */
        group: z.string().min(1).default('kubetriage.io'),
        resource: z.string().min(1).default('proposals'),
        /** Bounded caches of TokenReview and SubjectAccessReview answers (entries each). */
        cacheSize: z.number().int().min(1).max(100_000).default(1024),
        /** Grants reused this long: a revoked binding or token stops working within it. */
        cacheTtl: duration('10s'),
        /** Refusals reused this long: shorter, so a binding just made works soon. */
        negativeCacheTtl: duration('2s'),
        staticToken: z
          .object({
            /**
             * Opt-in, for local use only: KUBETRIAGE_API_TOKEN (env) is accepted as one shared identity,
             * recorded as `static:<name>`, with every action allowed. Logged loudly at start.
             */
            enabled: z.boolean().default(false),
            name: z
              .string()
              .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits and ._@- only, at most 64')
              .default('local'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Approvals on any replica (src/exec/replicated.ts): clicks and API calls are verified where they
     * arrive and forwarded on `commandsTopic` (keyed by proposal id); the replica owning the proposal's
     * partition decides on state restored from `proposalsTopic` (compacted, co-partitioned). Null
     * commandsTopic: off, each process keeps its own proposals (one replica).
     */
    replicated: z
      .object({
        commandsTopic: z.string().min(1).nullable().default(null),
        proposalsTopic: z.string().min(1).default('kubetriage-proposals'),
        /** Partitions of both topics when they are created; existing topics must have equal counts. */
        partitions: z.number().int().min(1).max(1000).default(6),
        /** Replication factor of topics created here; -1: the broker's default.replication.factor. */
        replicationFactor: z.number().int().min(-1).max(10).default(-1),
        /** Consumer group of the commands topic; null: `<kafka.groupId>-approvals`. */
        groupId: z.string().min(1).nullable().default(null),
        /** A click is answered once its command is acknowledged; no ack within this: 503 (Slack retries). */
        ackTimeout: duration('2s'),
        /** An API call waits this long for the outcome when this replica owns the proposal; else 202. */
        outcomeWait: duration('10s'),
        /** Reading a partition's proposal states back on assignment. */
        restoreTimeout: duration('60s'),
        /** On revoke, decisions in flight get this long to finish before the partitions are released. */
        revokeTimeout: duration('30s'),
        /** A replica that stops answering loses its partitions after this (librdkafka session.timeout.ms). */
        sessionTimeout: duration('10s'),
        /** Refusals and ignored duplicates beyond this many entries of one proposal are not chained (counted). */
        maxEntriesPerProposal: z.number().int().min(20).max(2000).default(200),
      })
      .strict()
      .prefault({}),
    permissions: z
      .object({
        /** In execute mode, check our own RBAC at start-up (SelfSubjectRulesReview/AccessReview). */
        check: z.boolean().default(true),
        /** Start even when the credentials can do more than scaling (logged loudly). */
        allowBroad: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ExecConfig = z.infer<typeof execSchema>;
export type ExecConfigInput = z.input<typeof execSchema>;

/** Defaults with overrides, for tests and the CLI. */
export function execConfig(input: ExecConfigInput = {}): ExecConfig {
  return execSchema.parse(input);
}
