// The cluster every scenario starts from: an EKS-like cluster with three nodes, an online shop in
// namespace `shop` (frontend, catalog, search, recommendations, cart, checkout, payments, inventory),
// the Collector's agent DaemonSet in `observability`, and a call graph between the shop's services.
// Each scenario picks the apps it needs (smaller captures) and then scripts its own trouble.
// Ownership labels: every workload carries `team` and `app.kubernetes.io/part-of` on the Deployment
// and the pod template; nodes carry `team: platform` (the node group's owners).
import { type ContainerSpec, type DeploymentModel, GiB, MiB, type PodTemplate } from '../cluster.ts';
import { MIN, type Sim } from '../engine.ts';
import { type AppService, type Language, type Operation, Traffic } from '../traffic.ts';
import { addBackground } from './background.ts';

export type AppName =
  | 'frontend'
  | 'catalog'
  | 'search'
  | 'recommendations'
  | 'cart'
  | 'checkout'
  | 'payments'
  | 'inventory';

export interface AppDef {
  team: string;
  language: Language;
  replicas: number;
  repo: string;
  /** Image tags of past revisions, oldest first; the last is live at the start. */
  versions: string[];
  memLimit: number;
  cpuRequest: number;
  readinessPath: string;
  ops: Record<string, Operation>;
  database?: AppService['database'];
}

const REGISTRY = 'registry.example.com/shop';

export const APPS: Record<AppName, AppDef> = {
  frontend: {
    team: 'web',
    language: 'nodejs',
    replicas: 3,
    repo: `${REGISTRY}/frontend`,
    versions: ['3.11.2', '3.12.1'],
    memLimit: 512 * MiB,
    cpuRequest: 0.25,
    readinessPath: '/ready',
    ops: {
      home: {
        method: 'GET',
        route: '/',
        baseMs: 22,
        calls: [
          { service: 'catalog', op: 'list' },
          { service: 'recommendations', op: 'get', optional: true },
        ],
        logLine: 'GET / {status} {ms}ms',
      },
      product: {
        method: 'GET',
        route: '/product/{id}',
        baseMs: 16,
        calls: [{ service: 'catalog', op: 'get' }],
        notFoundRate: 0.03,
        logLine: 'GET /product {status} {ms}ms',
      },
      search: {
        method: 'GET',
        route: '/search',
        baseMs: 10,
        calls: [{ service: 'search', op: 'query' }],
        logLine: 'GET /search {status} {ms}ms',
      },
      addToCart: {
        method: 'POST',
        route: '/cart',
        baseMs: 14,
        calls: [{ service: 'cart', op: 'add' }],
        logLine: 'POST /cart {status} {ms}ms',
      },
      checkout: {
        method: 'POST',
        route: '/checkout',
        baseMs: 28,
        calls: [{ service: 'checkout', op: 'placeOrder' }],
        logLine: 'POST /checkout {status} {ms}ms',
      },
    },
  },
  catalog: {
    team: 'catalog',
    language: 'go',
    replicas: 3,
    repo: `${REGISTRY}/catalog`,
    versions: ['2.13.0', '2.13.4'],
    memLimit: 256 * MiB,
    cpuRequest: 0.2,
    readinessPath: '/healthz',
    ops: {
      list: { method: 'GET', route: '/api/products', baseMs: 12, logLine: 'listed products in {ms}ms' },
      get: { method: 'GET', route: '/api/products/{id}', baseMs: 6 },
    },
  },
  search: {
    team: 'discovery',
    language: 'java',
    replicas: 4,
    repo: `${REGISTRY}/search`,
    versions: ['5.2.0', '5.3.1'],
    memLimit: 2 * GiB,
    cpuRequest: 0.5,
    readinessPath: '/actuator/health/readiness',
    ops: {
      query: { method: 'GET', route: '/api/search', baseMs: 38, logLine: 'search query answered in {ms} ms' },
    },
  },
  recommendations: {
    team: 'discovery',
    language: 'python',
    replicas: 2,
    repo: `${REGISTRY}/recommendations`,
    versions: ['0.18.2', '0.19.0'],
    memLimit: 1 * GiB,
    cpuRequest: 1.5,
    readinessPath: '/ready',
    ops: {
      get: { method: 'GET', route: '/api/recommendations', baseMs: 32, logLine: 'served 12 recommendations' },
    },
  },
  cart: {
    team: 'cart',
    language: 'go',
    replicas: 3,
    repo: `${REGISTRY}/cart`,
    versions: ['1.4.0', '1.4.2'],
    memLimit: 256 * MiB,
    cpuRequest: 0.2,
    readinessPath: '/healthz',
    ops: {
      add: { method: 'POST', route: '/api/cart/items', baseMs: 8, logLine: 'item added to cart' },
    },
  },
  checkout: {
    team: 'checkout',
    language: 'java',
    replicas: 3,
    repo: `${REGISTRY}/checkout`,
    versions: ['1.7.3', '1.8.0', '1.8.2'],
    memLimit: 1 * GiB,
    cpuRequest: 0.5,
    readinessPath: '/actuator/health/readiness',
    ops: {
      placeOrder: {
        method: 'POST',
        route: '/api/checkout',
        baseMs: 45,
        calls: [
          { service: 'inventory', op: 'reserve' },
          { service: 'payments', op: 'charge' },
        ],
        logLine: 'order placed',
      },
    },
  },
  payments: {
    team: 'payments',
    language: 'java',
    replicas: 2,
    repo: `${REGISTRY}/payments`,
    versions: ['4.0.1', '4.1.0'],
    memLimit: 768 * MiB,
    cpuRequest: 0.5,
    readinessPath: '/actuator/health/readiness',
    ops: {
      charge: { method: 'POST', route: '/api/payments', baseMs: 85, logLine: 'payment authorised' },
    },
  },
  inventory: {
    team: 'fulfilment',
    language: 'go',
    replicas: 3,
    repo: `${REGISTRY}/inventory`,
    versions: ['0.9.4', '0.9.7'],
    memLimit: 256 * MiB,
    cpuRequest: 0.2,
    readinessPath: '/healthz',
    ops: {
      reserve: { method: 'POST', route: '/api/reservations', baseMs: 9, logLine: 'stock reserved' },
    },
    database: {
      system: 'postgresql',
      address: 'inventory-db.cluster-c9x2k1m4q7zd.eu-west-1.rds.amazonaws.com',
      port: 5432,
      namespace: 'inventory',
      statement: 'UPDATE stock SET reserved = reserved + $1 WHERE sku = $2 AND available >= $1',
    },
  },
};

