// Why a model's answer was not used. Every kind is a metric label (kubetriage_llm_failures_total);
// whatever the kind, the rules result stands.

export const LLM_FAILURE_KINDS = [
  /** No answer within agents.llm.timeout (queueing for a slot included), or a body that trickled past it. */
  'timeout',
  /** Connection refused, reset, DNS: the endpoint is not there. */
  'unreachable',
  /** The endpoint answered with a non-2xx status. */
  'http_error',
  /** The HTTP body was not an Ollama chat response (or was larger than agents.llm.maxResponseBytes). */
  'bad_response',
  /** The model's message content was not JSON. */
  'malformed_json',
  /** JSON of the wrong shape (missing fields, wrong types, out-of-range numbers). */
  'schema',
  /** A cause outside the closed set. */
  'invalid_cause',
  /** An evidence id the context does not have (or a hypothesis citing none). */
  'unknown_evidence',
  /** An action on a workload or namespace policy does not allow, or a replica count beyond its bounds. */
  'policy_violation',
  /** A severity more than one level from the rules engine's. */
  'out_of_bounds',
  /** Not called: the circuit breaker is open. */
  'circuit_open',
  /** Not called: over agents.llm.ratePerMinute. */
  'rate_limited',
  /** Not called: agents.llm.maxQueue calls already waiting. */
  'overloaded',
  /** Not called: an earlier agent's call for the same report failed at the endpoint. */
  'skipped',
] as const;

export type LlmFailureKind = (typeof LLM_FAILURE_KINDS)[number];

export interface LlmFailure {
  ok: false;
  kind: LlmFailureKind;
  message: string;
}

export function failure(kind: LlmFailureKind, message: string): LlmFailure {
  return { ok: false, kind, message };
}

/** Failures that say the endpoint is unwell: they feed the circuit breaker and skip the rest of a chain. */
export const ENDPOINT_FAILURES: ReadonlySet<LlmFailureKind> = new Set<LlmFailureKind>([
  'timeout',
  'unreachable',
  'http_error',
  'bad_response',
  'malformed_json',
]);
