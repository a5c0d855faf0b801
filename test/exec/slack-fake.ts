// A FAKE Slack (not Slack): a loopback HTTP server that speaks Slack's wire formats, for tests.
//  - incoming webhook: POST JSON {text, blocks} → 200 `ok`; `rateLimitNext(n, retryAfterS)` answers the
//    next n posts with 429 and Retry-After, as Slack does beyond ~1 message/s.
//  - `failNext(n, status)`: the next n webhook posts get that status with Slack's error body
//    (500 `internal_error`, 503 `service_unavailable`, …); `hangNext(n)`: the next n are read and never
//    answered (a Slack that times out; the socket is closed on close()).
//  - response_url: POST JSON → 200 `ok` (recorded separately).
//  - Web API (bot token), as Slack's https://slack.com/api/: `POST /api/chat.postMessage` and
//    `/api/chat.update`, form (`application/x-www-form-urlencoded`, blocks as a JSON string) or JSON
//    bodies, `Authorization: Bearer xoxb-…`; answers 200 `{ok:true, channel, ts, message}` or
//    `{ok:false, error}` (`invalid_auth`, `not_authed`, `channel_not_found`, `message_not_found`);
//    `apiRateLimitNext(n, s)`: 429 `{ok:false, error:'ratelimited'}` with Retry-After;
//    `apiFailNext(n, error)`: `ok:false` with that error. Channels are known by ID and by #name.
//  - `interaction(...)`: builds the signed interactivity request Slack would send to our
//    POST /slack/interactions: form body `payload=<url-encoded JSON>` (type block_actions), headers
//    X-Slack-Request-Timestamp and X-Slack-Signature (v0= HMAC-SHA256 over `v0:<ts>:<raw body>`).
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface SlackFake {
  webhookUrl: string;
  responseUrl: string;
  /** Webhook messages received (parsed JSON). */
  messages: Record<string, unknown>[];
  /** response_url follow-ups received. */
  responses: Record<string, unknown>[];
  rateLimitNext(n: number, retryAfterS: number): void;
  failNext(n: number, status: number): void;
  hangNext(n: number): void;
  /** Webhook posts received, answered or not (each attempt). */
  attempts(): number;
  /** Web API base URL (WebClient's `slackApiUrl`). */
  apiUrl: string;
  /** The bot token the Web API accepts. */
  botToken: string;
  /** Channels by ID → name (the Web API answers IDs). */
  channels: Record<string, string>;
  /** Web API calls received (each attempt): method, auth header, parsed arguments, content type. */
  apiCalls: {
    method: string;
    auth: string | undefined;
    args: Record<string, unknown>;
    contentType: string;
  }[];
  /** Messages by channel ID and ts, as updated; `history` keeps every version. */
  apiMessages: Map<string, ApiMessage>;
  apiRateLimitNext(n: number, retryAfterS: number): void;
  apiFailNext(n: number, error: string): void;
  close(): Promise<void>;
}

export interface ApiMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: Record<string, unknown>[];
  /** Earlier versions (chat.update replaces text and blocks). */
  history: { text: string; blocks?: Record<string, unknown>[] }[];
}

/** Web API arguments: a form body (each value a string; blocks a JSON string) or a JSON body. */
function apiArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.startsWith('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if (k === 'blocks' || k === 'attachments') out[k] = JSON.parse(v);
    else out[k] = v;
  }
  return out;
}

