// HTTP surface of the stage, added to the service's fastify server:
//   POST /slack/interactions            Slack interactivity (signed; raw body kept for the signature)
//   POST /api/proposals/:id/:action     approve | reject | rollback without Slack (the caller's own
//                                       Kubernetes bearer token: TokenReview + SubjectAccessReview)
//   GET  /api/proposals/:id             the proposal's state (same, verb `get`)
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type ApiIdentity, actorName, type VerifiedIdentity } from './api-identity.ts';
import type { ApprovalService, DecisionAction, DecisionOutcome } from './approvals.ts';
import { ACTION_APPROVE, ACTION_REJECT, ACTION_ROLLBACK } from './slack-message.ts';
import { verifySlackSignature } from './slack-signature.ts';

export interface ExecRoutesOptions {
  service: ApprovalService;
  signingSecret: string | undefined;
  /** Authenticates and authorises `/api/proposals` callers; absent: that API is off (404). */
  identity: ApiIdentity | undefined;
  toleranceMs: number;
  now?: () => number;
}

const ACTIONS: Record<string, DecisionAction> = {
  [ACTION_APPROVE]: 'approve',
  [ACTION_REJECT]: 'reject',
  [ACTION_ROLLBACK]: 'rollback',
};

interface BlockActionsPayload {
  type?: string;
  user?: { id?: string; username?: string; name?: string };
  actions?: { action_id?: string; block_id?: string; value?: string; action_ts?: string }[];
  response_url?: string;
  container?: { message_ts?: string; channel_id?: string };
}

function parsePayload(raw: Buffer): BlockActionsPayload | null {
  try {
    const p = new URLSearchParams(raw.toString('utf8')).get('payload');
    return p ? (JSON.parse(p) as BlockActionsPayload) : null;
  } catch {
    return null;
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

export async function registerExecRoutes(app: FastifyInstance, o: ExecRoutesOptions): Promise<void> {
  const now = o.now ?? Date.now;
  await app.register(async (scope) => {
    // The signature covers the body exactly as received: keep the bytes, parse later.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer', bodyLimit: 1024 * 1024 },
      (_req, body, done) => done(null, body),
    );
    scope.post('/slack/interactions', async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : null;
      if (!raw) return reply.code(415).send('expected application/x-www-form-urlencoded');
      if (!o.signingSecret) return reply.code(503).send('SLACK_SIGNING_SECRET is not set');
      const h = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const check = verifySlackSignature({
        secret: o.signingSecret,
        timestamp: h('x-slack-request-timestamp'),
        signature: h('x-slack-signature'),
        rawBody: raw,
        nowMs: now(),
        toleranceMs: o.toleranceMs,
      });
      if (!check.ok) {
        // What it claimed is recorded as untrusted, to see who is knocking.
        const claimed = parsePayload(raw);
        o.service.auditRefusedRequest({
          reason: `slack signature ${check.reason}`,
          untrusted: {
            timestamp: h('x-slack-request-timestamp') ?? null,
            user: claimed?.user?.id ?? null,
            action: claimed?.actions?.[0]?.action_id ?? null,
            proposal: claimed?.actions?.[0]?.value?.slice(0, 200) ?? null,
          },
          remote: req.ip,
        });
        return reply.code(401).send('invalid request signature');
      }
      const payload = parsePayload(raw);
      if (payload?.type !== 'block_actions') return reply.code(200).send('');
      const action = payload.actions?.[0];
      const kind = action?.action_id ? ACTIONS[action.action_id] : undefined;
      if (!action || !kind || !action.value) return reply.code(200).send('');
      // Acknowledge at once (Slack wants it within 3 s); the outcome goes to response_url.
      reply.code(200).send('');
      const user = payload.user ?? {};
      void o.service
        .decide({
          proposalId: action.value,
          action: kind,
          actor: {
            ...(user.id ? { id: user.id } : {}),
            name: user.username ?? user.name ?? user.id ?? 'unknown',
          },
          via: 'slack',
          requestKey: action.action_ts ?? h('x-slack-request-timestamp') ?? '',
        })
        .then((outcome) => {
          if (payload.response_url) return o.service.followUp(payload.response_url, outcome, action.value!);
        });
      return reply;
    });

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
      const z = await o.identity!.authorize(
        who,
        'get',
        req.params.id,
        o.service.targetNamespace(req.params.id),
      );
      if ('error' in z) return reply.code(503).send({ error: z.error });
      if (!z.allowed) return reply.code(403).send({ error: z.reason });
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
        const z = await o.identity!.authorize(
          who,
          action,
          req.params.id,
          o.service.targetNamespace(req.params.id),
        );
        if ('error' in z) return reply.code(503).send({ error: z.error });
        const outcome = await o.service.decide({
          proposalId: req.params.id,
          action,
          actor: { name: actorName(who), identity: who, authorized: z },
          via: 'api',
        });
        return reply.code(STATUS[outcome.code]).send(outcome);
      },
    );
  });
}
