// List + watch per resource with @kubernetes/client-node's informer (ListWatch), feeding the store.
// What the library does: list, then watch from the list's resourceVersion; 410 Gone → relist (objects
// missing from the new list are reported deleted); after a stream ends, reconnect with backoff
// 1 s → 30 s through an injectable delay. What it leaves to us, done here: it stops on an error
// (connection refused, 5xx, a failed list), so we restart it with our own 1 s → 30 s backoff (same
// injectable delay); it stores whatever it is given, so both its list and its watch see slim
// projections only; lists are paged. A snapshot file goes through this same class: its list is the
// file and its watch never delivers (snapshot.ts).
import type { ListWatch, Watch } from '@kubernetes/client-node';
import { kubeClientLib } from '../core/kube-lib.ts';
import type { Kind, Projector, SlimObject } from './objects.ts';
import type { ClusterStore } from './store.ts';

/** Sleeps; rejects (or resolves) early when `signal` aborts. Injected by tests so they never wait. */
export type Delay = (ms: number, signal: AbortSignal) => Promise<void>;

export interface EnrichLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Receives a list's raw items page by page (never the whole list at once). */
export interface ListSink {
  item(raw: unknown): void;
  /** The list starts over (a continue token expired): forget the items received so far. */
  restart(): void;
}

/** Lists a collection; resolves with the list's resourceVersion, rejects with `statusCode` on HTTP errors. */
export type ListRaw = (
  path: string,
  query: Record<string, string>,
  sink: ListSink,
) => Promise<{ resourceVersion: string }>;

/** The shape of client-node's Watch that ListWatch calls. */
export interface WatchLike {
  watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    cb: (phase: string, obj: unknown, raw?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
}

export interface Resource {
  kind: Kind;
  /** Collection path for all namespaces (or a cluster-scoped kind). */
  path: string;
  namespaced: boolean;
}

const resource = (kind: Kind, group: string, plural: string, namespaced = true): Resource => ({
  kind,
  path: `${group}/${plural}`,
  namespaced,
});

export const RESOURCES: Record<Kind, Resource> = {
  Namespace: resource('Namespace', '/api/v1', 'namespaces', false),
  Node: resource('Node', '/api/v1', 'nodes', false),
  Pod: resource('Pod', '/api/v1', 'pods'),
  Service: resource('Service', '/api/v1', 'services'),
  ReplicaSet: resource('ReplicaSet', '/apis/apps/v1', 'replicasets'),
  Deployment: resource('Deployment', '/apis/apps/v1', 'deployments'),
  StatefulSet: resource('StatefulSet', '/apis/apps/v1', 'statefulsets'),
  DaemonSet: resource('DaemonSet', '/apis/apps/v1', 'daemonsets'),
  Job: resource('Job', '/apis/batch/v1', 'jobs'),
};

/** `/apis/apps/v1/replicasets` → `/apis/apps/v1/namespaces/shop/replicasets`. */
export function namespacedPath(r: Resource, ns: string): string {
  if (!r.namespaced || ns === '') return r.path;
  const i = r.path.lastIndexOf('/');
  return `${r.path.slice(0, i)}/namespaces/${encodeURIComponent(ns)}${r.path.slice(i)}`;
}

export interface InformerStatus {
  kind: Kind;
  namespace: string;
  synced: boolean;
  /** Errors seen (each followed by a restart after a backoff). */
  errors: number;
  lastError: string | null;
  /** Objects delivered (list items and watch events). */
  events: number;
}

export interface ResourceInformerOptions {
  resource: Resource;
  /** '' for all namespaces. */
  namespace: string;
  /** e.g. `metadata.name=shop` (one Namespace object). */
  fieldSelector?: string | undefined;
  store: ClusterStore;
  projector: Projector;
  list: ListRaw;
  watch: WatchLike;
  delay: Delay;
  /** Aborted by stop(): pending delays end. */
  signal: AbortSignal;
  log?: EnrichLog | undefined;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onSynced?: () => void;
}

/** One resource (in one namespace, or all) kept in the store by a client-node ListWatch. */
export class ResourceInformer {
  readonly kind: Kind;
  readonly namespace: string;
  readonly path: string;
  synced = false;
  errors = 0;
  lastError: string | null = null;
  events = 0;
  readonly #lw: ListWatch<SlimObject>;
  readonly #o: ResourceInformerOptions;
  readonly #min: number;
  readonly #max: number;
  #backoff = 0;
  #stopped = false;