export async function startSlackFake(): Promise<SlackFake> {
  const messages: Record<string, unknown>[] = [];
  const responses: Record<string, unknown>[] = [];
  let limited = 0;
  let retryAfter = 1;
  let failing = 0;
  let failStatus = 500;
  let hanging = 0;
  let attempts = 0;
  const SLACK_ERRORS: Record<number, string> = { 500: 'internal_error', 503: 'service_unavailable' };
  const botToken = 'xoxb-000-000-fakebottoken';
  const channels: Record<string, string> = {
    C0PAYMENTS: 'payments-oncall',
    C0DEFAULT: 'incidents',
    C0SEARCH: 'search-oncall',
  };
  const apiCalls: SlackFake['apiCalls'] = [];
  const apiMessages = new Map<string, ApiMessage>();
  let apiLimited = 0;
  let apiRetryAfter = 1;
  let apiFailing = 0;
  let apiFailError = 'internal_error';
  let tsSeq = 0;
  const channelId = (c: unknown): string | undefined => {
    if (typeof c !== 'string') return undefined;
    if (Object.hasOwn(channels, c)) return c;
    const name = c.replace(/^#/, '');
    return Object.keys(channels).find((id) => channels[id] === name);
  };
  const answer = (res: import('node:http').ServerResponse, body: unknown, status = 200, headers = {}) =>
    res
      .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
      .end(JSON.stringify(body));
  function webApi(
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
    raw: string,
  ) {
    const method = (req.url ?? '').slice('/api/'.length).split('?')[0] ?? '';
    const contentType = String(req.headers['content-type'] ?? '');
    let args: Record<string, unknown>;
    try {
      args = apiArgs(raw, contentType);
    } catch {
      return answer(res, { ok: false, error: 'invalid_arguments' });
    }
    const auth = req.headers.authorization;
    apiCalls.push({ method, auth, args, contentType });
    if (apiLimited > 0) {
      apiLimited--;
      return answer(res, { ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(apiRetryAfter) });
    }
    if (apiFailing > 0) {
      apiFailing--;
      return answer(res, { ok: false, error: apiFailError });
    }
    if (!auth) return answer(res, { ok: false, error: 'not_authed' });
    if (auth !== `Bearer ${botToken}`) return answer(res, { ok: false, error: 'invalid_auth' });
    const channel = channelId(args.channel);
    if (!channel) return answer(res, { ok: false, error: 'channel_not_found' });
    const text = typeof args.text === 'string' ? args.text : '';
    const blocks = args.blocks as Record<string, unknown>[] | undefined;
    if (!text && !blocks) return answer(res, { ok: false, error: 'no_text' });
    if (blocks && (!Array.isArray(blocks) || blocks.length > 50))
      return answer(res, { ok: false, error: 'invalid_blocks' });
    if (method === 'chat.postMessage') {
      const ts = `1764300000.${String(++tsSeq).padStart(6, '0')}`;
      const m: ApiMessage = { channel, ts, text, ...(blocks ? { blocks } : {}), history: [] };
      if (typeof args.thread_ts === 'string') {
        if (!apiMessages.has(`${channel}|${args.thread_ts}`))
          return answer(res, { ok: false, error: 'thread_not_found' });
        m.thread_ts = args.thread_ts;
      }
      apiMessages.set(`${channel}|${ts}`, m);
      return answer(res, {
        ok: true,
        channel,
        ts,
        message: { type: 'message', text, ts, bot_id: 'B000', ...(blocks ? { blocks } : {}) },
      });
    }
    if (method === 'chat.update') {
      const m = apiMessages.get(`${channel}|${String(args.ts)}`);
      if (!m) return answer(res, { ok: false, error: 'message_not_found' });
      m.history.push({ text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
      m.text = text;
      if (blocks) m.blocks = blocks;
      return answer(res, {
        ok: true,
        channel,
        ts: m.ts,
        text,
        message: { text, ...(blocks ? { blocks } : {}) },
      });
    }
    return answer(res, { ok: false, error: 'unknown_method' });
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.startsWith('/api/')) {
        webApi(req, res, Buffer.concat(chunks).toString('utf8'));
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      if (req.url?.startsWith('/services/')) {
        attempts++;
        if (hanging > 0) {
          hanging--;
          return; // never answered
        }
        if (failing > 0) {
          failing--;
          res.writeHead(failStatus).end(SLACK_ERRORS[failStatus] ?? 'internal_error');
          return;
        }
        if (limited > 0) {
          limited--;
          res.writeHead(429, { 'retry-after': String(retryAfter) }).end('rate_limited');
          return;
        }
        const blocks = body.blocks as unknown[] | undefined;
        if (typeof body.text !== 'string' || (blocks && blocks.length > 50)) {
          res.writeHead(400).end('invalid_blocks');
          return;
        }
        messages.push(body);
      } else responses.push(body);
      res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('no address');
  const base = `http://127.0.0.1:${addr.port}`;
  return {
    webhookUrl: `${base}/services/T000/B000/XXXX`,
    responseUrl: `${base}/actions/T000/1/resp`,
    messages,
    responses,
    rateLimitNext(n, s) {
      limited = n;
      retryAfter = s;
    },
    failNext(n, status) {
      failing = n;
      failStatus = status;
    },
    hangNext(n) {
      hanging = n;
    },
    attempts: () => attempts,
    apiUrl: `${base}/api/`,
    botToken,
    channels,
    apiCalls,
    apiMessages,
    apiRateLimitNext(n, sec) {
      apiLimited = n;
      apiRetryAfter = sec;
    },
    apiFailNext(n, error) {
      apiFailing = n;
      apiFailError = error;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The interactivity request Slack sends when a button is clicked. */
export function interaction(o: {
  secret: string;
  userId: string;
  username: string;
  actionId: string;
  value: string;
  responseUrl: string;
  /** Unix seconds; default now. */
  ts?: number;
  actionTs?: string;
  /** Sign with this secret instead (a forgery). */
  signWith?: string;
}): { body: string; headers: Record<string, string> } {
  const payload = {
    type: 'block_actions',
    user: { id: o.userId, username: o.username, name: o.username, team_id: 'T000' },
    api_app_id: 'A000',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: '1764300000.000100', channel_id: 'C000', is_ephemeral: false },
    trigger_id: '1.2.3',
    team: { id: 'T000', domain: 'example' },
    channel: { id: 'C000', name: 'incidents' },
    response_url: o.responseUrl,
    actions: [
      {
        action_id: o.actionId,
        block_id: `kubetriage:${o.value}`,
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value: o.value,
        type: 'button',
        action_ts: o.actionTs ?? `${Date.now() / 1000}`,
      },
    ],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const ts = String(o.ts ?? Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac('sha256', o.signWith ?? o.secret)
    .update(`v0:${ts}:${body}`)
    .digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': sig,
    },
  };
}

/** Signs any raw body as Slack would (for payloads of shapes `interaction` does not build). */
export function signed(
  secret: string,
  body: string | Buffer,
  ts = Math.floor(Date.now() / 1000),
  contentType = 'application/x-www-form-urlencoded',
): { body: string | Buffer; headers: Record<string, string> } {
  const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': sig,
    },
  };
}
