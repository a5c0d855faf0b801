// The shortcuts dedup + grouping took for speed (issue 18) must give what the long way gave: an Event's
// summary built late, the evidence order of a context, the specificity bound that spares the word set,
// ScopeKeys' one scope object per scope, and LruMap's "already the newest" get.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blankUpdate } from '../../src/stream/incidents/evidence.ts';
import { fromEvent } from '../../src/stream/incidents/from-signal.ts';
import { Incident, type IncidentScope } from '../../src/stream/incidents/incident.ts';
import { ScopeKeys } from '../../src/stream/incidents/scope-keys.ts';
import { specificity, specificityAtMost } from '../../src/stream/incidents/specificity.ts';
import { LruMap } from '../../src/stream/lru-map.ts';
import type { EventSignal } from '../../src/stream/signals.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const SCOPE: IncidentScope = {
  cluster: 'prod',
  namespace: 'shop',
  workload: { kind: 'Deployment', name: 'api' },
};

function warning(uid: string, message: string, atMs = T0): EventSignal {
  return {
    type: 'event',
    atMs,
    cluster: 'prod',
    namespace: 'shop',
    pod: 'api-7d9f8c6b5-xk2lq',
    node: 'node-1',
    workload: { kind: 'Deployment', name: 'api' },
    eventType: 'Warning',
    reason: 'Failed',
    message,
    objectKind: 'Pod',
    objectName: 'api-7d9f8c6b5-xk2lq',
    objectUid: 'pod-uid-1',
    fieldPath: 'spec.containers{app}',
    count: 1,
    eventUid: uid,
    firstAtMs: 0,
  };
}

/** Deterministic strings over an alphabet that exercises words, hyphens, quotes and telling phrases. */
function strings(n: number): string[] {
  const parts = [
    'a',
    'B',
    '-',
    '"',
    "'",
    ' ',
    '1',
    'xy',
    'Z',
    'é',
    '\n',
    'err',
    'denied',
    ' not found ',
    'Error:',
  ];
  let seed = 7;
  const r = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  return Array.from({ length: n }, () => {
    let s = '';
    const len = Math.floor(r() * 30);
    for (let i = 0; i < len; i++) s += parts[Math.floor(r() * parts.length)];
    return s;
  });
}

describe('grouping shortcuts (issue 18)', () => {
  it("builds an Event's summary, when its item takes the message, as it was built eagerly", () => {
    const message = 'Error: configmap "api-config-v2" not found (mounted from "api-config-v2")';
    const inc = new Incident(SCOPE, T0, T0, 10_000);
    const u = fromEvent(warning('ev-1', message));
    assert.equal(u.summary, '', 'left to build');
    inc.absorb(u, 30);
    const [doc] = inc.toDocument(T0).evidence;
    assert.equal(
      doc?.summary,
      'Warning Failed on Pod/api-7d9f8c6b5-xk2lq: Error: configmap "api-config-v2" not found (mounted from "…")',
    );
    // A second event with the same message adds its count; the summary stays the one built.
    inc.absorb(fromEvent(warning('ev-2', message, T0 + 1000)), 30);
    assert.equal(inc.toDocument(T0 + 1000).evidence[0]?.summary, doc?.summary);
    assert.equal(inc.toDocument(T0 + 1000).evidence[0]?.count, 2);
  });

  for (const items of [5, 32, 33, 80]) {
    it(`orders ${items} evidence items by first occurrence, then id`, () => {
      const inc = new Incident(SCOPE, T0, T0, 10_000);
      // Opened out of time order, some at the same time (the id decides those).
      for (let i = 0; i < items; i++) {
        const at = T0 + ((i * 7919) % 13) * 1000;
        inc.absorb(blankUpdate('log', `log|api|line ${i}`, at, `line ${i}`), 1000);
      }
      const got = inc.toDocument(T0).evidence.map((e) => `${e.at} ${e.id}`);
      const want = [...got].sort();
      assert.equal(got.length, items);
      assert.deepEqual(got, want);
    });
  }

  it('never bounds specificity below what it is', () => {
    for (const s of strings(50_000)) assert.ok(specificity(s) <= specificityAtMost(s), JSON.stringify(s));
    // On a plain log line the bound is the score itself: a full item settles it without the word set.
    const line = 'request 123 handled in 45 ms for customer 678';
    assert.equal(specificityAtMost(line), specificity(line));
  });

  it('keeps the most specific messages of an item once it holds five', () => {
    const inc = new Incident(SCOPE, T0, T0, 10_000);
    const texts = [
      'request 1 handled in 45 ms for customer 1',
      'request 2 handled in 45 ms for customer 2',
      'request 3 handled in 45 ms for customer 3',
      'request 4 handled in 45 ms for customer 4',
      'request 5 handled in 45 ms for customer 5',
      'request 6 handled in 45 ms for customer 6',
      'request 7 failed: permission denied opening config file',
    ];
    texts.forEach((t, i) => {
      const u = blankUpdate('log', 'log|api|request # handled', T0 + i, t);
      u.message = t;
      inc.absorb(u, 30);
    });
    const e = inc.toDocument(T0).evidence[0]!;
    assert.deepEqual(e.messages, [texts[6], ...texts.slice(0, 4)]);
    assert.equal(e.summary, texts[6]);
  });

  it('hands out one scope object and key per scope, and a new one when the environment differs', () => {
    const keys = new ScopeKeys();
    const site = {
      cluster: 'prod',
      namespace: 'shop',
      pod: 'p',
      node: 'n',
      workload: { kind: 'Deployment', name: 'api' },
    };
    const a = keys.scopeOf(site);
    const ka = keys.lastKey;
    const b = keys.scopeOf({ ...site, workload: { kind: 'Deployment', name: 'api' } });
    assert.equal(b, a);
    assert.equal(keys.lastKey, ka);
    assert.equal(ka, 'prod/shop/Deployment/api');
    assert.equal(keys.of(a), ka);
    const c = keys.scopeOf({ ...site, environment: 'production', environmentSource: 'resource' });
    assert.notEqual(c, a);
    assert.equal(c.environment, 'production');
    assert.equal(keys.lastKey, ka);
    const ns = keys.scopeOf({ ...site, workload: undefined });
    assert.deepEqual(ns.workload, { kind: 'Namespace', name: 'shop' });
    assert.equal(keys.lastKey, 'prod/shop/Namespace/shop');
  });

  it('LruMap evicts the least recently used, however often the newest key is asked for', () => {
    const evicted: string[] = [];
    const m = new LruMap<number>(3, (_v, k) => evicted.push(k));
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    m.get('a');
    m.get('a');
    m.set('d', 4); // b is the least recent
    m.get('c');
    m.delete('c');
    m.set('e', 5);
    m.set('f', 6); // a, then d
    assert.deepEqual(evicted, ['b', 'a']);
    assert.equal(m.get('d'), 4);
    assert.equal(m.get('a'), undefined);
  });
});
