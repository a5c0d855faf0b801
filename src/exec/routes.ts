// HTTP surface of the stage, added to the service's fastify server:
//   POST /slack/interactions            Slack interactivity (signed; raw body kept for the signature)
//   POST /api/proposals/:id/:action     approve | reject | rollback without Slack (the caller's own
//                                       Kubernetes bearer token: TokenReview + SubjectAccessReview)
//   GET  /api/proposals/:id             the proposal's state (same, verb `get`)
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type ApiIdentity, actorName, type VerifiedIdentity } from './api-identity.ts';
import type { ApprovalService, DecisionAction, DecisionOutcome } from './approvals.ts';
import type { ReplicatedApprovals } from './replicated.ts';
import { ACTION_APPROVE, ACTION_REJECT, ACTION_ROLLBACK } from './slack-message.ts';
import { type SignatureCheck, verifySlackSignature } from './slack-signature.ts';

export interface ExecRoutesOptions {
  service: ApprovalService;
  signingSecret: string | undefined;
  /** Authenticates and authorises `/api/proposals` callers; absent: that API is off (404). */
  identity: ApiIdentity | undefined;
  toleranceMs: number;
  now?: () => number;
  /** Largest /slack/interactions body (Slack's are a few KiB); beyond it 413 before anything is read. */
  maxBodyBytes?: number;
  /** Requests with a failed signature answered per window before 429 (all senders together). */
  forgedMax?: number;
  forgedWindowMs?: number;
  /**
   * Replicated mode: verified clicks and API calls are forwarded to the proposal's owner (any replica)
   * instead of decided here; `outcomeWaitMs`: how long an API call waits for the outcome.
   */
  replicated?: Pick<ReplicatedApprovals, 'forward'> | undefined;
  outcomeWaitMs?: number;
}

const ACTIONS: Record<string, DecisionAction> = {
  [ACTION_APPROVE]: 'approve',
  [ACTION_REJECT]: 'reject',
  [ACTION_ROLLBACK]: 'rollback',
};

/**
 * The fields of a block_actions payload we use, each bounded (the payload is signed by Slack, but a
 * shape we did not expect must be a 400, never an exception). Other fields are ignored.
 */
const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({
    id: z.string().min(1).max(64),
    username: z.string().max(256).optional(),
    name: z.string().max(256).optional(),
  }),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        value: z.string().min(1).max(2000),
        action_ts: z.string().max(64).optional(),
      }),
    )
    .min(1)
    .max(25),
  // Only http(s): the follow-up is POSTed there.
  response_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional(),
});

type Parsed = { ok: true; payload: unknown } | { ok: false; error: string };

