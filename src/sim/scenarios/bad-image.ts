// catalog 2.13.4 → 2.14.0, but the 2.14.0 tag was never pushed. The deployment controller surges new
// pods that never start: kubelet Failed "Failed to pull image …: not found", "Error: ErrImagePull",
// then BackOff "Back-off pulling image …" / "Error: ImagePullBackOff" cycles, and
// k8s.container.status.reason ErrImagePull/ImagePullBackOff on the new ReplicaSet's pods only. The
// rollout stalls with 3 of 4 old pods serving (maxUnavailable 25 %), so users see nothing.
// Unrelated and minor: one recommendations container exits once with an error (exit code 1,
// restarts 0 → 1, last_terminated_reason=Error) and comes straight back. A real cluster has these;
// one restart is below the restart floor (floors.restarts): raising it would be a false positive.
import { MIN } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, withTag } from './world.ts';

export const badImage = defineScenario({
  name: 'bad-image',
  description:
    'catalog rollout to a tag that does not exist: ErrImagePull / ImagePullBackOff on the new pods',
  durationMs: 18 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'catalog' },
        role: 'primary',
        severity: ['SEV3', 'SEV4'],
        team: 'catalog',
        cause: 'image_pull',
        alsoAcceptable: ['bad_rollout'],
        proposal: null,
        why:
          'Image …/catalog:2.14.0 does not exist; only the new ReplicaSet is affected and the rollout is stuck ' +
          'with 3 of 4 previous pods serving and no errors. Fix the tag or roll back; no scale helps.',
      },
    ],
    tolerated: [],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog', 'recommendations', 'cart'],
      replicas: { catalog: 4 },
    });
    const catalog = dep(w, 'catalog');
    sim.at(5 * MIN, () => {
      sim.rollout(catalog, {
        template: withTag('2.14.0'),
        changeCause: 'deploy catalog 2.14.0 (pipeline #8830)',
        launch: (p) =>
          sim.failImagePull(
            p,
            (image) =>
              `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
          ),
      });
    });
    // The unrelated blip: a single Error exit, restarted at once (no back-off, no Warning event).
    sim.at(9 * MIN + 17_000, () => {
      const rec = dep(w, 'recommendations');
      const p = rec.current.livePods()[0];
      if (!p) return;
      const c = p.app;
      sim.loseUnexported(p, sim.now);
      sim.cluster.terminate(p, c, 'Error', 1, sim.now, 'running');
      const ref = sim.podRef(p, c.spec.name);
      for (const [reason, message] of [
        ['Pulled', `Container image "${c.spec.image}" already present on machine`],
        ['Created', `Created container: ${c.spec.name}`],
        ['Started', `Started container ${c.spec.name}`],
      ] as const) {
        sim.event({ object: ref, reason, message, type: 'Normal', component: 'kubelet', host: p.node });
      }
      sim.after(9000, () => sim.cluster.setReady(p, c, true, sim.now));
    });
    go(w);
  },
});
