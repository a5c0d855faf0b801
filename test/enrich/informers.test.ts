// The informer's survival rules against a scripted API (the real API server is in apiserver.test.ts):
// list then watch from the list's resourceVersion, errors → restart with 1 s → 30 s backoff through
// the injected delay (so nothing here sleeps), 410 Gone → relist with deletions, synced.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import {
  ApiError,
  ClusterWatch,
  createEnrichment,
  type Delay,
  RESOURCES,
  ResourceInformer,
} from '../../src/enrich/index.ts';
import type { ListRaw, WatchLike } from '../../src/enrich/informers.ts';

interface ActiveWatch {
  path: string;
  params: Record<string, unknown>;
  cb: (phase: string, obj: unknown) => void;
  done: (err: unknown) => void;
  aborted: boolean;
}

function pod(name: string, rv: string, owner = 'web-5d4f8c7b9') {
  return {
    metadata: {
      name,
      namespace: 'a',
      resourceVersion: rv,
      uid: name,
      ownerReferences: [{ kind: 'ReplicaSet', name: owner, controller: true }],
    },
    spec: { containers: [{ name: 'app', image: 'web:1' }] },
  };
}

interface FakeApi {
  items: unknown[];
  rv: string;
  listCalls: number;
  listFailures: unknown[];
  watches: ActiveWatch[];
  list: ListRaw;
  watch: WatchLike;
  readonly current: ActiveWatch;
}

