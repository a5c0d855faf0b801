// How proposals reach Slack. The state machine (approvals.ts) talks to this interface only:
//  - WebhookNotifier: an incoming webhook (SLACK_WEBHOOK_URL), one channel, post only; outcomes go to
//    each click's response_url.
//  - BotNotifier: a Slack app's bot token (SLACK_BOT_TOKEN) through @slack/web-api: chat.postMessage to
//    the team's channel, chat.update to show the proposal's state in place, replies in its thread.
// Rate limits: a 429 is waited for (Retry-After) up to `maxRetryAfterMs`, 5xx and network errors are
// retried with backoff, at most `maxAttempts` in all; Slack's own `ok:false` errors are not retried.
// Every payload is redacted on its way out.
import { createRequire } from 'node:module';
import type { Logger as SlackLogger, WebClient } from '@slack/web-api';
import type { Logger } from '../core/logger.ts';
import { redactor } from '../core/redact.ts';
import { type PostResult, postJson, type WebhookOptions } from './slack-webhook.ts';

type SlackWebApi = typeof import('@slack/web-api');
const require = createRequire(import.meta.url);
let slackWebApi: SlackWebApi | undefined;
/** Loaded with the first BotNotifier: a `run` without SLACK_BOT_TOKEN saves ~0.025 CPU-s of start-up. */
function slackLib(): SlackWebApi {
  slackWebApi ??= require('@slack/web-api') as SlackWebApi;
  return slackWebApi;
}

export interface SlackMessage {
  text: string;
  blocks?: Record<string, unknown>[];
}

/** Where a posted message lives (bot mode), to update it and reply in its thread. */
export interface MessageRef {
  channel: string;
  ts: string;
}

export type NotifyResult =
  | { ok: true; attempts: number; ref?: MessageRef }
  | { ok: false; attempts: number; error: string };

export interface ProposalNotifier {
  readonly kind: 'webhook' | 'bot';
  /** Posts a proposal for `team`. */
  post(message: SlackMessage, team: string): Promise<NotifyResult>;
  /** Replaces the posted message (its state shown in place). Webhook mode cannot: undefined. */
  update?(ref: MessageRef, message: SlackMessage): Promise<NotifyResult>;
  /** A reply in the message's thread (details of an outcome). */
  reply?(ref: MessageRef, message: SlackMessage): Promise<NotifyResult>;
}

export class WebhookNotifier implements ProposalNotifier {
  readonly kind = 'webhook';
  readonly #url: string;
  readonly #o: WebhookOptions;
  constructor(url: string, o: WebhookOptions) {
    this.#url = url;
    this.#o = o;
  }
  post(message: SlackMessage): Promise<PostResult> {
    return postJson(this.#url, message, this.#o);
  }
}

export interface BotNotifierOptions extends WebhookOptions {
  token: string;
  channels: Record<string, string>;
  defaultChannel: string | null;
  apiUrl: string;
  log?: Logger | undefined;
}

/** The client's own log lines go to our structured log (never bare console lines), warnings and up. */
function slackLogger(log: Logger | undefined): SlackLogger {
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug() {},
    info() {},
    warn: (...msg: unknown[]) => log?.warn({ component: 'slack-web-api' }, text(msg).slice(0, 500)),
    error: (...msg: unknown[]) => log?.error({ component: 'slack-web-api' }, text(msg).slice(0, 500)),
    setLevel() {},
    getLevel: () => slackLib().LogLevel.WARN,
    setName() {},
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class BotNotifier implements ProposalNotifier {
  readonly kind = 'bot';
  readonly #client: WebClient;
  readonly #o: BotNotifierOptions;

  constructor(o: BotNotifierOptions) {
    this.#o = o;
    // Retries are ours (bounded, Retry-After capped): the client's own would wait any Retry-After.
    this.#client = new (slackLib().WebClient)(o.token, {
      slackApiUrl: o.apiUrl.endsWith('/') ? o.apiUrl : `${o.apiUrl}/`,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: o.timeoutMs,
      logger: slackLogger(o.log),
    });
  }

  /** The team's channel, else the default one; null when neither is configured. */
  channelFor(team: string): string | null {
    return Object.hasOwn(this.#o.channels, team) ? (this.#o.channels[team] ?? null) : this.#o.defaultChannel;
  }

  post(message: SlackMessage, team: string): Promise<NotifyResult> {
    const channel = this.channelFor(team);
    if (!channel)
      return Promise.resolve({
        ok: false,
        attempts: 0,
        error: `no Slack channel for team ${team} (exec.slack.channels) and no exec.slack.defaultChannel`,
      });
    return this.#call('chat.postMessage', { channel, ...message });
  }

  update(ref: MessageRef, message: SlackMessage): Promise<NotifyResult> {
    return this.#call('chat.update', { channel: ref.channel, ts: ref.ts, ...message });
  }

  reply(ref: MessageRef, message: SlackMessage): Promise<NotifyResult> {
    return this.#call('chat.postMessage', { channel: ref.channel, thread_ts: ref.ts, ...message });
  }

  async #call(
    method: 'chat.postMessage' | 'chat.update',
    args: Record<string, unknown>,
  ): Promise<NotifyResult> {
    const delay = this.#o.delay ?? sleep;
    const body = JSON.parse(redactor().json(args, 'slack')) as Record<string, unknown>;
    let lastError = '';
    for (let attempt = 1; attempt <= this.#o.maxAttempts; attempt++) {
      let wait = Math.min(1000 * 2 ** (attempt - 1), this.#o.maxRetryAfterMs);
      try {
        const r = (await this.#client.apiCall(method, body)) as { channel?: unknown; ts?: unknown };
        const channel = typeof r.channel === 'string' ? r.channel : String(args.channel);
        const ts = typeof r.ts === 'string' ? r.ts : undefined;
        return { ok: true, attempts: attempt, ...(ts ? { ref: { channel, ts } } : {}) };
      } catch (err) {
        const e = err as {
          code?: string;
          retryAfter?: number;
          statusCode?: number;
          data?: { error?: string };
        };
        const { ErrorCode } = slackLib();
        if (e.code === ErrorCode.PlatformError)
          return { ok: false, attempts: attempt, error: `${method}: ${e.data?.error ?? 'error'}` };
        if (e.code === ErrorCode.RateLimitedError) {
          const ms = (e.retryAfter ?? 1) * 1000;
          lastError = `${method}: ratelimited (Retry-After ${e.retryAfter}s)`;
          if (ms > this.#o.maxRetryAfterMs)
            return { ok: false, attempts: attempt, error: `${lastError} is beyond the limit` };
          wait = ms;
        } else if (e.code === ErrorCode.HTTPError && (e.statusCode ?? 500) < 500) {
          return { ok: false, attempts: attempt, error: `${method}: HTTP ${e.statusCode}` };
        } else lastError = `${method}: ${(err as Error).message.slice(0, 200)}`;
      }
      if (attempt < this.#o.maxAttempts) await delay(wait);
    }
    return { ok: false, attempts: this.#o.maxAttempts, error: lastError };
  }
}