function parsePayload(raw: Buffer): Parsed {
  const p = new URLSearchParams(raw.toString('utf8')).get('payload');
  if (p === null) return { ok: false, error: 'the form has no payload field' };
  try {
    return { ok: true, payload: JSON.parse(p) as unknown };
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
}

const STATUS: Record<DecisionOutcome['code'], number> = {
  done: 200,
  unknown: 404,
  not_approver: 403,
  duplicate: 409,
  expired: 409,
  refused: 409,
  failed: 502,
};

const checks = new WeakMap<FastifyRequest, SignatureCheck | { ok: false; reason: 'unset' }>();

export async function registerExecRoutes(app: FastifyInstance, o: ExecRoutesOptions): Promise<void> {
  const now = o.now ?? Date.now;
  const bodyLimit = o.maxBodyBytes ?? 64 * 1024;
  await app.register(async (scope) => {
    // Per route below (global: false): only requests whose signature failed count against it.
    await scope.register(rateLimit, { global: false });
    // The signature covers the body exactly as received: keep the bytes, parse later.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer', bodyLimit },
      (_req, body, done) => done(null, body),
    );
    const header = (req: FastifyRequest, name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    scope.post(
      '/slack/interactions',
      {
        bodyLimit,
        // Runs before the rate limit (preHandler): the limit then skips requests Slack signed.
        preValidation: async (req) => {
          if (!Buffer.isBuffer(req.body) || !o.signingSecret) return;
          const check = verifySlackSignature({
            secret: o.signingSecret,
            timestamp: header(req, 'x-slack-request-timestamp'),
            signature: header(req, 'x-slack-signature'),
            rawBody: req.body,
            nowMs: now(),
            toleranceMs: o.toleranceMs,
          });
          checks.set(req, check);
        },
        config: {
          rateLimit: {
            hook: 'preHandler',
            max: o.forgedMax ?? 60,
            timeWindow: o.forgedWindowMs ?? 60_000,
            // One budget for all unsigned senders: a spread-out flood is limited as well; Slack's
            // own (signed) requests are never limited.
            keyGenerator: () => 'unsigned',
            allowList: (req: FastifyRequest) => checks.get(req)?.ok === true,
            onExceeded: (req: FastifyRequest) => {
              const c = checks.get(req);
              o.service.forgedRequest(c && !c.ok ? c.reason : 'unsigned', req.ip, true);
            },
          },
        },
      },
      async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : null;
        if (!raw) return reply.code(415).send('expected application/x-www-form-urlencoded');
        if (!o.signingSecret) return reply.code(503).send('SLACK_SIGNING_SECRET is not set');
        const check = checks.get(req);
        if (!check?.ok) {
          // Counted and summed per interval; nothing the sender claimed is stored.
          o.service.forgedRequest(check?.reason ?? 'unsigned', req.ip);
          return reply.code(401).send('invalid request signature');
        }
        const parsed = parsePayload(raw);
        if (!parsed.ok) return reply.code(400).send(parsed.error);
        const p = parsed.payload;
        if (
          p === null ||
          typeof p !== 'object' ||
          Array.isArray(p) ||
          typeof (p as { type?: unknown }).type !== 'string'
        )
          return reply.code(400).send('payload is not an interaction (an object with a string type)');
        // Other interaction types (view_submission, …) are not ours to handle: acknowledged, ignored.
        if ((p as { type: string }).type !== 'block_actions') return reply.code(200).send('');
        const shape = blockActionsSchema.safeParse(parsed.payload);
        if (!shape.success)
          return reply
            .code(400)
            .send(`unexpected block_actions payload: ${z.prettifyError(shape.error).slice(0, 500)}`);
        const payload = shape.data;
        const action = payload.actions[0]!;
        const kind = ACTIONS[action.action_id];
        if (!kind) return reply.code(200).send('');
        const user = payload.user;
        const requestKey = action.action_ts ?? header(req, 'x-slack-request-timestamp') ?? '';
        if (o.replicated) {
          // Verified here, decided by the owner: answered once the broker holds the command (Slack's
          // 3 s); the outcome follows through response_url / the message update, from the owner.
          const f = await o.replicated.forward({
            type: 'decide',
            proposalId: action.value,
            action: kind,
            via: 'slack',
            actor: { id: user.id, name: user.username ?? user.name ?? user.id },
            requestKey,
            ...(payload.response_url ? { responseUrl: payload.response_url } : {}),
          });
          if (f.ok) return reply.code(200).send('');
          return reply.code(503).send(`could not hand the action to its owner: ${f.error}; try again`);
        }
        // Acknowledge at once (Slack wants it within 3 s); the outcome goes to response_url.
        reply.code(200).send('');
        // decide() never rejects; followUp() neither.
        void o.service
          .decide({
            proposalId: action.value,
            action: kind,
            actor: { id: user.id, name: user.username ?? user.name ?? user.id },
            via: 'slack',
            requestKey,
          })
          .then((outcome) => {
            if (payload.response_url) return o.service.followUp(payload.response_url, outcome, action.value);
          });
        return reply;
      },
    );

    // The caller's token, reviewed by the API server; 401 (unknown token) and 503 (the API server
    // could not be asked) are counted in metrics, not written to the ledger one by one.
    const authenticate = async (
      auth: string | undefined,
      reply: FastifyReply,
    ): Promise<VerifiedIdentity | undefined> => {
      if (!o.identity?.enabled) {
        reply
          .code(404)
          .send({ error: 'the approval API is off (no Kubernetes connection, no static token)' });
        return undefined;
      }
      const a = await o.identity.authenticate(auth);
      if (a.ok) return a.identity;
      reply.code(a.status).send({ error: a.reason });
      return undefined;
    };
    scope.get<{ Params: { id: string } }>('/api/proposals/:id', async (req, reply) => {
      const who = await authenticate(req.headers.authorization, reply);
      if (!who) return reply;
      const verdict = await o.identity!.authorize(
        who,
        'get',
        req.params.id,
        o.service.targetNamespace(req.params.id),
      );
      if ('error' in verdict) return reply.code(503).send({ error: verdict.error });
      if (!verdict.allowed) return reply.code(403).send({ error: verdict.reason });
      const state = o.service.state(req.params.id);
      return reply.code(state ? 200 : 404).send({ proposal: req.params.id, state });
    });
    // Any body is accepted and ignored: who acts is the token's identity, never a name in the request.
    scope.post<{ Params: { id: string; action: string } }>(
      '/api/proposals/:id/:action',
      async (req, reply) => {
        const action = req.params.action;
        if (action !== 'approve' && action !== 'reject' && action !== 'rollback')
          return reply.code(404).send({ error: `unknown action ${action}` });
        const who = await authenticate(req.headers.authorization, reply);
        if (!who) return reply;
        if (o.replicated) {
          // Authenticated here; authorised (SubjectAccessReview in the target namespace) by the owner.
          const f = await o.replicated.forward(
            {
              type: 'decide',
              proposalId: req.params.id,
              action,
              via: 'api',
              actor: { name: actorName(who), identity: who },
            },
            o.outcomeWaitMs ?? 10_000,
          );
          if (!f.ok)
            return reply.code(503).send({ error: `could not hand the action to its owner: ${f.error}` });
          const outcome = await f.outcome;
          if (outcome) return reply.code(STATUS[outcome.code]).send(outcome);
          return reply.code(202).send({
            ok: true,
            code: 'forwarded',
            proposal: req.params.id,
            command: f.commandId,
            message:
              'accepted: the replica that owns this proposal decides; see its state with GET or in Slack',
          });
        }
        const verdict = await o.identity!.authorize(
          who,
          action,
          req.params.id,
          o.service.targetNamespace(req.params.id),
        );
        if ('error' in verdict) return reply.code(503).send({ error: verdict.error });
        const outcome = await o.service.decide({
          proposalId: req.params.id,
          action,
          actor: { name: actorName(who), identity: who, authorized: verdict },
          via: 'api',
        });
        return reply.code(STATUS[outcome.code]).send(outcome);
      },
    );
  });
}
