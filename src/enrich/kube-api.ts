// The API server side of the informers: a KubeConfig from `enrich` settings, paged lists over the
// client's own HTTP stack (its auth, TLS and connection pool), and its Watch for the streams.
import type { KubeConfig } from '@kubernetes/client-node';
import type { EnrichConfig } from '../core/config.ts';
import { KubetriageError } from '../core/errors.ts';
import { kubeClientLib } from '../core/kube-lib.ts';
import type { ListRaw, WatchLike } from './informers.ts';

/** in-cluster, a kubeconfig file, or the default loading rules (KUBECONFIG, ~/.kube/config). */
export function kubeConfigFrom(cfg: Pick<EnrichConfig, 'inCluster' | 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new (kubeClientLib().KubeConfig)();
  try {
    if (cfg.inCluster) kc.loadFromCluster();
    else if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
    else kc.loadFromDefault();
    if (cfg.context) kc.setCurrentContext(cfg.context);
  } catch (err) {
    throw new KubetriageError(
      'CONFIG_INVALID',
      `enrich: cannot load the kubeconfig: ${(err as Error).message}`,
    );
  }
  if (!kc.getCurrentCluster())
    throw new KubetriageError(
      'CONFIG_INVALID',
      `enrich: no cluster in ${cfg.inCluster ? 'the in-cluster config' : (cfg.kubeconfig ?? 'the default kubeconfig')}${cfg.context ? ` for context ${cfg.context}` : ''}`,
    );
  return kc;
}

export interface ApiTransportOptions {
  /** Items per list page (the `limit` parameter). */
  pageSize?: number;
  /** Per request (one page). */
  timeoutMs?: number;
}

/** HTTP status as data on the error, as ListWatch expects (`statusCode === 410` → relist). */
export class ApiError extends Error {
  readonly statusCode: number;
  override name = 'ApiError';
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

export function apiTransport(
  kc: KubeConfig,
  o: ApiTransportOptions = {},
): { list: ListRaw; watch: WatchLike } {
  const pageSize = o.pageSize ?? 500;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, Watch } = kubeClientLib();
  const http = new IsomorphicFetchHttpLibrary();
  const server = kc.getCurrentCluster()?.server ?? '';

  async function getJson(path: string, query: Record<string, string>): Promise<RawList> {
    const url = new URL(server + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setSignal(AbortSignal.timeout(timeoutMs));
    await kc.applySecurityAuthentication(ctx);
    const res = await http.send(ctx).toPromise();
    const text = await res.body.text();
    if (res.httpStatusCode !== 200) {
      let message = `HTTP ${res.httpStatusCode} from GET ${path}`;
      try {
        const status = JSON.parse(text) as { message?: string };
        if (status.message) message = `${message}: ${status.message}`;
      } catch {}
      throw new ApiError(res.httpStatusCode, message);
    }
    return JSON.parse(text) as RawList;
  }

  const list: ListRaw = async (path, query, sink) => {
    let cont = '';
    let restarts = 0;
    for (;;) {
      let page: RawList;
      try {
        page = await getJson(path, {
          ...query,
          limit: String(pageSize),
          ...(cont ? { continue: cont } : {}),
        });
      } catch (err) {
        // An expired continue token (410 mid-list): start the list again, a few times at most.
        if (cont && err instanceof ApiError && err.statusCode === 410 && restarts++ < 3) {
          cont = '';
          sink.restart();
          continue;
        }
        throw err;
      }
      for (const item of page.items ?? []) sink.item(item);
      cont = page.metadata?.continue ?? '';
      if (!cont) return { resourceVersion: page.metadata?.resourceVersion ?? '' };
    }
  };

  return { list, watch: new Watch(kc) as unknown as WatchLike };
}

interface RawList {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}
