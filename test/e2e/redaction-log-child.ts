// Child process of redaction.test.ts: logs every credential case through the service's logger in every
// shape a log call takes (message, object field, nested value, Error, child logger binding).
import { createLogger } from '../../src/core/logger.ts';
import { CREDENTIAL_CASES } from '../core/redact-cases.ts';

const log = createLogger('debug');
const child = log.child({ stage: 'test' });
for (const c of CREDENTIAL_CASES) {
  log.warn(`dead letter: ${c.text}`);
  log.error({ err: new Error(c.text), record: { body: c.text, attrs: [c.text] } }, 'decode failed');
  child.info({ deadLetter: { error: c.text } }, 'with %s', c.text);
}