export const NODE_NAMES = [
  'ip-10-42-1-23.eu-west-1.compute.internal',
  'ip-10-42-2-117.eu-west-1.compute.internal',
  'ip-10-42-3-91.eu-west-1.compute.internal',
] as const;

export interface WorldOptions {
  apps: AppName[];
  replicas?: Partial<Record<AppName, number>>;
  /** Sampled ingress requests per 10 s per entry service (default: frontend 2). */
  entry?: Partial<Record<AppName, number | ((t: number) => number)>>;
  /** Entry operations of services other than frontend (mobile/API clients through the ingress). */
  entryMix?: Partial<Record<AppName, [string, number][]>>;
  /** Pod spec changes (limits etc.) per app. */
  container?: Partial<Record<AppName, Partial<ContainerSpec>>>;
  /** Apps beyond the shop's (other namespaces and teams), by name; Deployment, Service and traffic alike. */
  extraApps?: ExtraApp[];
  /** Nodes beyond the three of the default node group (bigger clusters). */
  extraNodes?: number;
  /** Extra Deployments sharing an app's Service (e.g. a canary): name → app and its options. */
  variants?: { name: string; app: AppName; track: string; replicas: number; version: string }[];
}

/** An app outside the shop: its own namespace, team label and `app.kubernetes.io/part-of`. */
export interface ExtraApp {
  name: string;
  namespace: string;
  partOf: string;
  def: AppDef;
  /** Sampled ingress requests per 10 s, when it takes traffic from outside. */
  entry?: number;
}

