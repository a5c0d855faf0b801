// The JSON schemas sent as Ollama's `format` (structured output): one per agent, narrowed per context
// (evidence ids, allowed targets) so a grammar-constrained model cannot even spell most wrong answers.
// Validation (validate.ts) checks everything again: a server may ignore `format`.
import type { ScaleCandidate } from '../policy.ts';
import { CAUSES, SEVERITIES } from '../report.ts';

export const MAX_HYPOTHESES = 5;
export const MAX_EXPLANATION = 400;
export const MAX_REASON = 300;

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
        maxItems: MAX_HYPOTHESES,
        items: {
          type: 'object',
          properties: {
            cause: { enum: [...CAUSES] },
            confidence: { type: 'number', minimum: 0, maximum: 1 },
            evidence: {
              type: 'array',
              maxItems: 10,
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
