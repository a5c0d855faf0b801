// The one Kubernetes interface the executor and the API's identity check need, on
// @kubernetes/client-node's KubeConfig (in-cluster, kubeconfig files and contexts, exec credential
// plugins, OIDC) and its HTTP stack. Deliberately small: every request exec can make is listed in
// `ExecKube`, so a review sees the whole surface here.
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, User } from '@kubernetes/client-node';
import { kubeClientLib } from '../core/kube-lib.ts';

export interface Scale {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion: string; uid?: string };
  spec: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

export interface ResourceAttributes {
  namespace?: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
}

/** What the API server vouches for about a bearer token (TokenReview status). */
export interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  audiences?: string[];
  error?: string;
}

export interface AccessReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/** Everything exec asks of the API server. */
export interface ExecKube {
  readScale(namespace: string, name: string): Promise<Scale>;
  /** The Deployment's metadata (labels, annotations, managedFields): who manages it (GitOps check). */
  readDeploymentMeta?(namespace: string, name: string): Promise<Record<string, unknown>>;
  /** Writes spec.replicas with the read resourceVersion (409 when it moved); dryRun=All when asked. */
  replaceScale(scale: Scale, o: { dryRun: boolean }): Promise<Scale>;
  selfRulesReview(namespace: string): Promise<{ resourceRules: ResourceRule[]; incomplete: boolean }>;
  selfAccessReview(attributes: ResourceAttributes): Promise<boolean>;
  tokenReview(token: string, audiences: string[]): Promise<TokenReviewStatus>;
  subjectAccessReview(spec: {
    user: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
    resourceAttributes: ResourceAttributes;
  }): Promise<AccessReviewStatus>;
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

export interface ExecKubeSettings {
  /** A kubeconfig file (contexts, exec plugins, OIDC); null: in-cluster style (url/tokenFile/caFile). */
  kubeconfig: string | null;
  context: string | null;
  url: string | null;
  tokenFile: string;
  caFile: string;
  timeout: number;
}

/**
 * A bearer token read from a file and read again whenever the file changes (kubelet rotates bound
 * ServiceAccount tokens by swapping the file; client-node's own token-file reader keeps one for 60 s).
 * One stat per request: cheap next to a TLS round trip to the API server.
 */
export class RotatingTokenFile {
  static readonly PROVIDER = 'kubetriage-rotating-token-file';
  readonly #file: string;
  #token = '';
  #stamp = '';

  constructor(file: string) {
    this.#file = file;
  }

  isAuthProvider(user: User): boolean {
    return user.authProvider?.name === RotatingTokenFile.PROVIDER;
  }

  async applyAuthentication(_user: User, opts: { headers?: Record<string, unknown> }): Promise<void> {
    opts.headers ??= {};
    opts.headers.Authorization = `Bearer ${await this.token()}`;
  }

