// One YAML file, validated once at start-up; defaults live here and nowhere else.
// Secrets never come from the file: SASL credentials, Slack secrets etc. are read from the environment.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { duration } from './config-duration.ts';
import { execSchema } from './config-exec.ts';
import { floorsSchema } from './config-floors.ts';
import { notifySchema } from './config-notify.ts';
import { pageSchema } from './config-page.ts';
import { scaleOutSchema } from './config-scaleout.ts';
import { KubetriageError } from './errors.ts';
import { BUILTIN_PATTERN_NAMES, compileCustomPattern } from './redact.ts';

const topicList = (def: string) =>
  z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .default([def])
    .transform((v) => (typeof v === 'string' ? [v] : v));

const anomalyRule = z
  .object({
    name: z.string().min(1),
    /** Metric names the rule applies to; several names cover legacy and semconv spellings. */
    metrics: z.array(z.string().min(1)).min(1),
    detect: z.enum(['increase', 'above_baseline', 'below_ratio']),
    /** increase: smallest rise over the previous sample (in sample time: counter-runs.ts) that counts. */
    minDelta: z.number().positive().default(1),
    /** above_baseline: how many times the series' own recent mean the value must exceed. */
    factor: z.number().positive().default(2),
    /** above_baseline: samples needed before the baseline is trusted. */
    minSamples: z.number().int().min(1).default(5),
    /** above_baseline: the value must also be at least this (filters noise near zero). */
    minValue: z.number().default(0),
    /** below_ratio: metric names whose value is the denominator (e.g. desired replicas). */
    ratioTo: z.array(z.string().min(1)).default([]),
    threshold: z.number().min(0).max(1).default(0.75),
    /** The evidence kind a finding becomes (restart counters are restarts, not generic anomalies). */
    evidence: z.enum(['metric_anomaly', 'restart']).default('metric_anomaly'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.detect === 'below_ratio' && r.ratioTo.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['ratioTo'],
        message: 'below_ratio needs ratioTo (the denominator metric)',
      });
    }
  });

export type AnomalyRule = z.infer<typeof anomalyRule>;

export const DEFAULT_ANOMALIES: z.input<typeof anomalyRule>[] = [
  {
    name: 'restarts-rising',
    metrics: ['k8s.container.restarts', 'k8s.container.restart.count'],
    detect: 'increase',
    minDelta: 1,
    evidence: 'restart',
  },
  {
    name: 'replicas-unavailable',
    metrics: ['k8s.deployment.available', 'k8s.deployment.pod.available'],
    detect: 'below_ratio',
    ratioTo: ['k8s.deployment.desired', 'k8s.deployment.pod.desired'],
    threshold: 0.75,
  },
  {
    name: 'latency-p99-up',
    metrics: ['kubetriage.server.latency.p99'],
    detect: 'above_baseline',
    factor: 2,
    minSamples: 4,
    minValue: 50,
  },
  {
    name: 'error-rate-up',
    metrics: ['kubetriage.server.error_rate'],
    detect: 'above_baseline',
    factor: 3,
    minSamples: 4,
    minValue: 0.05,
  },
];

