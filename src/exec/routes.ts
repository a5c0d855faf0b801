// HTTP surface of the stage, added to the service's fastify server:
//   POST /slack/interactions            Slack interactivity (signed; raw body kept for the signature)
//   POST /api/proposals/:id/:action     approve | reject | rollback without Slack (bearer KUBETRIAGE_API_TOKEN)
//   GET  /api/proposals/:id             the proposal's state (same bearer)
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ApprovalService, DecisionAction, DecisionOutcome } from './approvals.ts';
import { ACTION_APPROVE, ACTION_REJECT, ACTION_ROLLBACK } from './slack-message.ts';
import { verifySlackSignature } from './slack-signature.ts';

export interface ExecRoutesOptions {
  service: ApprovalService;
  signingSecret: string | undefined;
  apiToken: string | undefined;
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

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
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

    const authorised = (auth: string | undefined): boolean => {
      if (!o.apiToken || !auth?.startsWith('Bearer ')) return false;
      return sameSecret(auth.slice(7), o.apiToken);
    };
    scope.get<{ Params: { id: string } }>('/api/proposals/:id', async (req, reply) => {
      if (!o.apiToken)
        return reply.code(404).send({ error: 'KUBETRIAGE_API_TOKEN is not set on the service' });
      if (!authorised(req.headers.authorization)) return reply.code(401).send({ error: 'bad bearer token' });
      const state = o.service.state(req.params.id);
      return reply.code(state ? 200 : 404).send({ proposal: req.params.id, state });
    });
    scope.post<{ Params: { id: string; action: string }; Body: { actor?: string } | undefined }>(
      '/api/proposals/:id/:action',
      async (req, reply) => {
        if (!o.apiToken)
          return reply.code(404).send({ error: 'KUBETRIAGE_API_TOKEN is not set on the service' });
        if (!authorised(req.headers.authorization))
          return reply.code(401).send({ error: 'bad bearer token' });
        const action = req.params.action;
        if (action !== 'approve' && action !== 'reject' && action !== 'rollback')
          return reply.code(404).send({ error: `unknown action ${action}` });
        const actor = typeof req.body?.actor === 'string' ? req.body.actor : '';
        if (!actor) return reply.code(400).send({ error: 'body needs {"actor": "<approver name>"}' });
        const outcome = await o.service.decide({
          proposalId: req.params.id,
          action,
          actor: { name: actor },
          via: 'api',
        });
        return reply.code(STATUS[outcome.code]).send(outcome);
      },
    );
  });
}
