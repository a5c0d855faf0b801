// A model's answer is used only if it parses, has the right shape, names causes from the closed set,
// cites evidence the context has, and (executor) picks an action policy already allowed. Anything else
// is a typed failure; the caller keeps the rules result.
import { z } from 'zod';
import { checkAction, type ScaleCandidate } from '../policy.ts';
import { CAUSES, type Cause, type Hypothesis, SEVERITIES, type Severity } from '../report.ts';
import { failure, type LlmFailure } from './failure.ts';
import { cleanText } from './prompt.ts';
import { MAX_EXPLANATION, MAX_HYPOTHESES, MAX_REASON } from './schemas.ts';

export type Valid<T> = { ok: true; value: T } | LlmFailure;

// Shapes are loose on purpose (strings, not enums): a cause outside the set is its own failure kind.
const triageShape = z.object({ severity: z.string(), impact: z.string() });
const diagnosisShape = z.object({
  hypotheses: z
    .array(
      z.object({
        cause: z.string(),
        confidence: z.number().min(0).max(1),
        evidence: z.array(z.string()).max(50),
        explanation: z.string(),
      }),
    )
    .min(1)
    .max(20),
});
const executorShape = z.object({
  action: z.object({ namespace: z.string(), name: z.string(), toReplicas: z.number() }).nullable(),
  reason: z.string(),
});

function shapeError(err: z.ZodError): LlmFailure {
  const i = err.issues[0];
  return failure('schema', `${i?.path.join('.') || '(root)'}: ${i?.message ?? 'invalid'}`);
}

/** Text a model wrote goes into reports humans read: one line, bounded, nothing that looks like a fence. */
function modelText(s: string, max: number): string {
  return cleanText(s.trim(), max, false);
}

export function validateTriage(
  value: unknown,
  rulesSeverity: Severity,
): Valid<{ severity: Severity; impact: string }> {
  const p = triageShape.safeParse(value);
  if (!p.success) return shapeError(p.error);
  const sev = p.data.severity as Severity;
  if (!SEVERITIES.includes(sev))
    return failure('schema', `severity ${JSON.stringify(p.data.severity)} is not SEV1..SEV4`);
  // Severity follows from measured blast radius; a model may shade it one level, not overturn it.
  if (Math.abs(SEVERITIES.indexOf(sev) - SEVERITIES.indexOf(rulesSeverity)) > 1)
    return failure(
      'out_of_bounds',
      `severity ${sev} is more than one level from the rules' ${rulesSeverity}`,
    );
  return { ok: true, value: { severity: sev, impact: modelText(p.data.impact, MAX_REASON) } };
}

export function validateDiagnosis(value: unknown, evidenceIds: ReadonlySet<string>): Valid<Hypothesis[]> {
  const p = diagnosisShape.safeParse(value);
  if (!p.success) return shapeError(p.error);
  const out: Hypothesis[] = [];
  for (const h of p.data.hypotheses) {
    if (!(CAUSES as readonly string[]).includes(h.cause))
      return failure(
        'invalid_cause',
        `cause ${JSON.stringify(h.cause.slice(0, 60))} is not in the closed set`,
      );
    const unknown = h.evidence.find((id) => !evidenceIds.has(id));
    if (unknown !== undefined)
      return failure(
        'unknown_evidence',
        `evidence ${JSON.stringify(unknown.slice(0, 60))} is not in the context`,
      );
    if (h.evidence.length === 0 && h.cause !== 'unknown')
      return failure('unknown_evidence', `hypothesis ${h.cause} cites no evidence`);
    if (out.some((o) => o.cause === h.cause)) continue;
    out.push({
      cause: h.cause as Cause,
      confidence: Math.round(h.confidence * 100) / 100,
      evidence: [...new Set(h.evidence)].slice(0, 10),
      explanation: modelText(h.explanation, MAX_EXPLANATION),
    });
    if (out.length === MAX_HYPOTHESES) break;
  }
  return { ok: true, value: out };
}

export function validateExecutor(
  value: unknown,
  candidates: readonly ScaleCandidate[],
): Valid<{ choice: ScaleCandidate | null; toReplicas: number; reason: string }> {
  const p = executorShape.safeParse(value);
  if (!p.success) return shapeError(p.error);
  const reason = modelText(p.data.reason, MAX_REASON);
  if (p.data.action === null) return { ok: true, value: { choice: null, toReplicas: 0, reason } };
  const check = checkAction(candidates, p.data.action);
  if (!check.ok) return failure('policy_violation', check.reason);
  return { ok: true, value: { choice: check.candidate, toReplicas: p.data.action.toReplicas, reason } };
}