const kafkaSchema = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).default(['localhost:9092']),
    clientId: z.string().min(1).default('kubetriage'),
    groupId: z.string().min(1).default('kubetriage'),
    topics: z
      .object({
        logs: topicList('otlp_logs'),
        metrics: topicList('otlp_metrics'),
        traces: topicList('otlp_spans'),
        contexts: z.string().min(1).default('incident-contexts'),
        triage: z.string().min(1).default('incident-triage'),
        audit: z.string().min(1).default('incident-audit'),
        dlq: z.string().min(1).default('kubetriage-dlq'),
      })
      .strict()
      .prefault({}),
    /** Where a new consumer group starts. The Collector's kafkareceiver defaults to latest. */
    initialOffset: z.enum(['earliest', 'latest']).default('earliest'),
    /**
     * Records larger than this are dead-lettered undecoded (the exporter's default max is 1 MB). The
     * producer's and the consumer's size limits are derived from it (kafka/client-config.ts); librdkafka
     * takes at most 1,000,000,000 bytes per message.
     */
    maxRecordBytes: z
      .number()
      .int()
      .positive()
      .max(512 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /** Records fetched per consume call. */
    batchSize: z.number().int().min(1).max(100_000).default(1000),
    commitInterval: duration('1s'),
    /** How long an offset commit may stay unanswered before it counts as failed (it is retried). */
    commitTimeout: duration('10s'),
    /** When /readyz turns false because the consumer cannot do its job (see README, HTTP). */
    readiness: z
      .object({
        /**
         * Without partitions this long after joining or a revoke: the group is stuck, or we are. A
         * rebalance takes a few seconds (the broker's group.initial.rebalance.delay.ms is 3 s); after a
         * broker outage the group can take up to session.timeout.ms (45 s) to hand partitions back.
         */
        assignmentTimeout: duration('10s'),
        /** Offset commits failing this long: progress is not being saved. */
        commitFailureTimeout: duration('30s'),
      })
      .strict()
      .prefault({}),
    security: z
      .object({
        protocol: z.enum(['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl']).default('plaintext'),
        saslMechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).optional(),
        caFile: z.string().optional(),
      })
      .strict()
      .prefault({}),
    /** Extra librdkafka properties, passed through as-is for both consumer and producer. */
    librdkafka: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  })
  .strict();

const patterns = (def: string[]) => z.array(z.string().min(1)).default(def);

/** agents.productionNamespaces when not set: the weakest production source (see agents/production.ts). */
export const DEFAULT_PRODUCTION_NAMESPACES = ['production', 'prod', 'prod-*', '*-prod', '*-production'];

