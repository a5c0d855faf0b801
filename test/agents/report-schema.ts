import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { TriageReport } from '../../src/agents/report.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';

const schema = JSON.parse(
  readFileSync(new URL('../../config/triage-report.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(schema);

/**
 * Fails unless the report matches config/triage-report.schema.json and, given its context, judges that
 * revision and cites only evidence the context has.
 */
export function assertValidReport(
  report: unknown,
  context?: IncidentContextDoc,
): asserts report is TriageReport {
  if (!validate(report)) {
    throw new Error(
      `triage report violates its JSON Schema:\n${ajv.errorsText(validate.errors, { separator: '\n' })}\n${JSON.stringify(report).slice(0, 2000)}`,
    );
  }
  if (!context) return;
  const r = report as TriageReport;
  if (r.incident !== context.id || r.revision !== context.revision)
    throw new Error(
      `report is for ${r.incident}@${r.revision}, context is ${context.id}@${context.revision}`,
    );
  const ids = new Set(context.evidence.map((e) => e.id));
  for (const h of [...r.hypotheses, ...r.redHerrings])
    for (const id of h.evidence) if (!ids.has(id)) throw new Error(`report cites ${id}, not in the context`);
}
