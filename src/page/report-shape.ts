// What a triage report read from the triage topic must hold before the page renders it: the topic is
// shared infrastructure (another tool, an older or newer kubetriage may write to it), and the page reads
// these fields without further checks. Fields beyond them are allowed (documents may grow).
import { z } from 'zod';
import { SEVERITIES, TRIAGE_REPORT_SCHEMA, type TriageReport } from '../agents/report.ts';

const strings = z.array(z.string());

const reportSchema = z.looseObject({
  schema: z.literal(TRIAGE_REPORT_SCHEMA),
  incident: z.string().regex(/^inc-[0-9a-f]{20}$/),
  revision: z.number().int().min(1),
  at: z.string(),
  status: z.enum(['open', 'resolved']),
  severity: z.enum(SEVERITIES),
  team: z.string(),
  teamSource: z.string(),
  productionSource: z.string(),
  impact: z.looseObject({
    production: z.boolean(),
    userFacing: z.boolean(),
    allReplicasDown: z.boolean(),
    desiredReplicas: z.number().nullable(),
    availableReplicas: z.number().nullable(),
    affectedPods: z.number(),
    peers: strings,
    summary: z.string(),
  }),
  hypotheses: z.array(
    z.looseObject({ cause: z.string(), confidence: z.number(), evidence: strings, explanation: z.string() }),
  ),
  redHerrings: z.array(z.looseObject({ evidence: strings, explanation: z.string() })),
  proposal: z
    .looseObject({
      id: z.string().min(1),
      target: z.looseObject({ namespace: z.string(), kind: z.string(), name: z.string() }),
      fromReplicas: z.number().int(),
      toReplicas: z.number().int(),
      rollback: z.looseObject({ toReplicas: z.number().int() }),
      reason: z.string(),
      expiresAt: z.string(),
      blockedBy: z.string().optional(),
    })
    .nullable(),
  noProposalReason: z.string().nullable(),
});

export type ReportSkipReason = 'empty' | 'not_json' | 'foreign' | 'malformed';

/** The report, or why the record is not one the page can show. */
export function decodeReport(
  value: Buffer | undefined,
): { ok: true; report: TriageReport } | { ok: false; reason: ReportSkipReason; detail: string } {
  if (!value || value.length === 0) return { ok: false, reason: 'empty', detail: 'no value (a tombstone)' };
  let v: unknown;
  try {
    v = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: (err as Error).message.slice(0, 200) };
  }
  if ((v as { schema?: unknown } | null)?.schema !== TRIAGE_REPORT_SCHEMA)
    return { ok: false, reason: 'foreign', detail: `not a ${TRIAGE_REPORT_SCHEMA} document` };
  const r = reportSchema.safeParse(v);
  if (!r.success)
    return {
      ok: false,
      reason: 'malformed',
      detail: r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; '),
    };
  return { ok: true, report: r.data as unknown as TriageReport };
}
