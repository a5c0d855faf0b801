// The JSON schemas sent as Ollama's `format` (structured output): one per agent, narrowed per context
// (evidence ids, allowed targets) so a grammar-constrained model cannot even spell most wrong answers.
// Validation (validate.ts) checks everything again: a server may ignore `format`.
import type { ScaleCandidate } from '../policy.ts';
import { CAUSES, SEVERITIES } from '../report.ts';

export const MAX_HYPOTHESES = 5;
export const MAX_EXPLANATION = 400;
export const MAX_REASON = 300;

/**
 * Confidence as the grammar can enforce it. Ollama (v0.11, llama.cpp's JSON-schema grammar) ignores
 * `minimum`/`maximum` on `type: number` (SmolLM2-135M answered 1.2 through it, and the whole diagnosis
 * was rejected as `schema`); an enum of numbers is enforced. Steps of 0.05; validate.ts still checks.
 */
export const CONFIDENCE_STEPS: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);

/**
 * The diagnosis format admits at most this many hypotheses and cited ids each, so the longest answer it
 * allows fits agents.llm.maxOutputTokens (768 by default): 5 hypotheses × 10 ids × 400-character
 * explanations is ~1,250 tokens, and a cut answer is malformed JSON. Validation still accepts more.
 */
export const FORMAT_HYPOTHESES = 3;
const FORMAT_EVIDENCE = 5;

export function triageFormat(): Record<string, unknown> {
  return {
    title: 'kubetriage triage',
    type: 'object',
    properties: {
      severity: { enum: [...SEVERITIES] },
      impact: { type: 'string', maxLength: MAX_REASON },
    },
    required: ['severity', 'impact'],
  };
}

export function diagnosisFormat(evidenceIds: string[]): Record<string, unknown> {
  return {
    title: 'kubetriage diagnosis',
    type: 'object',
    properties: {
      hypotheses: {
        type: 'array',
        minItems: 1,
        maxItems: FORMAT_HYPOTHESES,
        items: {
          type: 'object',
          properties: {
            cause: { enum: [...CAUSES] },
            confidence: { enum: [...CONFIDENCE_STEPS] },
            evidence: {
              type: 'array',
              maxItems: FORMAT_EVIDENCE,
              items: evidenceIds.length ? { enum: evidenceIds } : { type: 'string' },
            },
            explanation: { type: 'string', maxLength: MAX_EXPLANATION },
          },
          required: ['cause', 'confidence', 'evidence', 'explanation'],
        },
      },
    },
    required: ['hypotheses'],
  };
}

export function executorFormat(candidates: readonly ScaleCandidate[]): Record<string, unknown> {
  return {
    title: 'kubetriage executor',
    type: 'object',
    properties: {
      action: {
        anyOf: [
          { type: 'null' },
          {
            type: 'object',
            properties: {
              namespace: { enum: [...new Set(candidates.map((c) => c.target.namespace))] },
              name: { enum: [...new Set(candidates.map((c) => c.target.name))] },
              toReplicas: {
                type: 'integer',
                minimum: Math.min(...candidates.map((c) => c.minTo)),
                maximum: Math.max(...candidates.map((c) => c.maxTo)),
              },
            },
            required: ['namespace', 'name', 'toReplicas'],
          },
        ],
      },
      reason: { type: 'string', maxLength: MAX_REASON },
    },
    required: ['action', 'reason'],
  };
}
