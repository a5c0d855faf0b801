// No rollout, no config change: search's request latency climbs from ~40 ms to over a second within
// three minutes (its JVM is stuck in long GC pauses as the heap fills under a growing index cache).
// Readiness probes (timeoutSeconds 1) start timing out on three of the four pods, which flap out of
// the Service's endpoints: Unhealthy "Readiness probe failed: … context deadline exceeded", ready 0,
// k8s.deployment.available 4 → 1–2. frontend's /search slows with it (impact, not cause).
import { MIN, SEC } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc } from './world.ts';

const SLOW_FROM = 7 * MIN;

export const probeLatency = defineScenario({
  name: 'probe-latency',
  description: 'search slows from 40 ms to >1 s with no rollout; readiness probes time out and pods flap',
  durationMs: 20 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'search' },
        role: 'primary',
        severity: ['SEV2', 'SEV3'],
        team: 'discovery',
        cause: 'probe_failure',
        alsoAcceptable: ['capacity'],
        proposal: {
          action: 'scale',
          target: { namespace: 'shop', kind: 'Deployment', name: 'search' },
          fromReplicas: 4,
          toReplicas: { min: 5, max: 8 },
          required: false,
        },
        why:
          'Latency rises on every search pod with no rollout; readiness probes time out and pods leave the ' +
          'endpoints, concentrating load on the rest. Adding replicas is a safe, reversible mitigation while ' +
          'the team investigates; proposing nothing is acceptable too.',
      },
    ],
    tolerated: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'frontend' },
        why: 'impact: frontend /search latency includes the slow search calls',
      },
    ],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog', 'search', 'cart'],
      entry: { frontend: 2, search: 1.2 },
    });
    const slow = (t: number) => Math.max(0, Math.min(1, (t - sim.t(SLOW_FROM)) / (3 * MIN)));
    svc(w, 'search').behave = ({ t }) => {
      const s = slow(t);
      return s > 0 ? { factor: 1 + 28 * s * sim.noise.float(0.8, 1.1) } : undefined;
    };
    const pods = dep(w, 'search').livePods();
    pods.slice(0, 3).forEach((p, i) => {
      // Each pod fails its probe for ~1.5 min, recovers briefly, and fails again.
      let from = sim.t(SLOW_FROM + 100 * SEC + i * 35 * SEC);
      while (from < sim.end) {
        const until = from + sim.noise.int(80, 110) * SEC;
        sim.failReadiness(p, {
          from,
          until,
          message: () =>
            `Readiness probe failed: Get "http://${p.ip}:8080/actuator/health/readiness": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
        });
        from = until + sim.noise.int(25, 45) * SEC;
      }
    });
    go(w);
  },
});
