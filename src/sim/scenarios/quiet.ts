// The quiet family: healthy clusters of three sizes with the background every production cluster has
// (background.ts: sporadic 5xx, one restart, routine rollouts with a probe miss, HPA rescales, stray
// ERROR lines, node events) and nothing wrong. Truth: no incident; any incident is a false positive.
//   quiet-small   3 services in `shop`, 30 min
//   quiet-medium  the shop's 8 services, 35 min
//   quiet-large   20 services in 6 namespaces and 12 teams on 6 nodes, 40 min
import { MIN } from '../engine.ts';
import { defineScenario } from './define.ts';
import { type AppDef, type ExtraApp, go, shopWorld } from './world.ts';

const REGISTRY = 'registry.example.com';

function app(
  team: string,
  language: AppDef['language'],
  repo: string,
  versions: string[],
  ops: AppDef['ops'],
  o: { replicas?: number; memMiB?: number; cpu?: number; readinessPath?: string } = {},
): AppDef {
  return {
    team,
    language,
    replicas: o.replicas ?? 2,
    repo: `${REGISTRY}/${repo}`,
    versions,
    memLimit: (o.memMiB ?? 512) * 1024 * 1024,
    cpuRequest: o.cpu ?? 0.25,
    readinessPath: o.readinessPath ?? (language === 'java' ? '/actuator/health/readiness' : '/healthz'),
    ops,
  };
}

/** The rest of a mid-size company's cluster: identity, messaging, shipping, analytics, platform tools. */
const LARGE_EXTRA: ExtraApp[] = [
  {
    name: 'auth',
    namespace: 'identity',
    partOf: 'identity',
    entry: 1.5,
    def: app('identity', 'go', 'identity/auth', ['2.3.0', '2.4.1'], {
      login: {
        method: 'POST',
        route: '/oauth/token',
        baseMs: 18,
        calls: [
          { service: 'accounts', op: 'get' },
          { service: 'sessions', op: 'create' },
        ],
        logLine: 'token issued in {ms}ms',
      },
    }),
  },
  {
    name: 'accounts',
    namespace: 'identity',
    partOf: 'identity',
    def: app('identity', 'java', 'identity/accounts', ['7.0.2', '7.1.0'], {
      get: { method: 'GET', route: '/api/accounts/{id}', baseMs: 9 },
    }),
  },
  {
    name: 'sessions',
    namespace: 'identity',
    partOf: 'identity',
    entry: 1,
    def: app('identity', 'go', 'identity/sessions', ['1.9.3', '1.9.4'], {
      create: { method: 'POST', route: '/api/sessions', baseMs: 4 },
      check: { method: 'GET', route: '/api/sessions/{id}', baseMs: 3, logLine: 'session checked' },
    }),
  },
  {
    name: 'notifications',
    namespace: 'messaging',
    partOf: 'messaging',
    entry: 0.6,
    def: app('comms', 'nodejs', 'messaging/notifications', ['5.0.0', '5.2.3'], {
      send: {
        method: 'POST',
        route: '/api/notify',
        baseMs: 12,
        calls: [{ service: 'email-sender', op: 'send' }],
        logLine: 'notification queued',
      },
    }),
  },
  {
    name: 'email-sender',
    namespace: 'messaging',
    partOf: 'messaging',
    def: app('comms', 'python', 'messaging/email-sender', ['0.31.0', '0.32.2'], {
      send: { method: 'POST', route: '/api/emails', baseMs: 45, logLine: 'email handed to SES' },
    }),
  },
  {
    name: 'sms-gateway',
    namespace: 'messaging',
    partOf: 'messaging',
    entry: 0.3,
    def: app('comms', 'go', 'messaging/sms-gateway', ['1.2.0', '1.2.5'], {
      send: { method: 'POST', route: '/api/sms', baseMs: 60, logLine: 'sms sent' },
    }),
  },
  {
    name: 'shipping',
    namespace: 'logistics',
    partOf: 'logistics',
    entry: 0.8,
    def: app('logistics', 'java', 'logistics/shipping', ['3.4.0', '3.5.2'], {
      quote: {
        method: 'POST',
        route: '/api/quotes',
        baseMs: 30,
        calls: [{ service: 'tracking', op: 'create' }],
        logLine: 'shipping quote computed',
      },
    }),
  },
  {
    name: 'tracking',
    namespace: 'logistics',
    partOf: 'logistics',
    def: app('logistics', 'go', 'logistics/tracking', ['0.8.1', '0.8.6'], {
      create: { method: 'POST', route: '/api/parcels', baseMs: 7 },
    }),
  },
  {
    name: 'events-ingest',
    namespace: 'analytics',
    partOf: 'analytics',
    entry: 2,
    def: app(
      'data',
      'go',
      'analytics/events-ingest',
      ['4.0.0', '4.1.3'],
      { ingest: { method: 'POST', route: '/v1/events', baseMs: 3 } },
      { replicas: 3 },
    ),
  },
  {
    name: 'reporting',
    namespace: 'analytics',
    partOf: 'analytics',
    entry: 0.3,
    def: app(
      'data',
      'python',
      'analytics/reporting',
      ['2.0.4', '2.1.0'],
      { report: { method: 'GET', route: '/api/reports/{id}', baseMs: 140, logLine: 'report rendered' } },
      { memMiB: 1024, cpu: 0.5 },
    ),
  },
  {
    name: 'feature-flags',
    namespace: 'platform-tools',
    partOf: 'platform',
    entry: 1,
    def: app('platform', 'go', 'platform/flagd', ['0.11.1', '0.11.4'], {
      evaluate: { method: 'POST', route: '/flagd.evaluation.v1.Service/ResolveAll', baseMs: 2 },
    }),
  },
  {
    name: 'reviews',
    namespace: 'shop',
    partOf: 'shop',
    entry: 0.8,
    def: app('catalog', 'python', 'shop/reviews', ['1.6.0', '1.7.2'], {
      list: { method: 'GET', route: '/api/reviews', baseMs: 25, logLine: 'reviews listed' },
    }),
  },
];

export const quietSmall = defineScenario({
  name: 'quiet-small',
  description: 'healthy 3-service cluster with background noise for 30 min: nothing must be raised',
  durationMs: 30 * MIN,
  truth: { incidents: [], tolerated: [] },
  noise: true,
  build(sim) {
    go(shopWorld(sim, { apps: ['frontend', 'catalog', 'cart'], entry: { frontend: 2 } }));
  },
});

export const quietMedium = defineScenario({
  name: 'quiet-medium',
  description: 'healthy 8-service shop with background noise for 35 min: nothing must be raised',
  durationMs: 35 * MIN,
  truth: { incidents: [], tolerated: [] },
  noise: true,
  build(sim) {
    go(
      shopWorld(sim, {
        apps: [
          'frontend',
          'catalog',
          'search',
          'recommendations',
          'cart',
          'checkout',
          'payments',
          'inventory',
        ],
        entry: { frontend: 2.5, checkout: 0.5 },
      }),
    );
  },
});

export const quietLarge = defineScenario({
  name: 'quiet-large',
  description: 'healthy 20-service cluster, 6 namespaces, 12 teams, background noise for 40 min',
  durationMs: 40 * MIN,
  truth: { incidents: [], tolerated: [] },
  noise: true,
  build(sim) {
    go(
      shopWorld(sim, {
        apps: [
          'frontend',
          'catalog',
          'search',
          'recommendations',
          'cart',
          'checkout',
          'payments',
          'inventory',
        ],
        entry: { frontend: 2 },
        extraApps: LARGE_EXTRA,
        extraNodes: 3,
      }),
    );
  },
});
