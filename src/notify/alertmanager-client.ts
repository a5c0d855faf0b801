// POST /api/v2/alerts to one Alertmanager, with retries and a bound. node:http(s) rather than fetch so a
// private CA (tlsCaFile) needs no extra dependency. Retried: network errors, timeouts, 5xx and 429;
// refused for good: other 4xx (Alertmanager said the alerts are invalid; sending them again won't help).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type PostResult = 'sent' | 'rejected' | 'failed';

export interface PostOptions {
  timeoutMs: number;
  attempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** `Authorization` header value, when configured. */
  authorization?: string;
  /** PEM CA bundle for https. */
  ca?: string;
  /** Each failed try that will be retried (for the metric and the log). */
  onRetry?: (attempt: number, why: string) => void;
  /** Stops the retries early (shutdown). */
  signal?: AbortSignal;
}

export interface PostOutcome {
  result: PostResult;
  attempts: number;
  /** Last status or error, for the log. */
  detail: string;
}

interface Answer {
  status: number;
  body: string;
}

function once(url: URL, body: string, o: PostOptions): Promise<Answer> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    if (o.authorization) headers.authorization = o.authorization;
    const req = send(
      url,
      {
        method: 'POST',
        headers,
        timeout: o.timeoutMs,
        // Shutdown aborts a post in flight too (close() is bounded).
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.ca ? { ca: o.ca } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < 2000) text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.slice(0, 500) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Exponential backoff with full jitter in the upper half: base·2^(n-1), capped. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Posts `alerts` to `baseUrl` + /api/v2/alerts; never rejects. */
export async function postAlerts(baseUrl: string, alerts: unknown[], o: PostOptions): Promise<PostOutcome> {
  const url = new URL('api/v2/alerts', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const body = JSON.stringify(alerts);
  let detail = '';
  for (let attempt = 1; ; attempt++) {
    let retryable: boolean;
    try {
      const a = await once(url, body, o);
      if (a.status >= 200 && a.status < 300)
        return { result: 'sent', attempts: attempt, detail: `${a.status}` };
      detail = `HTTP ${a.status}: ${a.body.trim()}`;
      retryable = a.status >= 500 || a.status === 429;
      if (!retryable) return { result: 'rejected', attempts: attempt, detail };
    } catch (err) {
      detail = (err as Error).message;
      retryable = true;
    }
    if (attempt >= o.attempts || o.signal?.aborted) return { result: 'failed', attempts: attempt, detail };
    o.onRetry?.(attempt, detail);
    await sleep(backoffMs(attempt, o.initialBackoffMs, o.maxBackoffMs), o.signal);
  }
}
