// Errors are data: one base class, a closed list of codes, and whether retrying can help.
// Permanent errors on a record mean "dead-letter it and move on"; transient ones mean "back off".

export const ErrorCodes = {
  DECODE_TRUNCATED: 'permanent',
  DECODE_BAD_WIRE_TYPE: 'permanent',
  DECODE_BAD_FIELD: 'permanent',
  DECODE_TOO_DEEP: 'permanent',
  DECODE_OTLP_JSON: 'permanent',
  DECODE_EMPTY_RECORD: 'permanent',
  RECORD_TOO_LARGE: 'permanent',
  UNKNOWN_TOPIC: 'permanent',
  CONFIG_INVALID: 'permanent',
  CAPTURE_INVALID: 'permanent',
  SNAPSHOT_INVALID: 'permanent',
  KAFKA_TRANSIENT: 'transient',
  KAFKA_FATAL: 'permanent',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class KubetriageError extends Error {
  readonly code: ErrorCode;
  readonly permanent: boolean;
  override name = 'KubetriageError';

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.permanent = ErrorCodes[code] === 'permanent';
  }
}

/** A protobuf payload that cannot be read; `position` is the byte offset where reading failed. */
export class DecodeError extends KubetriageError {
  readonly position: number;
  override name = 'DecodeError';

  constructor(code: ErrorCode, message: string, position: number) {
    super(code, `${message} (at byte ${position})`);
    this.position = position;
  }
}

/** Classifies any thrown value without ever throwing itself. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof KubetriageError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'INTERNAL', message: err.message };
  try {
    return { code: 'INTERNAL', message: String(err) };
  } catch {
    return { code: 'INTERNAL', message: 'unprintable error' };
  }
}
