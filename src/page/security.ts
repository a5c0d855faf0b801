// The page's defences: a strict Content-Security-Policy (no inline script or style, nothing from
// elsewhere), server-side sessions for approvers (HttpOnly, SameSite=Strict cookie), and the CSRF
// check for every state-changing request: the browser must say the request is same-origin
// (Sec-Fetch-Site, else Origin) AND the form must carry the session's token (synchronizer token).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { VerifiedIdentity } from '../exec/api-identity.ts';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function secureHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
  reply.header('cache-control', 'no-store');
}

export const SESSION_COOKIE = 'kubetriage_page';

export interface Session {
  identity: VerifiedIdentity;
  csrf: string;
}

export class Sessions {
  readonly #s: LRUCache<string, Session>;
  readonly #secure: boolean;
  constructor(o: { ttlMs: number; max?: number; secureCookie: boolean }) {
    this.#s = new LRUCache({ max: o.max ?? 10_000, ttl: o.ttlMs });
    this.#secure = o.secureCookie;
  }

  /** Keyed by the hash of the cookie value: the cache never holds a usable cookie. */
  #key(v: string): string {
    return createHash('sha256').update(v).digest('hex');
  }

  create(identity: VerifiedIdentity, reply: FastifyReply): Session {
    const id = randomBytes(32).toString('base64url');
    const s: Session = { identity, csrf: randomBytes(32).toString('base64url') };
    this.#s.set(this.#key(id), s);
    reply.header('set-cookie', this.#cookie(id));
    return s;
  }

  get(req: FastifyRequest): Session | undefined {
    const v = cookie(req, SESSION_COOKIE);
    return v ? this.#s.get(this.#key(v)) : undefined;
  }

  end(req: FastifyRequest, reply: FastifyReply): void {
    const v = cookie(req, SESSION_COOKIE);
    if (v) this.#s.delete(this.#key(v));
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/incidents; Max-Age=0; HttpOnly; SameSite=Strict`);
  }

  #cookie(id: string): string {
    return `${SESSION_COOKIE}=${id}; Path=/incidents; HttpOnly; SameSite=Strict${this.#secure ? '; Secure' : ''}`;
  }
}

function cookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * Null when the browser says the request comes from this site; else why not. Sec-Fetch-Site is sent by
 * every current browser and cannot be set by a page; without it Origin must name this host (or the
 * configured external URL). A request with neither is refused: scripts use /api/proposals instead.
 */
export function crossSiteReason(req: FastifyRequest, externalUrl: string | null): string | null {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' ? null : `Sec-Fetch-Site is ${site}`;
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return 'no Origin or Sec-Fetch-Site header';
  const own = new Set<string>();
  const host = req.headers.host;
  if (host) {
    own.add(`http://${host}`);
    own.add(`https://${host}`);
  }
  if (externalUrl && URL.canParse(externalUrl)) own.add(new URL(externalUrl).origin);
  return own.has(origin) ? null : `Origin ${origin} is not this site`;
}

/** Constant-time comparison of the form's token with the session's. */
export function csrfMatches(session: Session, sent: unknown): boolean {
  if (typeof sent !== 'string' || sent.length === 0) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}
