// Someone runs `kubectl scale deployment recommendations --replicas=6` ahead of a campaign. Each pod
// requests 1.5 CPU; one new pod fits, three stay Pending: default-scheduler FailedScheduling
// "0/3 nodes are available: 3 Insufficient cpu. …" (re-emitted, count growing) and the
// cluster-autoscaler's NotTriggerScaleUp (node group at its max). A lone ScalingReplicaSet scale-up
// with no paired scale-down: not a rollout. k8s.deployment.available 3 of 6.
import { MIN } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld } from './world.ts';

const SCALE_AT = 6 * MIN;

export const unschedulable = defineScenario({
  name: 'unschedulable',
  description: 'recommendations scaled 2 → 6; three pods stay Pending: 0/3 nodes available, Insufficient cpu',
  durationMs: 18 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'recommendations' },
        role: 'primary',
        severity: ['SEV3', 'SEV4'],
        team: 'discovery',
        cause: 'scheduling',
        alsoAcceptable: ['capacity'],
        proposal: {
          action: 'scale',
          target: { namespace: 'shop', kind: 'Deployment', name: 'recommendations' },
          fromReplicas: 6,
          toReplicas: { min: 2, max: 3 },
          required: false,
        },
        why:
          'A manual scale-up asked for more CPU than the nodes have and the node group is at its maximum. ' +
          'Scaling back to what fits (3 running) is safe and reversible; adding node capacity instead is ' +
          'equally right, so no proposal is acceptable too.',
      },
    ],
    tolerated: [],
  },
  build(sim) {
    const w = shopWorld(sim, { apps: ['frontend', 'catalog', 'recommendations', 'cart'] });
    const rec = dep(w, 'recommendations');
    let fits = 1;
    sim.at(SCALE_AT, () => {
      sim.scaleDeployment(rec, 6, (p) => {
        if (fits-- > 0) {
          sim.startPod(p);
          return;
        }
        const msg =
          '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
        p.unschedulable = { message: msg, at: sim.now };
        const failed = () => {
          if (p.deleted || p.node) return;
          sim.event({
            object: sim.podRef(p),
            reason: 'FailedScheduling',
            message: msg,
            type: 'Warning',
            component: 'default-scheduler',
          });
          sim.after(sim.noise.int(60_000, 150_000), failed);
        };
        const noScaleUp = () => {
          if (p.deleted || p.node) return;
          sim.event({
            object: sim.podRef(p),
            reason: 'NotTriggerScaleUp',
            message: "pod didn't trigger scale-up: 1 max node group size reached",
            type: 'Normal',
            component: 'cluster-autoscaler',
          });
          sim.after(sim.noise.int(60_000, 90_000), noScaleUp);
        };
        failed();
        sim.after(sim.noise.int(8000, 15_000), noScaleUp);
      });
    });
    go(w);
  },
});