export interface World {
  sim: Sim;
  traffic: Traffic;
  deployments: Record<string, DeploymentModel>;
  services: Record<string, AppService>;
}

function labelsOf(app: string, team: string, partOf = 'shop'): Record<string, string> {
  return {
    'app.kubernetes.io/name': app,
    'app.kubernetes.io/part-of': partOf,
    team,
  };
}

/** Builds the cluster at the scenario start and wires the traffic; scrapes and traffic start at t=0. */
export function shopWorld(sim: Sim, o: WorldOptions): World {
  const c = sim.cluster;
  const rng = sim.structure.fork('world');
  const day = 24 * 3600_000;
  const zones = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
  NODE_NAMES.forEach((name, i) => {
    c.addNode({
      name,
      zone: zones[i] ?? 'eu-west-1a',
      instanceType: 'm6i.xlarge',
      cpu: 4,
      memory: 16 * GiB,
      createdAt: sim.start - rng.int(6, 20) * day,
      labels: { team: 'platform' },
    });
  });

  for (let i = 0; i < (o.extraNodes ?? 0); i++) {
    c.addNode({
      name: `ip-10-42-${4 + i}-${rng.int(10, 250)}.eu-west-1.compute.internal`,
      zone: zones[i % zones.length] ?? 'eu-west-1a',
      instanceType: 'm6i.xlarge',
      cpu: 4,
      memory: 16 * GiB,
      createdAt: sim.start - rng.int(1, 20) * day,
      labels: { team: 'platform' },
    });
  }

  c.addDirectSet(
    {
      kind: 'DaemonSet',
      namespace: 'observability',
      name: 'otel-agent',
      labels: { 'app.kubernetes.io/part-of': 'observability', team: 'platform' },
      containers: [
        {
          name: 'otel-collector',
          image: 'otel/opentelemetry-collector-contrib:0.165.1',
          port: 4317,
          memRequest: 256 * MiB,
          memLimit: 512 * MiB,
          cpuRequest: 0.1,
          memFraction: 0.3,
        },
      ],
      createdAt: sim.start - 30 * day,
    },
    sim.start,
  );

  const deployments: Record<string, DeploymentModel> = {};
  const services: AppService[] = [];
  const apps: { name: string; namespace: string; partOf: string; def: AppDef }[] = [
    ...o.apps.map((name) => ({ name, namespace: 'shop', partOf: 'shop', def: APPS[name] })),
    ...(o.extraApps ?? []),
  ];
  for (const { name, namespace, partOf, def } of apps) {
    const isVariantBase = o.variants?.some((v) => v.app === name) ?? false;
    const spec: ContainerSpec = {
      name,
      image: `${def.repo}:${def.versions[def.versions.length - 1]}`,
      port: 8080,
      memRequest: Math.round(def.memLimit / 2),
      memLimit: def.memLimit,
      cpuRequest: def.cpuRequest,
      readinessPath: def.readinessPath,
      ...(o.container?.[name as AppName] ?? {}),
    };
    const revisions = def.versions.map((v, i) => ({
      image: `${def.repo}:${v}`,
      createdAt: sim.start - (def.versions.length - i) * rng.int(3, 9) * day - rng.int(0, day),
      changeCause: `deploy ${name} ${v} (pipeline #${rng.int(4000, 9000)})`,
    }));
    const selector: Record<string, string> = isVariantBase ? { app: name, track: 'stable' } : { app: name };
    deployments[name] = c.addDeployment(
      {
        namespace,
        name,
        replicas: o.replicas?.[name as AppName] ?? def.replicas,
        labels: labelsOf(name, def.team, partOf),
        containers: [spec],
        revisions,
        selector,
      },
      sim.start,
    );
    c.addService({
      namespace,
      name,
      selector: { app: name },
      port: 8080,
      targetPort: 8080,
      labels: labelsOf(name, def.team, partOf),
      createdAt: revisions[0]?.createdAt ?? sim.start,
    });
    const rate =
      o.entry?.[name as AppName] ??
      o.extraApps?.find((x) => x.name === name)?.entry ??
      (name === 'frontend' ? 2 : undefined);
    const mix =
      o.entryMix?.[name as AppName] ??
      (name === 'frontend'
        ? ([
            ['home', 0.35],
            ['product', 0.3],
            ['search', 0.13],
            ['addToCart', 0.14],
            ['checkout', 0.08],
          ] as [string, number][])
        : (Object.keys(def.ops).map((k) => [k, 1]) as [string, number][]));
    services.push({
      name,
      namespace,
      language: def.language,
      ops: def.ops,
      entry:
        rate === undefined
          ? undefined
          : {
              perTick: typeof rate === 'function' ? rate : () => rate,
              // Pages whose backend is not in this world are not offered (calls to absent services are skipped).
              mix: name === 'frontend' ? mix.filter(([op]) => opReachable(def.ops[op], o.apps)) : mix,
            },
      database: def.database,
    });
  }
  for (const v of o.variants ?? []) {
    const def = APPS[v.app];
    const base = deployments[v.app];
    if (!base) throw new Error(`variant ${v.name} of an app not in the world`);
    const spec = {
      ...(base.current.template.containers[0] as ContainerSpec),
      image: `${def.repo}:${v.version}`,
    };
    deployments[v.name] = c.addDeployment(
      {
        namespace: 'shop',
        name: v.name,
        replicas: v.replicas,
        labels: { ...labelsOf(v.app, def.team), track: v.track },
        containers: [spec],
        revisions: [
          {
            image: spec.image,
            createdAt: sim.start - rng.int(20, 50) * MIN,
            changeCause: `canary ${v.app} ${v.version} (pipeline #${rng.int(4000, 9000)})`,
          },
        ],
        selector: { app: v.app, track: v.track },
      },
      sim.start,
    );
  }
  if (o.apps.includes('cart')) {
    c.addDirectSet(
      {
        kind: 'StatefulSet',
        namespace: 'shop',
        name: 'cart-redis',
        labels: labelsOf('cart-redis', 'cart'),
        containers: [
          {
            name: 'redis',
            image: 'redis:7.4.2-alpine',
            port: 6379,
            memRequest: 256 * MiB,
            memLimit: 512 * MiB,
            cpuRequest: 0.1,
            memFraction: 0.25,
          },
        ],
        replicas: 1,
        createdAt: sim.start - 60 * day,
        serviceName: 'cart-redis',
      },
      sim.start,
    );
  }
  const traffic = new Traffic(sim, services);
  const byName: Record<string, AppService> = {};
  for (const s of services) byName[s.name] = s;
  return { sim, traffic, deployments, services: byName };
}

/** An entry operation is only offered when every service it needs is in the world. */
function opReachable(op: Operation | undefined, apps: readonly AppName[]): boolean {
  if (!op) return false;
  return (op.calls ?? []).every((c) => c.optional || apps.includes(c.service as AppName));
}

/** Starts scrapes and traffic; call after the scenario has adjusted the world. */
export function go(w: World): void {
  w.sim.startScrapes();
  w.traffic.start();
  addBackground(w);
}

export function dep(w: World, name: string): DeploymentModel {
  const d = w.deployments[name];
  if (!d) throw new Error(`no deployment ${name} in this world`);
  return d;
}

export function svc(w: World, name: string): AppService {
  const s = w.services[name];
  if (!s) throw new Error(`no app service ${name} in this world`);
  return s;
}

/** A rollout template change: the main container's image tag. */
export function withTag(
  tag: string,
  change: (c: ContainerSpec) => ContainerSpec = (c) => c,
): (t: PodTemplate) => PodTemplate {
  return (t) => ({
    ...t,
    containers: t.containers.map((c, i) =>
      i === 0 ? change({ ...c, image: c.image.replace(/:[^:/]+$/, `:${tag}`) }) : c,
    ),
  });
}
