// HTTP surface of the incident page, added to a fastify server (the service's, or `--serve`'s own):
//   GET  /incidents                                  list (filters: team, namespace, severity)
//   GET  /incidents/<id>                             the incident
//   POST /incidents/<id>/proposals/<p>/<action>      approve | reject | rollback (signed-in approver, CSRF-checked)
//   GET  /incidents/-/events                         live updates (server-sent events)
//   GET|POST /incidents/-/login, POST /incidents/-/logout
//   GET  /incidents/-/assets/page.js|page.css
// Decisions go through the approval service's state machine exactly as /api/proposals does:
// TokenReview-vouched identity, SubjectAccessReview per action, audited.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { PageConfig } from '../core/config-page.ts';
import { type ApiIdentity, actorName } from '../exec/api-identity.ts';
import type { ApprovalService, DecisionOutcome } from '../exec/approvals.ts';
import type { ReplicatedApprovals } from '../exec/replicated.ts';
import { type Html, html } from './html.ts';
import { incidentView } from './incident-view.ts';
import { layout, type Viewer } from './layout.ts';
import { type ListFilter, listView, selectIncidents } from './list-view.ts';
import { loginView } from './login-view.ts';
import { pageMetrics } from './metrics.ts';
import { crossSiteReason, csrfMatches, type Session, Sessions, secureHeaders } from './security.ts';
import type { IncidentStore } from './store.ts';

export interface PageApprovals {
  service: Pick<ApprovalService, 'state' | 'targetNamespace' | 'decide'>;
  identity: Pick<ApiIdentity, 'enabled' | 'authenticate' | 'authorize'>;
  /**
   * Replicated approvals: decisions are forwarded to the replica that owns the proposal, which
   * authorises (SubjectAccessReview) and decides; the state of proposals owned elsewhere comes from
   * their chains on the proposals topic (the page feed).
   */
  replicated?: { forward: ReplicatedApprovals['forward']; outcomeWaitMs: number } | undefined;
}

export interface PageRoutesOptions {
  store: IncidentStore;
  config: PageConfig;
  /** Absent (demo/replay --serve, exec off): the page is read-only. */
  approvals?: PageApprovals | undefined;
  registry?: Registry | undefined;
}

const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'page.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('./assets/page.js', import.meta.url)),
  },
  'icon.svg': {
    type: 'image/svg+xml',
    body: readFileSync(new URL('./assets/icon.svg', import.meta.url)),
  },
  'page.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('./assets/page.css', import.meta.url)),
  },
};

const FLASH: Record<DecisionOutcome['code'], string> = {
  done: 'Done.',
  unknown: 'Unknown proposal: nothing was done.',
  not_approver: 'You are not authorised for this action: nothing was done.',
  duplicate: 'Already decided: nothing was done.',
  expired: 'The proposal has expired: nothing was done.',
  refused: 'Refused by policy.',
  failed: 'The action failed; check the workload before acting by hand.',
};

const FORWARDED =
  'Forwarded to the replica that owns this proposal: it checks your authorisation and decides; this page shows the outcome when it arrives.';

const ACTIONS = new Set(['approve', 'reject', 'rollback']);

