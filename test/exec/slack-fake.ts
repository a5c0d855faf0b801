// A FAKE Slack (not Slack): a loopback HTTP server that speaks Slack's wire formats, for tests.
//  - incoming webhook: POST JSON {text, blocks} → 200 `ok`; `rateLimitNext(n, retryAfterS)` answers the
//    next n posts with 429 and Retry-After, as Slack does beyond ~1 message/s.
//  - `failNext(n, status)`: the next n webhook posts get that status with Slack's error body
//    (500 `internal_error`, 503 `service_unavailable`, …); `hangNext(n)`: the next n are read and never
//    answered (a Slack that times out; the socket is closed on close()).
//  - response_url: POST JSON → 200 `ok` (recorded separately).
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
  close(): Promise<void>;
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
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
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
