// The three agents' requests to the model. Each carries the rendered context plus what the rules
// engine and the policy already decided, so the model refines within those bounds instead of starting
// from nothing (and a small model has a good answer to copy).
import type { DiagnosisResult } from '../diagnosis.ts';
import type { ScaleCandidate } from '../policy.ts';
import { CAUSES, type Hypothesis } from '../report.ts';
import type { TriageResult } from '../triage.ts';
import { type ChatMessage, UNTRUSTED_NOTE } from './prompt.ts';

const SYSTEM_BASE =
  'You are part of kubetriage, which triages Kubernetes incidents for on-call engineers. ' +
  'Answer with one JSON object that matches the given schema and nothing else. ' +
  `${UNTRUSTED_NOTE} Only evidence ids from the list exist; never invent one.`;

function system(role: string): ChatMessage {
  return { role: 'system', content: `${SYSTEM_BASE}\n${role}` };
}

export function triageMessages(context: string, rules: TriageResult): ChatMessage[] {
  return [
    system(
      'You are the triage agent: judge severity (SEV1 most severe .. SEV4) from the blast radius and describe the impact in one sentence.',
    ),
    {
      role: 'user',
      content:
        `${context}\n\nRules assessment: ${rules.severity}. ${rules.impact.summary}.\n` +
        'Severity may differ from the rules assessment by at most one level, and only if the evidence justifies it. ' +
        'Reply {"severity": "SEV1".."SEV4", "impact": "<one sentence>"}.',
    },
  ];
}

function listHypotheses(hs: Hypothesis[]): string {
  return hs
    .map((h, i) => `${i + 1}. ${h.cause} (${h.confidence}) cites ${h.evidence.join(', ')}: ${h.explanation}`)
    .join('\n');
}

export function diagnosisMessages(context: string, rules: DiagnosisResult): ChatMessage[] {
  return [
    system(
      'You are the diagnosis agent: correlate Kubernetes events, restarts, metrics, span errors and rollouts into ranked hypotheses about the cause. ' +
        'A rollout is a cause only if failures began after it, on its pods.',
    ),
    {
      role: 'user',
      content:
        `${context}\n\nAllowed causes: ${CAUSES.join(', ')}.\n` +
        `Rules engine hypotheses, best first:\n${listHypotheses(rules.hypotheses)}\n` +
        `${rules.redHerrings.map((r) => r.explanation).join('\n')}\n` +
        'Re-rank or refine these: at most 5 hypotheses, best first, each citing evidence ids from the list, confidence between 0 and 1, and an explanation under 400 characters.',
    },
  ];
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
  return [
    system(
      'You are the executor agent: draft at most one safe, reversible next step for a human to approve. ' +
        'You can only choose among the allowed actions listed below (or none). Nothing else can be executed.',
    ),
    {
      role: 'user',
      content:
        `${context}\n\nDiagnosis, best first:\n${listHypotheses(hypotheses.slice(0, 3))}\n\n` +
        `Allowed actions (from policy):\n${options}\n` +
        'Reply {"action": {"namespace": ..., "name": ..., "toReplicas": ...}, "reason": "..."} to choose one, or {"action": null, "reason": "..."} if none is safe.',
    },
  ];
}