/** Only a path on this page: a `next` pointing elsewhere (//evil, https://…) goes to the list. */
function safeNext(next: unknown): string {
  return typeof next === 'string' &&
    /^\/incidents(?:[/?#]|$)/.test(next) &&
    // Printable ASCII only: it goes into a Location header.
    /^[\x21-\x7e]{1,2000}$/.test(next)
    ? next
    : '/incidents';
}

export async function registerPageRoutes(app: FastifyInstance, o: PageRoutesOptions): Promise<void> {
  const { store, config } = o;
  const m = pageMetrics(o.registry);
  const sessions = new Sessions({
    ttlMs: config.sessionTtl,
    secureCookie: config.externalUrl?.startsWith('https:') ?? false,
  });
  const live = new Set<FastifyReply['raw']>();
  const canSignIn = o.approvals?.identity.enabled === true;

  const viewer = (s: Session | undefined): Viewer => ({
    name: s ? actorName(s.identity) : null,
    canSignIn,
  });
  const send = (reply: FastifyReply, code: number, title: string, body: Html, s?: Session, version = 0) => {
    secureHeaders(reply);
    return reply
      .code(code)
      .type('text/html; charset=utf-8')
      .send(layout({ title, body, viewer: viewer(s), version, csrf: s?.csrf ?? '' }).value);
  };

  await app.register(async (scope) => {
    // Forms only (application/x-www-form-urlencoded), small: a token and a CSRF value.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    const form = (req: FastifyRequest): Record<string, string> =>
      req.body && typeof req.body === 'object' ? (req.body as Record<string, string>) : {};

    scope.get('/incidents/-/assets/:name', async (req, reply) => {
      const name = (req.params as { name: string }).name;
      const a = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (!a) return reply.code(404).send('not found');
      secureHeaders(reply);
      reply.header('cache-control', 'no-cache');
      return reply.type(a.type).send(a.body);
    });

    scope.get<{ Querystring: ListFilter }>('/incidents', async (req, reply) => {
      const f: ListFilter = {
        team: req.query.team || undefined,
        namespace: req.query.namespace || undefined,
        severity: req.query.severity || undefined,
      };
      const all = store.all();
      const now = store.clock;
      const shown = selectIncidents(all, f, now, config.resolvedRetention);
      m.views.inc({ view: 'list' });
      return send(
        reply,
        200,
        'Incidents · kubetriage',
        listView(all, shown, f, now, store.version),
        sessions.get(req),
        store.version,
      );
    });

    scope.get<{ Params: { id: string }; Querystring: { outcome?: string; state?: string } }>(
      '/incidents/:id',
      async (req, reply) => {
        const s = sessions.get(req);
        const inc = store.get(req.params.id);
        if (!inc) {
          m.views.inc({ view: 'not_found' });
          return send(
            reply,
            404,
            'Not found · kubetriage',
            html`<h1>No such incident</h1><p>${req.params.id} is not held here (it may have resolved long ago). <a href="/incidents">All incidents</a></p>`,
            s,
          );
        }
        m.views.inc({ view: 'incident' });
        const pid = inc.report?.proposal?.id;
        const history = pid ? store.history(pid) : [];
        // The owner's state machine where this replica owns the proposal, else its chain on the topic.
        const state = pid
          ? (o.approvals?.service.state(pid) ?? (o.approvals?.replicated ? store.chainState(pid) : null))
          : null;
        const code = req.query.outcome as DecisionOutcome['code'] | 'forwarded' | undefined;
        const flash =
          code === 'forwarded'
            ? FORWARDED
            : code && Object.hasOwn(FLASH, code)
              ? `${FLASH[code]}${state ? ` The proposal is ${state}.` : ''}`
              : undefined;
        // Buttons only for those the click would be allowed for (the same review, cached by ApiIdentity).
        let refusal: string | undefined;
        if (s && pid && o.approvals && (state === 'pending' || state === 'executed')) {
          const verdict = await o.approvals.identity.authorize(
            s.identity,
            state === 'pending' ? 'approve' : 'rollback',
            pid,
            // A proposal owned by another replica: the namespace its report names (the owner's is the same).
            o.approvals.service.targetNamespace(pid) ??
              (o.approvals.replicated ? inc.report?.proposal?.target.namespace : undefined),
          );
          if ('error' in verdict) refusal = `authorisation could not be checked (${verdict.error})`;
          else if (!verdict.allowed) refusal = verdict.reason;
        }
        const w = inc.context.scope.workload;
        return send(
          reply,
          200,
          `${inc.report?.severity ?? 'untriaged'} ${inc.context.scope.namespace}/${w.name} · kubetriage`,
          incidentView(
            inc,
            {
              state,
              // Replicated: the owner posts it; its chain reaches this replica's feed shortly after.
              unknownState: o.approvals?.replicated ? 'not posted yet (its owner posts it)' : undefined,
              history,
              signedIn: s !== undefined && canSignIn,
              refusal,
              canSignIn,
              csrf: s?.csrf ?? '',
            },
            store.clock,
            flash,
          ),
          s,
          inc.version,
        );
      },
    );

    scope.get('/incidents/-/login', async (req, reply) =>
      send(
        reply,
        canSignIn ? 200 : 404,
        'Sign in · kubetriage',
        loginView({ next: safeNext((req.query as { next?: string }).next) }),
      ),
    );

    scope.post('/incidents/-/login', async (req, reply) => {
      const body = form(req);
      const next = safeNext(body.next);
      // Login CSRF: a foreign site must not sign a browser in as someone else.
      const cross = crossSiteReason(req, config.externalUrl);
      if (cross) {
        m.refused.inc({ reason: 'cross_site' });
        return send(reply, 403, 'Refused · kubetriage', loginView({ next, error: `Refused: ${cross}.` }));
      }
      if (!o.approvals || !canSignIn)
        return send(
          reply,
          404,
          'Sign in · kubetriage',
          loginView({ next, error: 'Approvals are off here.' }),
        );
      const token = (body.token ?? '').trim();
      const a = await o.approvals.identity.authenticate(token ? `Bearer ${token}` : undefined);
      if (!a.ok) {
        m.signIns.inc({ result: a.status === 503 ? 'error' : 'refused' });
        return send(reply, a.status, 'Sign in · kubetriage', loginView({ next, error: a.reason }));
      }
      m.signIns.inc({ result: 'ok' });
      sessions.create(a.identity, reply);
      return reply.code(303).header('location', next).send();
    });

    scope.post('/incidents/-/logout', async (req, reply) => {
      const s = sessions.get(req);
      if (crossSiteReason(req, config.externalUrl) || !s || !csrfMatches(s, form(req).csrf)) {
        m.refused.inc({ reason: 'csrf' });
        return reply.code(403).send('refused');
      }
      sessions.end(req, reply);
      return reply.code(303).header('location', '/incidents').send();
    });

    scope.post<{ Params: { id: string; pid: string; action: string } }>(
      '/incidents/:id/proposals/:pid/:action',
      async (req, reply) => {
        const { id, pid, action } = req.params;
        const refuse = (code: number, reason: string, text: string, s?: Session) => {
          m.refused.inc({ reason });
          const back = `/incidents/${encodeURIComponent(id)}`;
          return send(
            reply,
            code,
            'Refused · kubetriage',
            html`<h1>Refused</h1><p>${text}</p><p><a href="${back}">Back to the incident</a></p>`,
            s,
          );
        };
        if (!ACTIONS.has(action)) return refuse(404, 'bad_request', `unknown action ${action}`);
        const cross = crossSiteReason(req, config.externalUrl);
        if (cross) return refuse(403, 'cross_site', `cross-site request (${cross}): nothing was done`);
        const s = sessions.get(req);
        if (!s || !o.approvals || !canSignIn)
          return refuse(401, 'no_session', 'Sign in first: nothing was done.');
        if (!csrfMatches(s, form(req).csrf))
          return refuse(
            403,
            'csrf',
            'The form is stale or forged (CSRF token mismatch): nothing was done.',
            s,
          );
        const inc = store.get(id);
        if (!inc || inc.report?.proposal?.id !== pid)
          return refuse(404, 'bad_request', 'This incident has no such proposal: nothing was done.', s);
        const back = `/incidents/${encodeURIComponent(id)}`;
        const replicated = o.approvals.replicated;
        if (replicated) {
          // Signed in here (TokenReview); authorised and decided by the proposal's owner, as for the API.
          const f = await replicated.forward(
            {
              type: 'decide',
              proposalId: pid,
              action: action as 'approve' | 'reject' | 'rollback',
              via: 'page',
              actor: { name: actorName(s.identity), identity: s.identity },
            },
            replicated.outcomeWaitMs,
          );
          if (!f.ok) {
            m.decisions.inc({ action, result: 'not_forwarded' });
            return refuse(
              503,
              'not_forwarded',
              `Could not hand the action to the replica that owns the proposal (${f.error}): nothing was done; try again.`,
              s,
            );
          }
          // This replica owns it: the outcome within outcomeWait; else the page updates when it arrives.
          const outcome = await f.outcome;
          const result = outcome?.code ?? 'forwarded';
          m.decisions.inc({ action, result });
          return reply.code(303).header('location', `${back}?outcome=${result}#proposal`).send();
        }
        const verdict = await o.approvals.identity.authorize(
          s.identity,
          action,
          pid,
          o.approvals.service.targetNamespace(pid),
        );
        if ('error' in verdict)
          return refuse(503, 'forbidden', `Authorisation could not be checked: ${verdict.error}`, s);
        const outcome = await o.approvals.service.decide({
          proposalId: pid,
          action: action as 'approve' | 'reject' | 'rollback',
          actor: { name: actorName(s.identity), identity: s.identity, authorized: verdict },
          via: 'page',
        });
        m.decisions.inc({ action, result: outcome.code });
        // Post/redirect/get: a reload does not send the decision again.
        return reply.code(303).header('location', `${back}?outcome=${outcome.code}#proposal`).send();
      },
    );

    scope.get('/incidents/-/events', async (req, reply) => {
      if (live.size >= config.maxLiveClients) return reply.code(503).send('too many live clients');
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        connection: 'keep-alive',
      });
      raw.write('retry: 5000\n\n');
      live.add(raw);
      // A write to a connection that just went away must not become an unhandled 'error' event.
      raw.on('error', () => raw.destroy());
      m.liveClients.set(live.size);
      const off = store.subscribe((c) => raw.write(`event: update\ndata: ${JSON.stringify(c)}\n\n`));
      const beat = setInterval(() => raw.write(': keep-alive\n\n'), config.heartbeat);
      beat.unref();
      req.raw.on('close', () => {
        off();
        clearInterval(beat);
        live.delete(raw);
        m.liveClients.set(live.size);
      });
    });

    // Open event streams would keep close() waiting for ever.
    app.addHook('preClose', async () => {
      for (const r of live) r.end();
    });
  });
}
