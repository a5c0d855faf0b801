// inventory's PostgreSQL (an RDS instance outside the cluster) runs out of connection slots. inventory
// answers 500 for most reservations (server spans ERROR with an exception event, DB client spans ERROR
// with error.type, ERROR logs), its /healthz (which pings the DB) fails on two of three pods:
// Unhealthy "Readiness probe failed: HTTP probe failed with statuscode: 503". checkout's client spans
// to inventory (peer.service=inventory) fail and checkout answers 502, and so does frontend's
// POST /checkout: both are impact. The incident is inventory's; the cause is its dependency.
import { MIN, SEC } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc } from './world.ts';

const DB_DOWN_AT = 7 * MIN;

export const dependencyFailure = defineScenario({
  name: 'dependency-failure',
  description:
    "inventory's database refuses connections; inventory fails, checkout and frontend fail calling it",
  durationMs: 18 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'inventory' },
        role: 'primary',
        severity: ['SEV1', 'SEV2'],
        team: 'fulfilment',
        cause: 'dependency_failure',
        alsoAcceptable: [],
        proposal: null,
        why:
          "inventory's PostgreSQL refuses new connections (SQLSTATE 53300); inventory fails, its readiness " +
          'probes fail, and every order through checkout fails. More inventory replicas would open more ' +
          'connections to a database that has none left: no scale proposal is right.',
      },
    ],
    tolerated: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'checkout' },
        why: 'impact: checkout calls inventory (client spans error with peer.service=inventory) and answers 502',
      },
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'frontend' },
        why: 'impact: POST /checkout fails because checkout does',
      },
    ],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog', 'checkout', 'payments', 'inventory'],
      entry: { frontend: 1.5, checkout: 1 },
    });
    svc(w, 'inventory').dbBehave = ({ t }) =>
      t >= sim.t(DB_DOWN_AT) && sim.noise.chance(0.8)
        ? {
            fail: {
              errorType: '*pgconn.PgError',
              message:
                'FATAL: remaining connection slots are reserved for roles with the SUPERUSER attribute (SQLSTATE 53300)',
            },
            extraMs: sim.noise.int(5, 40),
          }
        : undefined;
    for (const p of dep(w, 'inventory').livePods().slice(0, 2)) {
      sim.failReadiness(p, {
        from: sim.t(DB_DOWN_AT) + sim.noise.int(5, 25) * SEC,
        until: sim.end + MIN,
        message: () => 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      });
    }
    go(w);
  },
});
