// payments, no rollout: one of its two pods takes the nightly settlement batch, its heap outgrows the
// 1 GiB limit and it is OOMKilled, again after every restart (CrashLoopBackOff). The Collector runs
// k8s_cluster with its defaults, and this cluster reports no container restarts: no
// k8s.container.status.reason, no last_terminated_reason attribute, no k8s.container.restarts. No
// Event says OOM either. Only the pod status says why (lastState.terminated OOMKilled, exit code 137);
// the kubelet's BackOff Warnings and the failing payments calls say only that it keeps dying.
import type { PodModel } from '../cluster.ts';
import { MIN, SEC } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc } from './world.ts';

const BATCH_AT = 4 * MIN;
/** Time from container start to OOMKill: the batch refills the heap faster after each restart. */
const FIRST_RUN = 3 * MIN;

export const oomStatusOnly = defineScenario({
  name: 'oom-status-only',
  description:
    'payments pod OOMKilled by a batch, no rollout; default k8s_cluster config: only pod status says OOMKilled',
  durationMs: 20 * MIN,
  containerMetrics: { statusReason: false, lastTerminatedReason: false, restarts: false },
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'payments' },
        role: 'primary',
        // Production payments with one of two pods crash-looping and checkout's payment calls failing.
        severity: ['SEV2', 'SEV3'],
        team: 'payments',
        cause: 'oom',
        alsoAcceptable: [],
        proposal: null,
        why:
          'lastState.terminated of the crashing container says OOMKilled, exit code 137; nothing else does. ' +
          'crash_loop names the symptom, not the cause. More replicas would only OOM too: raise the limit.',
      },
    ],
    tolerated: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'checkout' },
        why: "impact: checkout's calls to payments fail while the payments pod is down",
      },
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'frontend' },
        why: 'impact: checkouts fail for users while payments is short of a pod',
      },
    ],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog', 'checkout', 'payments'],
      entry: { frontend: 2, checkout: 1 },
    });
    const payments = dep(w, 'payments');
    let heavy: PodModel | undefined;
    let run = FIRST_RUN;

    svc(w, 'payments').behave = ({ pod }) => {
      const c = pod.app;
      if (pod !== heavy || c.state.kind !== 'running' || c.memWorkingSet === undefined) return undefined;
      const full = c.memWorkingSet / c.spec.memLimit;
      if (full > 0.97 && sim.noise.chance(0.5)) return { reset: true };
      if (full > 0.85) return { factor: 1 + (full - 0.85) * 20 };
      return undefined;
    };

    sim.at(BATCH_AT, () => {
      heavy = payments.livePods().find((p) => p.phase === 'Running');
      if (!heavy) return;
      sim.crashLoop(heavy, {
        reason: 'OOMKilled',
        exitCode: 137,
        firstAt: sim.now + FIRST_RUN + sim.noise.int(-15, 30) * SEC,
        uptime: (n) => {
          run = (2 - Math.min(1, n * 0.2)) * MIN + sim.noise.int(-10, 10) * SEC;
          return run;
        },
      });
    });

    // The heap climbs from half the limit to the limit over each run of the container.
    sim.every(BATCH_AT, 10 * SEC, (now) => {
      const c = heavy?.app;
      if (!c || heavy?.deleted || c.state.kind !== 'running') return;
      const frac = Math.min(0.995, 0.5 + (0.5 * (now - Math.max(c.state.startedAt, sim.t(BATCH_AT)))) / run);
      c.memWorkingSet = Math.round(c.spec.memLimit * frac);
    });

    go(w);
  },
});
