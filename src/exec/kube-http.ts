// The one Kubernetes client the executor needs: JSON over HTTPS with a bearer token. Deliberately tiny
// (four calls: read/write a Scale, two self-reviews), so every request it can make is visible here.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface KubeConnection {
  url: string;
  token: string;
  /** PEM CA bundle for the API server's certificate. */
  ca: string;
  timeoutMs?: number;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  override name = 'KubeApiError';
  constructor(method: string, path: string, status: number, body: unknown) {
    const reason = (body as { message?: string } | null)?.message ?? String(body).slice(0, 300);
    super(`${method} ${path}: HTTP ${status}: ${reason}`);
    this.status = status;
    this.body = body;
  }
}

/** In-cluster (or configured) connection: URL from config or KUBERNETES_SERVICE_HOST, token/CA from files. */
export function connectionFromConfig(
  kube: { url: string | null; tokenFile: string; caFile: string; timeout: number },
  env: NodeJS.ProcessEnv = process.env,
): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const url =
    kube.url ??
    (host
      ? `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`
      : null);
  if (!url) throw new Error('exec.kube.url is not set and KUBERNETES_SERVICE_HOST is not in the environment');
  return {
    url,
    token: readFileSync(kube.tokenFile, 'utf8').trim(),
    ca: readFileSync(kube.caFile, 'utf8'),
    timeoutMs: kube.timeout,
  };
}

export class KubeHttp {
  readonly url: string;
  readonly #token: string;
  readonly #ca: string;
  readonly #timeoutMs: number;

  constructor(c: KubeConnection) {
    this.url = c.url.replace(/\/$/, '');
    this.#token = c.token;
    this.#ca = c.ca;
    this.#timeoutMs = c.timeoutMs ?? 10_000;
  }

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        new URL(this.url + path),
        {
          method,
          ca: this.#ca,
          timeout: this.#timeoutMs,
          headers: {
            authorization: `Bearer ${this.#token}`,
            accept: 'application/json',
            'user-agent': 'kubetriage-exec',
            ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {}
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) reject(new KubeApiError(method, path, status, parsed));
            else resolve(parsed as T);
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }
}