  async token(): Promise<string> {
    const s = statSync(this.#file);
    const stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    if (stamp !== this.#stamp) {
      this.#token = (await readFile(this.#file, 'utf8')).trim();
      this.#stamp = stamp;
    }
    return this.#token;
  }
}

/** The KubeConfig exec uses: a kubeconfig file, or URL (or KUBERNETES_SERVICE_HOST) + token file + CA. */
export function execKubeConfig(s: ExecKubeSettings, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  if (s.kubeconfig) return kubeconfigFileConfig(s.kubeconfig, s.context);
  return inClusterConfig(inClusterServer(s, env), s);
}

function kubeconfigFileConfig(file: string, context: string | null): KubeConfig {
  const kc = new (kubeClientLib().KubeConfig)();
  kc.loadFromFile(file);
  if (context) {
    if (!kc.getContextObject(context)) throw new Error(`exec.kube.context ${context} is not in ${file}`);
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) throw new Error(`no current cluster in ${file}`);
  return kc;
}

/**
 * The in-cluster style settings checked without @kubernetes/client-node (the server URL, and that the
 * token and CA files exist), so a bad setting still fails at start while the library loads later.
 */
function inClusterServer(s: ExecKubeSettings, env: NodeJS.ProcessEnv): string {
  const host = env.KUBERNETES_SERVICE_HOST;
  const url =
    s.url ??
    (host
      ? `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`
      : null);
  if (!url)
    throw new Error(
      'exec.kube.url and exec.kube.kubeconfig are not set and KUBERNETES_SERVICE_HOST is not in the environment',
    );
  // Fail at start, not at the first approval, when the files are missing.
  statSync(s.tokenFile);
  statSync(s.caFile);
  return url;
}

function inClusterConfig(url: string, s: ExecKubeSettings): KubeConfig {
  const kc = new (kubeClientLib().KubeConfig)();
  kc.addAuthenticator(new RotatingTokenFile(s.tokenFile));
  kc.loadFromClusterAndUser(
    { name: 'exec', server: url, caFile: s.caFile, skipTLSVerify: false },
    { name: 'exec', authProvider: { name: RotatingTokenFile.PROVIDER, config: {} } },
  );
  return kc;
}

/** A KubeConfig built on first use, for a server already known (see ExecKubeClient.fromSettings). */
export interface DeferredKubeConfig {
  server: string;
  load(): KubeConfig;
}

function isDeferred(kc: KubeConfig | DeferredKubeConfig): kc is DeferredKubeConfig {
  return typeof (kc as Partial<DeferredKubeConfig>).load === 'function';
}

const scalePath = (ns: string, name: string) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(name)}/scale`;

export class ExecKubeClient implements ExecKube {
  readonly url: string;
  #kc: KubeConfig | undefined;
  readonly #loadKc: (() => KubeConfig) | undefined;
  #http: IsomorphicFetchHttpLibrary | undefined;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig | DeferredKubeConfig, o: { timeoutMs?: number } = {}) {
    if (isDeferred(kc)) {
      this.#loadKc = kc.load;
      this.url = kc.server.replace(/\/$/, '');
    } else {
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new Error('exec: the kubeconfig has no current cluster');
      this.#kc = kc;
      this.url = cluster.server.replace(/\/$/, '');
    }
    this.#timeoutMs = o.timeoutMs ?? 10_000;
  }

  /**
   * A kubeconfig file is loaded at once (its contexts and clusters are checked at start). The in-cluster
   * settings are checked at once but @kubernetes/client-node (~0.3 CPU-s to load from a warm compile
   * cache, bench/startup.ts) loads on the first request: in dry-run mode that is the first approval or
   * API call, not start-up; execute mode's start-up permission check makes the first request anyway.
   */
  static fromSettings(s: ExecKubeSettings, env: NodeJS.ProcessEnv = process.env): ExecKubeClient {
    if (s.kubeconfig)
      return new ExecKubeClient(kubeconfigFileConfig(s.kubeconfig, s.context), { timeoutMs: s.timeout });
    const server = inClusterServer(s, env);
    return new ExecKubeClient({ server, load: () => inClusterConfig(server, s) }, { timeoutMs: s.timeout });
  }

  async #request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const ctx = new (kubeClientLib().RequestContext)(this.url + path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('User-Agent', 'kubetriage-exec');
    if (body !== undefined) {
      ctx.setHeaderParam('Content-Type', 'application/json');
      ctx.setBody(JSON.stringify(body));
    }
    ctx.setSignal(AbortSignal.timeout(this.#timeoutMs));
    // Auth per request: token files are re-read when rotated, exec plugins refresh expired credentials.
    this.#kc ??= this.#loadKc!();
    this.#http ??= new (kubeClientLib().IsomorphicFetchHttpLibrary)();
    await this.#kc.applySecurityAuthentication(ctx);
    const dispatcher = ctx.getDispatcher() as { close?: () => Promise<void> } | undefined;
    try {
      const res = await this.#http.send(ctx).toPromise();
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {}
      if (res.httpStatusCode < 200 || res.httpStatusCode >= 300)
        throw new KubeApiError(method, path, res.httpStatusCode, parsed);
      if (typeof parsed !== 'object' || parsed === null)
        throw new KubeApiError(method, path, res.httpStatusCode, 'the answer is not a JSON object');
      return parsed as T;
    } finally {
      // client-node builds a dispatcher per request: close it so no socket outlives the call.
      void dispatcher?.close?.().catch(() => {});
    }
  }

  readScale(namespace: string, name: string): Promise<Scale> {
    return this.#request<Scale>(kubeClientLib().HttpMethod.GET, scalePath(namespace, name));
  }

  async readDeploymentMeta(namespace: string, name: string): Promise<Record<string, unknown>> {
    const d = await this.#request<{ metadata?: Record<string, unknown> }>(
      kubeClientLib().HttpMethod.GET,
      scalePath(namespace, name).replace(/\/scale$/, ''),
    );
    return d.metadata ?? {};
  }

  replaceScale(scale: Scale, o: { dryRun: boolean }): Promise<Scale> {
    const q = `?fieldManager=kubetriage${o.dryRun ? '&dryRun=All' : ''}`;
    return this.#request<Scale>(
      kubeClientLib().HttpMethod.PUT,
      scalePath(scale.metadata.namespace, scale.metadata.name) + q,
      scale,
    );
  }

  async selfRulesReview(namespace: string): Promise<{ resourceRules: ResourceRule[]; incomplete: boolean }> {
    const r = await this.#request<{ status?: { resourceRules?: ResourceRule[]; incomplete?: boolean } }>(
      kubeClientLib().HttpMethod.POST,
      '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
    );
    return { resourceRules: r.status?.resourceRules ?? [], incomplete: r.status?.incomplete === true };
  }

  async selfAccessReview(attributes: ResourceAttributes): Promise<boolean> {
    const r = await this.#request<{ status?: AccessReviewStatus }>(
      kubeClientLib().HttpMethod.POST,
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: attributes },
      },
    );
    return r.status?.allowed === true;
  }

  async tokenReview(token: string, audiences: string[]): Promise<TokenReviewStatus> {
    const r = await this.#request<{ status?: TokenReviewStatus }>(
      kubeClientLib().HttpMethod.POST,
      '/apis/authentication.k8s.io/v1/tokenreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences.length ? { audiences } : {}) },
      },
    );
    if (!r.status) throw new Error('TokenReview: the answer has no status');
    return r.status;
  }

  async subjectAccessReview(
    spec: Parameters<ExecKube['subjectAccessReview']>[0],
  ): Promise<AccessReviewStatus> {
    const r = await this.#request<{ status?: AccessReviewStatus }>(
      kubeClientLib().HttpMethod.POST,
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
    );
    if (!r.status) throw new Error('SubjectAccessReview: the answer has no status');
    return r.status;
  }
}
