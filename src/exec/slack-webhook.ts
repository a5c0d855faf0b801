// Incoming webhooks: POST JSON {text, blocks}; success is 200 with body `ok`. About one message a second
// per channel: beyond it Slack answers 429 with Retry-After (seconds), which we honour, within bounds.
// Every payload is redacted here, where it leaves the process, whatever message built it.
import { redactor } from '../core/redact.ts';

export interface WebhookOptions {
  timeoutMs: number;
  maxAttempts: number;
  maxRetryAfterMs: number;
  /** Injected for tests (no real sleeping). */
  delay?: (ms: number) => Promise<void>;
}

export type PostResult = { ok: true; attempts: number } | { ok: false; attempts: number; error: string };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function postJson(url: string, body: unknown, o: WebhookOptions): Promise<PostResult> {
  const delay = o.delay ?? sleep;
  const payload = redactor().json(body, 'slack');
  let lastError = '';
  for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
    let wait = Math.min(1000 * 2 ** (attempt - 1), o.maxRetryAfterMs);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: payload,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      const text = await res.text();
      if (res.status === 200) return { ok: true, attempts: attempt };
      lastError = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      if (res.status === 429) {
        const ra = Number(res.headers.get('retry-after') ?? '1');
        const ms = Number.isFinite(ra) && ra >= 0 ? ra * 1000 : 1000;
        if (ms > o.maxRetryAfterMs)
          return {
            ok: false,
            attempts: attempt,
            error: `${lastError} (Retry-After ${ra}s is beyond the limit)`,
          };
        wait = ms;
      } else if (res.status < 500) {
        return { ok: false, attempts: attempt, error: lastError };
      }
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (attempt < o.maxAttempts) await delay(wait);
  }
  return { ok: false, attempts: o.maxAttempts, error: lastError };
}
