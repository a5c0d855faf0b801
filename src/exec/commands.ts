// The approval command: what the replica that received a Slack click, an API call or a triage report
// forwards, on the commands topic keyed by proposal id, to the replica that owns the proposal's
// partition. The receiver has already verified it (Slack signature, TokenReview); the owner decides.
// One JSON object a record; anything else on the topic is skipped (counted), never decided.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { TriageReport } from '../agents/report.ts';

export const COMMAND_SCHEMA = 'kubetriage.io/approval-command/v1';

const identitySchema = z.object({
  username: z.string().min(1).max(512),
  uid: z.string().max(256),
  groups: z.array(z.string().max(512)).max(256),
  by: z.enum(['TokenReview', 'static-token']),
});

const common = {
  schema: z.literal(COMMAND_SCHEMA),
  /** Unique per command: the receiver may wait for its outcome when it is the owner itself. */
  id: z.string().min(1).max(64),
  /** The replica that received and verified it (hostname-pid). */
  receivedBy: z.string().max(256),
  at: z.string().max(64),
};

const decideSchema = z.object({
  ...common,
  type: z.literal('decide'),
  proposalId: z.string().min(1).max(2000),
  action: z.enum(['approve', 'reject', 'rollback']),
  /** page: the incident page's buttons, authenticated (TokenReview) at sign-in like the API. */
  via: z.enum(['slack', 'api', 'page']),
  actor: z.object({
    id: z.string().max(64).optional(),
    name: z.string().max(512),
    identity: identitySchema.optional(),
  }),
  requestKey: z.string().max(128).optional(),
  responseUrl: z.string().max(2000).optional(),
});

const proposeSchema = z.object({
  ...common,
  type: z.literal('propose'),
  proposalId: z.string().min(1).max(2000),
  /** The triage report as produced (checked by the owner's state machine like any report). */
  report: z.record(z.string(), z.unknown()),
});

export const commandSchema = z.discriminatedUnion('type', [decideSchema, proposeSchema]);
export type ApprovalCommand = z.infer<typeof commandSchema>;
export type DecideCommand = z.infer<typeof decideSchema>;
export type ProposeCommand = Omit<z.infer<typeof proposeSchema>, 'report'> & { report: TriageReport };

export function newCommandId(): string {
  return randomUUID();
}

export function encodeCommand(c: ApprovalCommand | ProposeCommand): Buffer {
  return Buffer.from(JSON.stringify(c));
}

/** The command, or why the record is not one (a foreign or malformed record). */
export function decodeCommand(
  value: Buffer | null,
): { ok: true; command: ApprovalCommand } | { ok: false; reason: string } {
  if (!value) return { ok: false, reason: 'empty' };
  let v: unknown;
  try {
    v = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  if ((v as { schema?: unknown } | null)?.schema !== COMMAND_SCHEMA) return { ok: false, reason: 'foreign' };
  const r = commandSchema.safeParse(v);
  return r.success ? { ok: true, command: r.data } : { ok: false, reason: 'malformed' };
}
