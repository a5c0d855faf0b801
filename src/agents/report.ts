// The triage report document (../../shared/README.md "Documents written"); config/triage-report.schema.json
// is its JSON Schema. Field order is fixed by construction so rules-engine output is byte-stable.

export const TRIAGE_REPORT_SCHEMA = 'kubetriage.io/triage/v1';

/** The closed cause set. Anything else from a model is rejected. */
export const CAUSES = [
  'bad_rollout',
  'oom',
  'crash_loop',
  'image_pull',
  'config_error',
  'probe_failure',
  'scheduling',
  'node_pressure',
  'dependency_failure',
  'capacity',
  'unknown',
] as const;
export type Cause = (typeof CAUSES)[number];

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const AGENTS = ['triage', 'diagnosis', 'executor'] as const;
export type AgentName = (typeof AGENTS)[number];

/** `rules`, or `llm:<model>` when a model's validated output was used. */
export type Engine = string;

export interface Impact {
  production: boolean;
  /** Server spans of the workload failed or its server latency / error rate is anomalous. */
  userFacing: boolean;
  allReplicasDown: boolean;
  desiredReplicas: number | null;
  availableReplicas: number | null;
  /** Distinct pods named by the evidence (evidence keeps at most 10 per item, so this is a floor). */
  affectedPods: number;
  /** Other services the evidence names as failing peers. */
  peers: string[];
  /** One line a human reads first. */
  summary: string;
}

export interface Hypothesis {
  cause: Cause;
  confidence: number;
  evidence: string[];
  explanation: string;
}

export interface RedHerring {
  evidence: string[];
  explanation: string;
}

export interface Proposal {
  id: string;
  action: 'scale';
  target: { namespace: string; kind: 'Deployment'; name: string };
  fromReplicas: number;
  toReplicas: number;
  rollback: { toReplicas: number };
  reason: string;
  expiresAt: string;
  /**
   * Argo CD or Flux manages the target (the context's scope.managedBy): they would put the replicas
   * back; what to do instead. The exec stage re-checks the live Deployment and applies exec.policy.gitops.
   */
  blockedBy?: string;
}

export interface Fallback {
  agent: AgentName;
  /** An LlmFailureKind (llm/failure.ts). */
  kind: string;
}

export interface TriageReport {
  schema: typeof TRIAGE_REPORT_SCHEMA;
  incident: string;
  revision: number;
  engine: Engine;
  /** Which engine produced each part; `engine` is `llm:<model>` when any part came from the model. */
  engines: Record<AgentName, Engine>;
  /** LLM answers that were rejected or never came, per agent, with the failure kind. */
  fallbacks: Fallback[];
  /** The context's `timings.updated`: the report's "now" (also in replay, so output is deterministic). */
  at: string;
  status: 'open' | 'resolved';
  scope: { cluster: string; namespace: string; workload: { kind: string; name: string } };
  severity: Severity;
  team: string;
  /** `context` (or the context's teamSource) when the context named the team, `default` otherwise. */
  teamSource: string;
  /** Why impact.production is what it is: `config:…`, `label:…`, `resource:…`, `cluster:<name>`, `default:…`, `none`. */
  productionSource: string;
  impact: Impact;
  hypotheses: Hypothesis[];
  redHerrings: RedHerring[];
  proposal: Proposal | null;
  /** Why there is no proposal (null when there is one). */
  noProposalReason: string | null;
}
