// A marketing e-mail lands: frontend's traffic roughly doubles over two minutes and stays there. No
// HPA manages frontend (its team scales it by hand), all 3 replicas are up and ready, CPU is pinned:
// p99 latency climbs and a share of requests are shed with 503s. No rollout, no crash, no dependency
// at fault. The reversible mitigation is more replicas: a scale proposal is expected here, so an
// executor that never proposes fails this scenario's proposal score.
import { MIN } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc } from './world.ts';

const RAMP_FROM = 7 * MIN;
const RAMP_MS = 2 * MIN;
const BASE_RATE = 10;
const PEAK_RATE = 22;
/** Sampled requests per 10 s one frontend pod handles at 100 % CPU. */
const POD_CAPACITY = 5.2;

export const saturation = defineScenario({
  name: 'saturation',
  description: 'traffic doubles on frontend (no HPA, all replicas up): p99 and 503s climb, scale-up expected',
  durationMs: 20 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'frontend' },
        role: 'primary',
        severity: ['SEV1', 'SEV2'],
        team: 'web',
        cause: 'capacity',
        alsoAcceptable: [],
        proposal: {
          action: 'scale',
          target: { namespace: 'shop', kind: 'Deployment', name: 'frontend' },
          fromReplicas: 3,
          toReplicas: { min: 4, max: 8 },
          required: true,
        },
        why:
          'Every replica is up and saturated, no HPA manages the Deployment and nothing else changed: ' +
          'more replicas share the load, and scaling back is the rollback. Proposing nothing leaves users ' +
          'with 503s until someone scales by hand.',
      },
    ],
    tolerated: [],
  },
  build(sim) {
    const rate = (t: number) =>
      BASE_RATE + (PEAK_RATE - BASE_RATE) * Math.max(0, Math.min(1, (t - sim.t(RAMP_FROM)) / RAMP_MS));
    const w = shopWorld(sim, { apps: ['frontend', 'catalog'], entry: { frontend: rate } });
    const frontend = dep(w, 'frontend');
    const utilisation = (t: number) => rate(t) / (Math.max(1, frontend.available()) * POD_CAPACITY);
    svc(w, 'frontend').behave = ({ t }) => {
      const u = utilisation(t);
      if (u <= 0.8) return undefined;
      const factor = 1 + ((u - 0.8) * 5) ** 2;
      if (u > 1 && sim.noise.chance(Math.min(0.25, (u - 1) * 0.6))) {
        return {
          factor,
          fail: {
            status: 503,
            errorType: 'ServiceUnavailable',
            log: `shedding load: event loop lag ${Math.round(200 + 600 * (u - 1))}ms above 200ms limit`,
          },
        };
      }
      return { factor };
    };
    // CPU at the limit on every pod while saturated (kubelet_stats reads cpuUsage).
    sim.every(0, 10_000, (now) => {
      const u = Math.min(1, utilisation(now));
      for (const p of frontend.livePods()) p.app.cpuUsage = p.app.spec.cpuRequest * Math.max(0.3, u * 1.6);
    });
    go(w);
  },
});
