// A small REST client for tests: raw JSON over HTTPS with a bearer token, verifying the API server's
// self-generated certificate. Kept separate from @kubernetes/client-node on purpose: the code under
// test uses that library, the tests set up the world with a different one.
import { request } from 'node:https';

export class KubeHttpError extends Error {
  readonly status: number;
  readonly body: string;
  override name = 'KubeHttpError';
  constructor(method: string, path: string, status: number, body: string) {
    let reason = body;
    try {
      reason = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {}
    super(`${method} ${path}: HTTP ${status}: ${reason.slice(0, 500)}`);
    this.status = status;
    this.body = body;
  }
}

export interface RequestOptions {
  contentType?: string;
  /** `fieldManager` query parameter: who the change is attributed to in managedFields. */
  fieldManager?: string;
  timeoutMs?: number;
}

export class KubeClient {
  readonly url: string;
  readonly #token: string;
  readonly #ca: string;

  constructor(url: string, token: string, ca: string) {
    this.url = url;
    this.#token = token;
    this.#ca = ca;
  }

  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    o: RequestOptions = {},
  ): Promise<T> {
    const u = new URL(this.url + path);
    if (o.fieldManager) u.searchParams.set('fieldManager', o.fieldManager);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        u,
        {
          method,
          ca: this.#ca,
          headers: {
            authorization: `Bearer ${this.#token}`,
            accept: 'application/json',
            ...(data
              ? { 'content-type': o.contentType ?? 'application/json', 'content-length': data.length }
              : {}),
          },
          timeout: o.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(new KubeHttpError(method, path, status, text));
            // /readyz, /healthz answer plain text.
            if (!String(res.headers['content-type'] ?? '').includes('json')) return resolve(text as T);
            try {
              resolve((text ? JSON.parse(text) : {}) as T);
            } catch (err) {
              reject(err);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  create<T = Record<string, unknown>>(path: string, obj: unknown, o: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, obj, o);
  }

  /** JSON merge patch (RFC 7386). */
  merge<T = Record<string, unknown>>(path: string, patch: unknown, o: RequestOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, patch, { ...o, contentType: 'application/merge-patch+json' });
  }

  delete(path: string): Promise<Record<string, unknown>> {
    return this.request('DELETE', path);
  }
}
