import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const schema = JSON.parse(
  readFileSync(new URL('../../config/incident-context.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(schema);

/** Fails with every schema violation listed when a document does not match config/incident-context.schema.json. */
export function assertValidContext(doc: unknown): void {
  if (!validate(doc)) {
    throw new Error(
      `incident context violates its JSON Schema:\n${ajv.errorsText(validate.errors, { separator: '\n' })}\n${JSON.stringify(doc).slice(0, 2000)}`,
    );
  }
}