/** The agent chain (src/agents): triage, diagnosis, executor draft; rules always, a model when configured. */
const agentsSchema = z
  .object({
    /** Team named when the context has none (enrichment fills scope.team from labels). */
    defaultTeam: z.string().min(1).default('unassigned'),
    /**
     * Namespaces (glob patterns, `*` and `?`) whose incidents count as production for severity. Set by
     * you, it is asked first; left at this default, namespace labels, the resource attribute
     * deployment.environment(.name) and the cluster name are asked before these patterns.
     */
    productionNamespaces: patterns(DEFAULT_PRODUCTION_NAMESPACES),
    /** Environment values (namespace label / annotation, deployment.environment) meaning production. */
    productionEnvironments: patterns(['production', 'prod', 'prd', 'live', 'prod-*', 'production-*']),
    /** Environment values that are explicitly not production: never upgraded by a cluster name or pattern. */
    nonProductionEnvironments: patterns([
      'staging',
      'stage',
      'stg',
      'dev',
      'develop',
      'development',
      'test',
      'testing',
      'qa',
      'uat',
      'sandbox',
      'preview',
      'nonprod',
      'non-prod',
      'demo',
    ]),
    /** Cluster names that mean production (`k8s.cluster.name`, else `cluster`). */
    productionClusters: patterns([
      'prod',
      'production',
      'prod-*',
      'prd-*',
      '*-prod*',
      '*-prd',
      '*-prd-*',
      '*-production*',
    ]),
    /** Cluster names that are explicitly not production. */
    nonProductionClusters: patterns([
      'staging*',
      '*-staging*',
      'stg-*',
      '*-stg-*',
      'dev',
      'dev-*',
      '*-dev',
      '*-dev-*',
      'test-*',
      '*-test',
      '*-test-*',
      'qa-*',
      '*-qa-*',
      'sandbox*',
      'kind-*',
      'minikube',
    ]),
    /** A rollout counts as a cause only when the failures start after it, within this long. */
    rolloutWindow: duration('30m'),
    /**
     * A caller whose failed calls go to a peer with its own incident is a victim (dependency_failure),
     * and its own rollout a red herring, unless its errors began more than this long before the peer's.
     */
    dependencyLead: duration('2m'),
    /** Triage reports kept per (incident, revision, context hash); an unchanged context is never re-judged. */
    cacheEntries: z.number().int().min(1).max(1_000_000).default(10_000),
    /** What the executor may draft. It only ever drafts; a human approves. */
    policy: z
      .object({
        /** Namespaces (glob patterns) where a scale may be proposed. */
        allowedNamespaces: patterns(['*']),
        /** `namespace/name` glob patterns never proposed for scaling. */
        forbiddenWorkloads: patterns(['kube-system/*', 'kube-public/*']),
        minReplicas: z.number().int().min(0).default(1),
        maxReplicas: z.number().int().min(1).default(50),
        /** Largest replica change one proposal may make. */
        maxStep: z.number().int().min(1).default(10),
        /** Deployments (name glob patterns) that are canaries: a failing one is scaled down. */
        canaryPatterns: patterns(['*-canary']),
        /** A failing canary is scaled down to this (never below minReplicas). */
        canaryFloor: z.number().int().min(0).default(2),
        canaryScaleDown: z.boolean().default(true),
        /** Add replicas under saturation when no HPA manages the Deployment. */
        capacityScaleUp: z.boolean().default(true),
        /** Scale-up target as a multiple of the current replicas (at least one more, within maxStep). */
        scaleUpFactor: z.number().min(1).max(10).default(1.5),
        /** A proposal expires this long after the context it was drafted from. */
        proposalTtl: duration('15m'),
      })
      .strict()
      .prefault({})
      .superRefine((p, ctx) => {
        if (p.minReplicas > p.maxReplicas)
          ctx.addIssue({ code: 'custom', path: ['minReplicas'], message: 'must not exceed maxReplicas' });
      }),
    /** Ollama or an OpenAI-compatible server. Without a url the chain runs on rules alone (the deterministic baseline). */
    llm: z
      .object({
        url: z.url().nullable().default(null),
        /** `ollama`: its native /api/chat; `openai`: any OpenAI-compatible /v1 (url is the base URL, with /v1). */
        provider: z.enum(['ollama', 'openai']).default('ollama'),
        /** The environment variable holding the API key for `openai` (a key never lives in the file). */
        apiKeyEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .default('OPENAI_API_KEY'),
        model: z.string().min(1).default('llama3.1:8b'),
        /** Agents that ask the model (one bounded call each); the others use rules. */
        agents: z
          .array(z.enum(['triage', 'diagnosis', 'executor']))
          .default(['triage', 'diagnosis', 'executor']),
        /** Per call, including time queued for a concurrency slot. */
        timeout: duration('20s'),
        maxConcurrent: z.number().int().min(1).max(64).default(2),
        /** Calls waiting for a slot; beyond this a call is refused (rules stand). */
        maxQueue: z.number().int().min(0).max(10_000).default(32),
        ratePerMinute: z.number().min(0.1).default(60),
        burst: z.number().int().min(1).default(10),
        breaker: z
          .object({
            /** Consecutive endpoint failures that open the circuit. */
            failures: z.number().int().min(1).default(5),
            /** How long it stays open before one probe call is let through. */
            cooldown: duration('30s'),
          })
          .strict()
          .prefault({}),
        /** Redact secrets, tokens, emails and IP addresses before anything leaves the process. */
        redact: z.boolean().default(true),
        maxPromptChars: z.number().int().min(1000).max(200_000).default(12_000),
        /** Each piece of telemetry text (summaries, messages, log bodies) is cut to this. */
        maxTextChars: z.number().int().min(20).max(2000).default(240),
        maxEvidence: z.number().int().min(1).max(200).default(30),
        maxOutputTokens: z.number().int().min(64).max(8192).default(768),
        maxResponseBytes: z
          .number()
          .int()
          .min(1024)
          .default(256 * 1024),
        temperature: z.number().min(0).max(2).default(0),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const stringOrList = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

/** What a rule matches on the workload or object: glob patterns (`*`, `?`), any of a list. */
const ruleTarget = {
  /** A label for the rule, used in logs and in `teamSource` (`rule:<id>`); its path otherwise. */
  id: z.string().min(1).optional(),
  namespace: stringOrList.optional(),
  /** Object kind (Pod, Deployment, …) for events; workload kind for team and grouping rules. */
  kind: stringOrList.optional(),
  name: stringOrList.optional(),
};

function needsMatch(keys: readonly string[]) {
  return (r: Record<string, unknown>, ctx: z.RefinementCtx) => {
    if (!keys.some((k) => r[k] !== undefined))
      ctx.addIssue({
        code: 'custom',
        message: `a rule${r.id ? ` ("${r.id}")` : ''} needs at least one of ${keys.join(', ')}`,
      });
  };
}

/** Events that are known to be benign: dropped before grouping (counted as ignored). */
const ignoreRule = z
  .object({
    ...ruleTarget,
    /** Event reasons (glob patterns). */
    reason: stringOrList.optional(),
    /** A regular expression the event message must match. */
    message: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    needsMatch(['reason', 'namespace', 'kind', 'name', 'message'])(r, ctx);
    if (r.message === undefined) return;
    try {
      new RegExp(r.message);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: ['message'],
        message: `invalid regular expression /${r.message}/${r.id ? ` in rule "${r.id}"` : ''}: ${(err as Error).message}`,
      });
    }
  });

/** The enrichment stage (src/enrich): cluster metadata joined onto signals and incidents. */
const enrichSchema = z
  .object({
    /** `run` watches the cluster (list + watch). `replay` reads `--snapshot FILE` instead. */
    enabled: z.boolean().default(false),
    /** Kubeconfig file; null: in-cluster when `inCluster`, else KUBECONFIG or ~/.kube/config. */
    kubeconfig: z.string().min(1).nullable().default(null),
    /** Use the pod's service account (KUBERNETES_SERVICE_HOST and the mounted token). */
    inCluster: z.boolean().default(false),
    /** Kubeconfig context; null: its current-context. */
    context: z.string().min(1).nullable().default(null),
    /** Namespaces to watch; empty: all (needs cluster-wide list/watch). */
    namespaces: z.array(z.string().min(1)).default([]),
    /** Watch Nodes (cluster-scoped) for node conditions. */
    nodes: z.boolean().default(true),
    /**
     * Watch Jobs too (batch/v1; RBAC: jobs get/list/watch): Job → CronJob from ownerReferences.
     * Off: a Job's pods resolve to the CronJob by its Job naming pattern (`<cronjob>-<minutes>`).
     */
    jobs: z.boolean().default(false),
    /** Label keys naming the owning team, on the workload first, then on its namespace; in order. */
    teamLabels: z.array(z.string().min(1)).default(['team', 'app.kubernetes.io/part-of', 'owner']),
    /** Annotation keys naming the owning team, tried after the labels. */
    teamAnnotations: z.array(z.string().min(1)).default(['team', 'owner']),
    /**
     * Namespace label keys that may say the environment (production, staging, …), in order; `tier` last
     * because it often names an application tier (frontend), which then says nothing.
     */
    environmentLabels: z
      .array(z.string().min(1))
      .default(['environment', 'env', 'kubernetes.io/environment', 'app.kubernetes.io/environment', 'tier']),
    /** Namespace annotation keys that may say the environment, tried after the labels. */
    environmentAnnotations: z.array(z.string().min(1)).default(['environment', 'env']),
    /**
     * Pod-status terminations (lastState.terminated) older than this when first seen are history: a
     * first list reports every pod's last termination, however old. Current states (waiting,
     * unschedulable) are reported whatever their age.
     */
    statusLookback: duration('15m'),
    /** A deleted pod (or ReplicaSet) still resolves this long, for its late signals. */
    tombstoneTtl: duration('5m'),
    maxTombstones: z.number().int().min(0).default(50_000),
    /** `run` waits this long for the first list of every resource before consuming (then goes on). */
    syncTimeout: duration('30s'),
    /** Revisions kept in an incident's rollout timeline. */
    maxRollouts: z.number().int().min(1).max(100).default(10),
    rules: z
      .object({
        ignore: z.array(ignoreRule).default([]),
        /** Team overrides, checked before any label: the first matching rule names the team. */
        teams: z
          .array(
            z
              .object({ ...ruleTarget, team: z.string().min(1) })
              .strict()
              .superRefine(needsMatch(['namespace', 'kind', 'name'])),
          )
          .default([]),
        /** Grouping overrides: signals of matching workloads join the incident of `groupAs`. */
        grouping: z
          .array(
            z
              .object({
                ...ruleTarget,
                groupAs: z.object({ kind: z.string().min(1), name: z.string().min(1) }).strict(),
              })
              .strict()
              .superRefine(needsMatch(['namespace', 'kind', 'name'])),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.inCluster && e.kubeconfig !== null)
      ctx.addIssue({ code: 'custom', path: ['kubeconfig'], message: 'set either kubeconfig or inCluster' });
  });

export type EnrichConfig = z.infer<typeof enrichSchema>;

const REDACT_OUTPUTS = [
  'context',
  'report',
  'slack',
  'audit',
  'log',
  'llm',
  'stdout',
  'alertmanager',
  'page',
] as const;

/** A pattern added to the built-in ones: a JavaScript regular expression, validated here. */
const redactPattern = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a lowercase name (metric label): letters, digits, - and _'),
    regex: z.string().min(1),
    /** Extra flags (`g` is always set): i, m, s, u, v. */
    flags: z.string().optional(),
    /** Default `[REDACTED:<name>]`; `$1` etc. refer to the pattern's groups. */
    replacement: z.string().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (BUILTIN_PATTERN_NAMES.includes(p.name))
      ctx.addIssue({ code: 'custom', path: ['name'], message: `"${p.name}" is a built-in pattern's name` });
    try {
      compileCustomPattern(p);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: ['regex'],
        message: `pattern "${p.name}": ${(err as Error).message}`,
      });
    }
  });

