// checkout 1.8.2 → 1.9.0. The rollout completes cleanly; the new version leaks memory under load and
// every new pod is OOMKilled a few minutes after it starts, then again after each restart
// (CrashLoopBackOff). Revision 1.8.2 ran for days without a restart.
// Telemetry: ScalingReplicaSet up/down pairs, kubelet Pulling/Pulled/Created/Started for new pods;
// container.memory.working_set climbing to the 1 GiB limit; k8s.container.restarts rising with
// last_terminated_reason=OOMKilled; k8s.container.status.reason CrashLoopBackOff while backing off;
// BackOff "Back-off restarting failed container checkout …" Warnings; k8s.deployment.available
// dropping; checkout spans slowing as the heap fills and frontend's calls reset when a pod dies.
import type { PodModel } from '../cluster.ts';
import { MIN, SEC } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc, withTag } from './world.ts';

const ROLLOUT_AT = 5 * MIN;
/** Time from container start to OOMKill: the first run is longest (cold caches, slow leak). */
const FIRST_RUN = 4.5 * MIN;

export const oomRollout = defineScenario({
  name: 'oom-rollout',
  description: 'checkout rollout 1.8.2 → 1.9.0; the new pods are OOMKilled minutes later and crash-loop',
  durationMs: 20 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'checkout' },
        role: 'primary',
        severity: ['SEV1', 'SEV2'],
        team: 'checkout',
        cause: 'bad_rollout',
        alsoAcceptable: ['oom'],
        proposal: null,
        why:
          'Only pods of the new ReplicaSet (1.9.0) are OOMKilled, starting ~4.5 min after the rollout; the ' +
          'previous revision ran for days without a restart. The fix is a rollback (kubectl rollout undo), ' +
          'which the scale-only executor cannot do; scaling checkout would only add more OOMing pods.',
      },
    ],
    tolerated: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'frontend' },
        why: "impact: frontend's calls to checkout reset when a checkout pod is killed (client span errors)",
      },
    ],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog', 'checkout', 'payments'],
      entry: { frontend: 2, checkout: 1 },
    });
    const checkout = dep(w, 'checkout');
    const newPods: PodModel[] = [];
    const leak = new Map<string, number>();

    svc(w, 'checkout').behave = ({ pod }) => {
      const c = pod.app;
      if (c.state.kind !== 'running' || c.memWorkingSet === undefined) return undefined;
      const full = c.memWorkingSet / c.spec.memLimit;
      if (full > 0.97 && sim.noise.chance(0.5)) return { reset: true };
      if (full > 0.85) return { factor: 1 + (full - 0.85) * 20 };
      return undefined;
    };

    sim.at(ROLLOUT_AT, () => {
      sim.rollout(checkout, {
        template: withTag('1.9.0'),
        changeCause: 'deploy checkout 1.9.0 (pipeline #8812): enable order-summary cache',
        launch: (p) => {
          newPods.push(p);
          sim.startPod(p, { pull: true });
          const firstCrash = sim.now + FIRST_RUN + sim.noise.int(-20, 40) * SEC;
          leak.set(p.uid, FIRST_RUN);
          sim.crashLoop(p, {
            reason: 'OOMKilled',
            exitCode: 137,
            firstAt: firstCrash,
            uptime: (n) => {
              const run = (2.5 - Math.min(1, n * 0.2)) * MIN + sim.noise.int(-15, 15) * SEC;
              leak.set(p.uid, run);
              return run;
            },
          });
        },
      });
    });

    // The leak: working set climbs from half the limit to the limit over each run of the container.
    sim.every(ROLLOUT_AT, 10 * SEC, (now) => {
      for (const p of newPods) {
        const c = p.app;
        if (p.deleted || c.state.kind !== 'running') continue;
        const run = leak.get(p.uid) ?? FIRST_RUN;
        const frac = Math.min(0.995, 0.5 + (0.5 * (now - c.state.startedAt)) / run);
        c.memWorkingSet = Math.round(c.spec.memLimit * frac);
      }
    });

    go(w);
  },
});
