// The three agents' requests to the model. Each carries the rendered context plus what the rules
// engine and the policy already decided, so the model refines within those bounds instead of starting
// from nothing (and a small model has a good answer to copy).
// The three requests for one context start with the same tokens (shared system message, then the
// context); each agent's role and instructions come after it. Ollama keeps the last prompt's KV cache
// per slot and reuses the longest common prefix, so the context is read once per incident, not three
// times (on 2 CPU cores: ~4.5 s of prompt reading saved per later agent on a 1000-token context).
import type { DiagnosisResult } from '../diagnosis.ts';
import type { ScaleCandidate } from '../policy.ts';
import { CAUSES, type Hypothesis } from '../report.ts';
import type { TriageResult } from '../triage.ts';
import { type ChatMessage, UNTRUSTED_NOTE } from './prompt.ts';
import { FORMAT_HYPOTHESES, MAX_EXPLANATION } from './schemas.ts';

const SYSTEM_BASE =
  'You are part of kubetriage, which triages Kubernetes incidents for on-call engineers. ' +
  'Answer with one JSON object that matches the given schema and nothing else. ' +
  `${UNTRUSTED_NOTE} Only evidence ids from the list exist; never invent one.`;

const SYSTEM: ChatMessage = { role: 'system', content: SYSTEM_BASE };

/** The shared prefix (system message, context), then this agent's role and instructions. */
function request(context: string, role: string, instructions: string): ChatMessage[] {
  return [SYSTEM, { role: 'user', content: `${context}\n\n${role}\n${instructions}` }];
}

export function triageMessages(context: string, rules: TriageResult): ChatMessage[] {
  return request(
    context,
    'You are the triage agent: judge severity (SEV1 most severe .. SEV4) from the blast radius and describe the impact in one sentence.',
    `Rules assessment: ${rules.severity}. ${rules.impact.summary}.\n` +
      'Severity may differ from the rules assessment by at most one level, and only if the evidence justifies it. ' +
      'Reply {"severity": "SEV1".."SEV4", "impact": "<one sentence>"}.',
  );
}

function listHypotheses(hs: Hypothesis[]): string {
  return hs
    .map((h, i) => `${i + 1}. ${h.cause} (${h.confidence}) cites ${h.evidence.join(', ')}: ${h.explanation}`)
    .join('\n');
}

export function diagnosisMessages(context: string, rules: DiagnosisResult): ChatMessage[] {
  return request(
    context,
    'You are the diagnosis agent: correlate Kubernetes events, restarts, metrics, span errors and rollouts into ranked hypotheses about the cause. ' +
      'A rollout is a cause only if failures began after it, on its pods.',
    `Allowed causes: ${CAUSES.join(', ')}.\n` +
      `Rules engine hypotheses, best first:\n${listHypotheses(rules.hypotheses)}\n` +
      `${rules.redHerrings.map((r) => r.explanation).join('\n')}\n` +
      `Re-rank or refine these: at most ${FORMAT_HYPOTHESES} hypotheses, best first, each citing evidence ids from the list, confidence between 0 and 1, and an explanation under ${MAX_EXPLANATION} characters.`,
  );
}

export function executorMessages(
  context: string,
  hypotheses: Hypothesis[],
  candidates: readonly ScaleCandidate[],
): ChatMessage[] {
  const options = candidates
    .map(
      (c, i) =>
        `${i + 1}. scale Deployment ${c.target.namespace}/${c.target.name} from ${c.fromReplicas} to a replica count between ${c.minTo} and ${c.maxTo} (rules suggest ${c.toReplicas}): ${c.why}`,
    )
    .join('\n');
  return request(
    context,
    'You are the executor agent: draft at most one safe, reversible next step for a human to approve. ' +
      'You can only choose among the allowed actions listed below (or none). Nothing else can be executed.',
    `Diagnosis, best first:\n${listHypotheses(hypotheses.slice(0, 3))}\n\n` +
      `Allowed actions (from policy):\n${options}\n` +
      'Reply {"action": {"namespace": ..., "name": ..., "toReplicas": ...}, "reason": "..."} to choose one, or {"action": null, "reason": "..."} if none is safe.',
  );
}