  constructor(o: ResourceInformerOptions) {
    this.#o = o;
    this.kind = o.resource.kind;
    this.namespace = o.namespace;
    this.path = namespacedPath(o.resource, o.namespace);
    this.#min = o.minBackoffMs ?? 1000;
    this.#max = o.maxBackoffMs ?? 30_000;
    const { kind } = this;
    const projecting: WatchLike = {
      watch: (path, params, cb, done) =>
        o.watch.watch(
          path,
          // Bookmarks keep the resourceVersion fresh on quiet resources: fewer relists after a gap.
          { ...params, allowWatchBookmarks: true },
          (phase, obj, raw) => {
            this.#backoff = 0;
            this.lastError = null;
            if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
              const slim = o.projector.project(kind, obj);
              if (!slim) return;
              this.events++;
              cb(phase, slim, raw);
            } else cb(phase, obj, raw);
          },
          done,
        ),
    };
    this.#lw = new (kubeClientLib().ListWatch)<SlimObject>(
      this.path,
      projecting as unknown as Watch,
      () => this.#list(),
      false,
      undefined,
      o.fieldSelector,
      { delayFn: (ms) => o.delay(ms, o.signal).catch(() => {}) },
    );
    this.#lw.on('add', (obj) => o.store.apply('ADDED', obj));
    this.#lw.on('update', (obj) => o.store.apply('MODIFIED', obj));
    this.#lw.on('delete', (obj) => o.store.apply('DELETED', obj));
    this.#lw.on('error', (err) => this.#onError(err));
  }

  start(): void {
    this.#stopped = false;
    this.#lw.start().catch((err: unknown) => this.#onError(err));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#lw.stop();
  }

  status(): InformerStatus {
    return {
      kind: this.kind,
      namespace: this.namespace,
      synced: this.synced,
      errors: this.errors,
      lastError: this.lastError,
      events: this.events,
    };
  }

  async #list(): Promise<{ metadata: { resourceVersion: string }; items: SlimObject[] }> {
    let items: SlimObject[] = [];
    const query: Record<string, string> = this.#o.fieldSelector
      ? { fieldSelector: this.#o.fieldSelector }
      : {};
    const { resourceVersion } = await this.#o.list(this.path, query, {
      item: (raw) => {
        const slim = this.#o.projector.project(this.kind, raw);
        if (slim) items.push(slim);
      },
      restart: () => {
        items = [];
      },
    });
    this.events += items.length;
    this.#backoff = 0;
    this.lastError = null;
    if (!this.synced) {
      // ListWatch adds the items right after this promise resolves, in the same turn.
      setImmediate(() => {
        if (this.synced) return;
        this.synced = true;
        this.#o.onSynced?.();
      });
    }
    return { metadata: { resourceVersion }, items };
  }

  /** ListWatch stops on an error: start it again after a backoff (it keeps its resourceVersion). */
  #onError(err: unknown): void {
    this.errors++;
    this.lastError = errorText(err);
    if (this.#stopped || this.#o.signal.aborted) return;
    this.#backoff = this.#backoff === 0 ? this.#min : Math.min(this.#backoff * 2, this.#max);
    const ms = this.#backoff;
    this.#o.log?.warn(
      { kind: this.kind, namespace: this.namespace || '*', err: this.lastError, retryInMs: ms },
      'cluster watch failed; retrying',
    );
    this.#o
      .delay(ms, this.#o.signal)
      .catch(() => {})
      .then(() => {
        if (!this.#stopped && !this.#o.signal.aborted) this.start();
      });
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { statusCode?: number }).statusCode;
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return `${code ? `HTTP ${code}: ` : ''}${err.message}${cause ? ` (${cause})` : ''}`;
  }
  if (typeof err === 'object' && err !== null) {
    const e = err as { message?: string; code?: number | string };
    return `${e.code ?? ''} ${e.message ?? JSON.stringify(err)}`.trim();
  }
  return String(err);
}

export interface ClusterWatchOptions {
  store: ClusterStore;
  projector: Projector;
  list: ListRaw;
  watch: WatchLike;
  /** Namespaces to watch; empty: all namespaces. */
  namespaces: readonly string[];
  /** Watch Nodes (cluster-scoped). */
  nodes: boolean;
  /** Watch batch/v1 Jobs. */
  jobs?: boolean;
  delay?: Delay;
  log?: EnrichLog;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const NAMESPACED: readonly Kind[] = [
  'Pod',
  'Service',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
];

/** The default sleep: timers/promises, ended early by the stop signal. */
export const realDelay: Delay = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Every informer the enrichment needs: namespaces, nodes and the namespaced kinds (all or per namespace). */
export class ClusterWatch {
  readonly informers: ResourceInformer[] = [];
  readonly #abort = new AbortController();
  #syncWaiters: (() => void)[] = [];
  #started = false;

  constructor(o: ClusterWatchOptions) {
    const common = {
      store: o.store,
      projector: o.projector,
      list: o.list,
      watch: o.watch,
      delay: o.delay ?? realDelay,
      signal: this.#abort.signal,
      log: o.log,
      ...(o.minBackoffMs !== undefined ? { minBackoffMs: o.minBackoffMs } : {}),
      ...(o.maxBackoffMs !== undefined ? { maxBackoffMs: o.maxBackoffMs } : {}),
      onSynced: () => this.#checkSynced(),
    };
    const scopes = o.namespaces.length ? [...new Set(o.namespaces)] : [''];
    for (const ns of scopes) {
      this.informers.push(
        new ResourceInformer({
          ...common,
          resource: RESOURCES.Namespace,
          namespace: '',
          fieldSelector: ns ? `metadata.name=${ns}` : undefined,
        }),
      );
    }
    if (o.nodes)
      this.informers.push(new ResourceInformer({ ...common, resource: RESOURCES.Node, namespace: '' }));
    for (const ns of scopes)
      for (const kind of NAMESPACED)
        if (kind !== 'Job' || o.jobs)
          this.informers.push(new ResourceInformer({ ...common, resource: RESOURCES[kind], namespace: ns }));
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const i of this.informers) i.start();
  }

  /** True once every informer has listed at least once. */
  get synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  /** Resolves true when synced, false when `timeoutMs` passes first. */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.synced), timeoutMs);
      this.#syncWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** For /readyz: synced, plus each informer that is not, or that has failed. */
  readiness(): { ok: boolean; detail: Record<string, unknown> } {
    const problems = this.informers
      .filter((i) => !i.synced || i.lastError !== null)
      .map((i) => i.status())
      .map((s) => ({
        kind: s.kind,
        namespace: s.namespace || '*',
        synced: s.synced,
        errors: s.errors,
        lastError: s.lastError,
      }));
    return {
      ok: this.synced,
      detail: { enrich: { synced: this.synced, informers: this.informers.length, problems } },
    };
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  #checkSynced(): void {
    if (!this.synced) return;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w();
  }
}