/** A fake API: `items` is what a list returns; watches are recorded for the test to drive. */
function fakeApi(): FakeApi {
  const api: FakeApi = {
    items: [] as unknown[],
    rv: '10',
    listCalls: 0,
    listFailures: [] as unknown[],
    watches: [] as ActiveWatch[],
    list: (async (_path, _query, sink) => {
      api.listCalls++;
      const failure = api.listFailures.shift();
      if (failure) throw failure;
      for (const it of api.items) sink.item(it);
      return { resourceVersion: api.rv };
    }) as ListRaw,
    watch: {
      async watch(path, params, cb, done) {
        const w: ActiveWatch = { path, params, cb, done, aborted: false };
        api.watches.push(w);
        return {
          abort() {
            w.aborted = true;
          },
        };
      },
    } as WatchLike,
    get current(): ActiveWatch {
      const w = api.watches[api.watches.length - 1];
      assert.ok(w, 'a watch is open');
      return w;
    },
  };
  return api;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function setup() {
  const e = createEnrichment(validateConfig({}).enrich);
  const api = fakeApi();
  const delays: number[] = [];
  const delay: Delay = async (ms) => {
    delays.push(ms);
  };
  const abort = new AbortController();
  let synced = 0;
  const inf = new ResourceInformer({
    resource: RESOURCES.Pod,
    namespace: 'a',
    store: e.store,
    projector: e.projector,
    list: api.list,
    watch: api.watch,
    delay,
    signal: abort.signal,
    onSynced: () => synced++,
  });
  return { e, api, delays, inf, abort, synced: () => synced };
}

describe('enrich: informer (scripted API)', () => {
  it('lists, then watches from the list resourceVersion with bookmarks; events reach the store', async () => {
    const t = setup();
    t.api.items = [pod('web-5d4f8c7b9-aaaaa', '5')];
    t.inf.start();
    await until(() => t.api.watches.length === 1 && t.synced() === 1, 'list + watch');
    assert.equal(t.inf.path, '/api/v1/namespaces/a/pods');
    assert.equal(t.api.current.params.resourceVersion, '10');
    assert.equal(t.api.current.params.allowWatchBookmarks, true);
    assert.equal(t.e.store.stats.objects.Pod, 1);
    t.api.current.cb('ADDED', pod('web-5d4f8c7b9-bbbbb', '11'));
    t.api.current.cb('BOOKMARK', { metadata: { resourceVersion: '12' } });
    t.api.current.cb('DELETED', pod('web-5d4f8c7b9-aaaaa', '13'));
    assert.equal(t.e.store.stats.objects.Pod, 1);
    assert.equal(t.e.store.stats.tombstones, 1);
    // The stream ends (server timeout): reconnect from the last resourceVersion, no relist.
    t.api.current.done(null);
    await until(() => t.api.watches.length === 2, 'reconnect');
    assert.equal(t.api.current.params.resourceVersion, '13');
    assert.equal(t.api.listCalls, 1);
    await t.inf.stop();
  });

  it('restarts after errors with backoff 1 s doubling to 30 s, reset by success', async () => {
    const t = setup();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    t.api.listFailures = Array.from({ length: 7 }, () => refused);
    t.inf.start();
    await until(() => t.api.watches.length === 1 && t.synced() === 1, 'recovery');
    assert.deepEqual(t.delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.equal(t.inf.errors, 7);
    assert.equal(t.inf.lastError, null, 'cleared once the list succeeded');
    assert.equal(t.synced(), 1);
    // A watch that fails after success starts the backoff again from 1 s.
    t.delays.length = 0;
    t.api.current.done(new ApiError(503, 'unavailable'));
    await until(() => t.api.watches.length === 2, 'watch restart');
    assert.deepEqual(t.delays, [1000]);
    assert.equal(t.api.listCalls, 8, 'kept its resourceVersion: no relist');
    await t.inf.stop();
  });

  it('relists on 410 Gone (stream ERROR or HTTP status); objects gone meanwhile are deleted', async () => {
    const t = setup();
    t.api.items = [pod('web-5d4f8c7b9-aaaaa', '5'), pod('web-5d4f8c7b9-bbbbb', '6')];
    t.inf.start();
    await until(() => t.api.watches.length === 1, 'watch');
    t.api.items = [pod('web-5d4f8c7b9-bbbbb', '6'), pod('web-5d4f8c7b9-ccccc', '20')];
    t.api.rv = '21';
    t.api.current.cb('ERROR', {
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version',
    });
    t.api.current.done(null);
    await until(() => t.api.watches.length === 2, 'relist + watch');
    assert.equal(t.api.listCalls, 2);
    assert.equal(t.api.current.params.resourceVersion, '21');
    const live = [...['aaaaa', 'bbbbb', 'ccccc']].map(
      (s) => t.e.store.stats && t.e.resolver.describePod('a', `web-5d4f8c7b9-${s}`)?.deleted,
    );
    assert.deepEqual(live, [true, false, false], 'aaaaa is a tombstone, ccccc arrived');
    // HTTP 410 on the watch request itself.
    t.api.items = [];
    t.api.rv = '30';
    t.api.current.done(new ApiError(410, 'Gone'));
    await until(() => t.api.watches.length === 3, 'second relist');
    assert.equal(t.api.listCalls, 3);
    assert.equal(t.e.store.stats.objects.Pod, 0);
    await t.inf.stop();
  });

  it('ClusterWatch: one informer per kind (per namespace), synced when all have listed', async () => {
    const e = createEnrichment(validateConfig({}).enrich);
    const api = fakeApi();
    const w = new ClusterWatch({
      store: e.store,
      projector: e.projector,
      list: api.list,
      watch: api.watch,
      namespaces: ['a', 'b'],
      nodes: true,
      delay: async () => {},
    });
    assert.deepEqual(w.informers.map((i) => i.path).slice(0, 4), [
      '/api/v1/namespaces',
      '/api/v1/namespaces',
      '/api/v1/nodes',
      '/api/v1/namespaces/a/pods',
    ]);
    assert.equal(w.informers.length, 2 + 1 + 6 * 2, 'no Jobs unless enrich.jobs');
    assert.equal(w.readiness().ok, false);
    const ready = w.waitForSync(10_000);
    w.start();
    assert.equal(await ready, true);
    assert.equal(w.readiness().ok, true);
    assert.deepEqual(
      api.watches.filter((x) => x.path === '/api/v1/namespaces').map((x) => x.params.fieldSelector),
      ['metadata.name=a', 'metadata.name=b'],
    );
    await w.stop();
    assert.ok(api.watches.every((x) => x.aborted));
  });
});
