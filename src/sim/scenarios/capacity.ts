// A flash sale: frontend's traffic grows ~5× over three minutes. The HPA (min 3, max 8, target 60 %
// CPU) scales 3 → 5 → 8 (SuccessfulRescale, lone ScalingReplicaSet scale-ups: not a rollout) and then
// sits at its maximum: k8s.hpa.current_replicas == k8s.hpa.max_replicas == desired. Per-pod load keeps
// rising; p99 latency climbs and frontend starts shedding load with 503s. No rollout, no crash.
import type { HpaModel } from '../cluster.ts';
import { MIN, SEC } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc } from './world.ts';

const RAMP_FROM = 6 * MIN;
const RAMP_MS = 3 * MIN;
const BASE_RATE = 1.5;
const PEAK_RATE = 8;
/** Sampled requests per 10 s one frontend pod handles at 100 % CPU. */
const POD_CAPACITY = 0.8;
const TARGET = 0.6;

export const capacity = defineScenario({
  name: 'capacity',
  description: 'flash-sale load: frontend HPA pinned at max replicas while p99 latency and 5xx climb',
  durationMs: 18 * MIN,
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
        proposal: null,
        why:
          'Load exceeds what 8 pods serve and the HPA is at maxReplicas. Scaling the Deployment directly ' +
          'is undone by the HPA within one sync (it clamps to maxReplicas), so the right step is raising ' +
          "the HPA's maxReplicas (and node capacity): outside the deployments/scale-only executor.",
      },
    ],
    tolerated: [],
  },
  build(sim) {
    const rate = (t: number) =>
      BASE_RATE + (PEAK_RATE - BASE_RATE) * Math.max(0, Math.min(1, (t - sim.t(RAMP_FROM)) / RAMP_MS));
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog'],
      entry: { frontend: rate },
    });
    const frontend = dep(w, 'frontend');
    const hpa: HpaModel = sim.cluster.addHpa({ target: frontend, min: 3, max: 8 });
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

    // The HPA controller's 15 s sync: desired = ceil(current × utilisation / target), 10 % tolerance.
    sim.every(7 * SEC, 15 * SEC, (now) => {
      const ratio = utilisation(now) / TARGET;
      if (Math.abs(ratio - 1) <= 0.1) {
        hpa.desired = hpa.current;
        return;
      }
      const want = Math.ceil(hpa.current * ratio);
      hpa.desired = Math.max(hpa.min, Math.min(hpa.max, want));
      // Scale-down is held back by the 5-minute stabilisation window; scale-up at most doubles.
      const to = Math.min(hpa.desired, hpa.current * 2);
      if (to > hpa.current) {
        sim.event({
          object: {
            kind: 'HorizontalPodAutoscaler',
            name: hpa.name,
            namespace: hpa.namespace,
            uid: hpa.uid,
            apiVersion: 'autoscaling/v2',
            resourceVersion: String(sim.cluster.nextRv()),
          },
          reason: 'SuccessfulRescale',
          message: `New size: ${to}; reason: cpu resource utilization (percentage of request) above target`,
          type: 'Normal',
          component: 'horizontal-pod-autoscaler',
        });
        hpa.current = to;
        sim.scaleDeployment(frontend, to);
      }
    });
    go(w);
  },
});
