import { type Logger, pino } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr, so stdout stays free for documents (replay, record). */
export function createLogger(level: string, name = 'kubetriage'): Logger {
  return pino({ name, level, base: { name } }, pino.destination({ fd: 2, sync: true }));
}
