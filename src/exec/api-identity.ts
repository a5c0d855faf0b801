// Who is calling the approval API, and may they? As kube-rbac-proxy does it: the caller's bearer token
// goes to the API server (TokenReview: ServiceAccount, OIDC or any token the cluster accepts), and the
// identity it vouches for is authorised with a SubjectAccessReview on our own verb
// (`approve|reject|rollback|get` on `proposals.kubetriage.io`, in the proposal's target namespace).
// Both answers are cached briefly in bounded caches, refusals shorter than grants. A name claimed by
// the caller is never used. A shared static token exists only as an explicit opt-in for local use.
import { createHash, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { ExecKube } from './kube-client.ts';

/** The identity the API server vouched for (or the configured static-token name). */
export interface VerifiedIdentity {
  username: string;
  uid: string;
  groups: string[];
  /** How it was established. */
  by: 'TokenReview' | 'static-token';
}

export type Authentication =
  | { ok: true; identity: VerifiedIdentity }
  /** 401: no or unknown token. 503: the API server could not be asked (fail closed). */
  | { ok: false; status: 401 | 503; reason: string };

export type Authorization = { allowed: boolean; reason: string } | { error: string };

export interface ApiIdentityOptions {
  kube: ExecKube | null;
  /** TokenReview audiences; empty: the API server's own. */
  audiences: string[];
  group: string;
  resource: string;
  cacheSize: number;
  /** How long a grant (authenticated token, allowed review) is reused. */
  cacheTtlMs: number;
  /** How long a refusal is reused (shorter: a fixed binding takes effect sooner). */
  negativeCacheTtlMs: number;
  /** Opt-in only: a shared token standing for one configured name (local use). */
  staticToken?: { token: string; name: string } | undefined;
  registry?: Registry;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class ApiIdentity {
  readonly #o: ApiIdentityOptions;
  readonly #staticHash: Buffer | undefined;
  // Keyed by the token's hash: the cache never holds a usable credential.
  readonly #tokens: LRUCache<string, Authentication>;
  readonly #access: LRUCache<string, { allowed: boolean; reason: string }>;
  readonly #authn: Counter;
  readonly #authz: Counter;

  constructor(o: ApiIdentityOptions) {
    this.#o = o;
    this.#staticHash = o.staticToken ? sha256(o.staticToken.token) : undefined;
    this.#tokens = new LRUCache({ max: o.cacheSize, ttl: o.cacheTtlMs });
    this.#access = new LRUCache({ max: o.cacheSize, ttl: o.cacheTtlMs });
    const registers = o.registry ? [o.registry] : [];
    this.#authn = new Counter({
      name: 'kubetriage_exec_api_authentications_total',
      help: 'Approval API callers by authentication result (authenticated, static_token, unauthenticated, error) and whether the answer came from the cache',
      labelNames: ['result', 'cached'],
      registers,
    });
    this.#authz = new Counter({
      name: 'kubetriage_exec_api_authorizations_total',
      help: 'Approval API SubjectAccessReviews by result (allowed, denied, error) and whether the answer came from the cache',
      labelNames: ['result', 'cached'],
      registers,
    });
  }

  /** Whether any caller could ever be authenticated (otherwise the API answers 404). */
  get enabled(): boolean {
    return this.#o.kube !== null || this.#o.staticToken !== undefined;
  }

  async authenticate(authorization: string | undefined): Promise<Authentication> {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!m) {
      this.#authn.inc({ result: 'unauthenticated', cached: 'false' });
      return { ok: false, status: 401, reason: 'a bearer token is required' };
    }
    const token = m[1]!;
    const hash = sha256(token);
    if (this.#staticHash && timingSafeEqual(hash, this.#staticHash)) {
      this.#authn.inc({ result: 'static_token', cached: 'false' });
      return {
        ok: true,
        identity: { username: this.#o.staticToken!.name, uid: '', groups: [], by: 'static-token' },
      };
    }
    const key = hash.toString('hex');
    const hit = this.#tokens.get(key);
    if (hit) {
      this.#authn.inc({ result: hit.ok ? 'authenticated' : 'unauthenticated', cached: 'true' });
      return hit;
    }
    const kube = this.#o.kube;
    if (!kube) {
      this.#authn.inc({ result: 'unauthenticated', cached: 'false' });
      return { ok: false, status: 401, reason: 'unknown token (no Kubernetes connection to review it)' };
    }
    let answer: Authentication;
    try {
      const s = await kube.tokenReview(token, this.#o.audiences);
      const u = s.user;
      answer =
        s.authenticated === true && typeof u?.username === 'string' && u.username !== ''
          ? {
              ok: true,
              identity: {
                username: u.username,
                uid: typeof u.uid === 'string' ? u.uid : '',
                groups: Array.isArray(u.groups) ? u.groups.filter((g) => typeof g === 'string') : [],
                by: 'TokenReview',
              },
            }
          : { ok: false, status: 401, reason: 'the Kubernetes API server did not authenticate this token' };
    } catch (err) {
      // Not cached: the next call asks again.
      this.#authn.inc({ result: 'error', cached: 'false' });
      return { ok: false, status: 503, reason: `TokenReview failed: ${(err as Error).message}` };
    }
    this.#tokens.set(key, answer, answer.ok ? {} : { ttl: this.#o.negativeCacheTtlMs });
    this.#authn.inc({ result: answer.ok ? 'authenticated' : 'unauthenticated', cached: 'false' });
    return answer;
  }

  /**
   * May `who` do `verb` on the proposal? `namespace` is the proposal's target namespace (undefined for
   * an unknown proposal: then only a cluster-wide grant allows it). The static token is its own grant.
   */
  async authorize(
    who: VerifiedIdentity,
    verb: string,
    proposal: string,
    namespace: string | undefined,
  ): Promise<Authorization> {
    if (who.by === 'static-token') return { allowed: true, reason: 'static token (exec.api.staticToken)' };
    const kube = this.#o.kube;
    if (!kube) return { error: 'no Kubernetes connection for SubjectAccessReview' };
    const attrs = {
      ...(namespace ? { namespace } : {}),
      verb,
      group: this.#o.group,
      resource: this.#o.resource,
      name: proposal,
    };
    const key = JSON.stringify([who.username, who.uid, who.groups, attrs]);
    const hit = this.#access.get(key);
    if (hit) {
      this.#authz.inc({ result: hit.allowed ? 'allowed' : 'denied', cached: 'true' });
      return hit;
    }
    let answer: { allowed: boolean; reason: string };
    try {
      const s = await kube.subjectAccessReview({
        user: who.username,
        ...(who.uid ? { uid: who.uid } : {}),
        groups: who.groups,
        resourceAttributes: attrs,
      });
      const what = `${verb} ${this.#o.resource}.${this.#o.group}${namespace ? ` in namespace ${namespace}` : ' cluster-wide'}`;
      answer =
        s.allowed === true && s.denied !== true
          ? { allowed: true, reason: s.reason || `RBAC allows ${what}` }
          : {
              allowed: false,
              reason: `not allowed to ${what}${s.reason ? `: ${s.reason}` : ''}${s.evaluationError ? ` (${s.evaluationError})` : ''}`,
            };
    } catch (err) {
      this.#authz.inc({ result: 'error', cached: 'false' });
      return { error: `SubjectAccessReview failed: ${(err as Error).message}` };
    }
    this.#access.set(key, answer, answer.allowed ? {} : { ttl: this.#o.negativeCacheTtlMs });
    this.#authz.inc({ result: answer.allowed ? 'allowed' : 'denied', cached: 'false' });
    return answer;
  }
}

/** The ledger's actor for a verified identity: `k8s:<username>` or `static:<name>`. */
export function actorName(who: VerifiedIdentity): string {
  return who.by === 'static-token' ? `static:${who.username}` : `k8s:${who.username}`;
}
