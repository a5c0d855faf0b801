import { type Logger, pino } from 'pino';
import { redactor } from './redact.ts';

export type { Logger };

/**
 * Structured JSON logs on stderr, so stdout stays free for documents (replay, record). Every argument
 * of every log call (objects deeply, the message, errors) is redacted: log lines quote telemetry text.
 */
export function createLogger(level: string, name = 'kubetriage'): Logger {
  return pino(
    {
      name,
      level,
      base: { name },
      hooks: {
        logMethod(args, method) {
          const r = redactor();
          const clean = (args as unknown[]).map((a) => r.deep(a, 'log'));
          return method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