/** Redaction of every output (contexts, reports, Slack, audit, logs, LLM prompts): src/core/redact.ts. */
const redactSchema = z
  .object({
    enabled: z.boolean().default(true),
    patterns: z.array(redactPattern).default([]),
    /** Built-in patterns switched off by name. */
    disable: z
      .array(
        z.string().refine((n) => BUILTIN_PATTERN_NAMES.includes(n), {
          message: `not a built-in pattern (${BUILTIN_PATTERN_NAMES.join(', ')})`,
        }),
      )
      .default([]),
    /** Outputs where emails and IP addresses are redacted as well (they are not credentials). */
    personalData: z.array(z.enum(REDACT_OUTPUTS)).default(['llm']),
  })
  .strict();

export const configSchema = z
  .object({
    /** Name of the cluster the telemetry comes from; `k8s.cluster.name` on a resource wins. */
    cluster: z.string().min(1).default('default'),
    kafka: kafkaSchema.prefault({}),
    dedup: z
      .object({
        window: duration('5m'),
        maxEntries: z.number().int().min(100).default(200_000),
      })
      .strict()
      .prefault({}),
    grouping: z
      .object({
        groupWait: duration('30s'),
        groupInterval: duration('1m'),
        resolveTimeout: duration('5m'),
        /**
         * A quiet incident whose fault still shows in the cluster (a Pending or waiting pod, replicas
         * missing) stays open; the cluster is asked again this often.
         */
        resolveRecheck: duration('1m'),
        /** Evidence items kept per incident; the rest are counted in stats.droppedEvidence. */
        maxEvidence: z.number().int().min(1).max(1000).default(50),
        maxOpenIncidents: z.number().int().min(1).default(10_000),
        /** How long a rollout seen on a workload is remembered for incidents that open later. */
        rolloutMemory: duration('30m'),
        /** At start-up, take over incidents still open in the contexts topic (same ids, revisions go on). */
        restore: z.boolean().default(true),
        /** How far back in the contexts topic the restore reads. */
        restoreLookback: duration('2h'),
      })
      .strict()
      .prefault({}),
    /**
     * Cross-incident correlation: failing client spans build a call graph (caller → callee Service →
     * workloads), and a caller's incident links to its peer's open incident (context `related`).
     */
    correlation: z
      .object({
        enabled: z.boolean().default(true),
        /** An edge with no failed call for this long is forgotten (record clock). */
        edgeTtl: duration('30m'),
        /** Callees remembered per calling workload; the least recently failing goes first. */
        maxEdgesPerWorkload: z.number().int().min(1).max(1000).default(32),
        /** Calling workloads remembered; the least recently failing goes first. */
        maxWorkloads: z.number().int().min(1).default(20_000),
        /** Related incidents listed per context. */
        maxRelated: z.number().int().min(1).max(200).default(20),
      })
      .strict()
      .prefault({}),
    anomalies: z.array(anomalyRule).prefault(DEFAULT_ANOMALIES),
    /** Event reasons that are ordinary life, not trouble (Warning events are trouble unless listed). */
    normalReasonsOfInterest: z.array(z.string()).default(['ScalingReplicaSet']),
    /** Span latency and error-rate series are cut into buckets of this size. */
    spanBucket: duration('30s'),
    /**
     * Server spans a bucket needs before its p99 and error rate count as a sample: with a handful of
     * spans one slow request is the p99 (the noise-only scenario raised false latency incidents).
     */
    spanMinSamples: z.number().int().min(1).default(10),
    floors: floorsSchema.prefault({}),
    scaleOut: scaleOutSchema.prefault({}),
    enrich: enrichSchema.prefault({}),
    agents: agentsSchema.prefault({}),
    exec: execSchema.prefault({}),
    /** Alertmanager routing of triage reports (src/notify); off by default. */
    notify: notifySchema.prefault({}),
    redact: redactSchema.prefault({}),
    /** The incident page on the HTTP port (src/page). */
    page: pageSchema.prefault({}),
    http: z
      .object({
        /** Loopback unless configured: the Deployment (config/deploy) passes --host 0.0.0.0 explicitly. */
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        /**
         * SIGTERM to exit, whatever the broker does: below Kubernetes' default 30 s
         * terminationGracePeriodSeconds, so we exit (and say what we could not commit) before SIGKILL.
         */
        grace: duration('25s'),
      })
      .strict()
      .prefault({}),
    /** Traces of kubetriage itself (src/core/tracing.ts); off: the OpenTelemetry SDK is not even loaded. */
    tracing: z
      .object({
        enabled: z.boolean().default(false),
        /** OTLP/HTTP traces URL (…/v1/traces); null: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else localhost:4318. */
        endpoint: z.url().nullable().default(null),
        /** OTEL_SERVICE_NAME overrides it. */
        serviceName: z.string().min(1).default('kubetriage'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type AgentsConfig = Config['agents'];

/** Validates a parsed config object; the error names every bad key by its path. */
export function validateConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const path = i.path.length ? i.path.join('.') : '(root)';
      return `  ${path}: ${i.message}`;
    });
    throw new KubetriageError('CONFIG_INVALID', `Invalid ${source}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * Loads the YAML file (or the defaults when none is given), then applies the environment overrides the
 * reference Deployment uses: KAFKA_BROKERS (comma-separated), INCIDENT_TOPIC (the logs input topic)
 * and OUTPUT_TOPIC (the context topic).
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new KubetriageError(
        'CONFIG_INVALID',
        `Cannot read config file ${file}: ${(err as Error).message}`,
      );
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new KubetriageError(
        'CONFIG_INVALID',
        `Config file ${file} is not valid YAML: ${(err as Error).message}`,
      );
    }
  }
  const config = validateConfig(raw, `config file ${file ?? '(defaults)'}`);
  return applyEnv(config, env);
}

export function applyEnv(config: Config, env: NodeJS.ProcessEnv): Config {
  const brokers = env.KAFKA_BROKERS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (brokers?.length) config.kafka.brokers = brokers;
  if (env.INCIDENT_TOPIC) config.kafka.topics.logs = [env.INCIDENT_TOPIC];
  if (env.OUTPUT_TOPIC) config.kafka.topics.contexts = env.OUTPUT_TOPIC;
  return config;
}
