// A healthy afternoon: nothing may be raised. A clean rollout of cart 1.4.2 → 1.4.3 (maxUnavailable 0:
// ScalingReplicaSet up/down pairs, Scheduled/Pulling/Pulled/Created/Started, SuccessfulCreate /
// SuccessfulDelete, Killing), healthy k8s_cluster and kubelet_stats metrics, successful spans with
// some 404s at the edge (not errors on SERVER spans), INFO logs. No Warning event, no 5xx, no restart.
import { MIN } from '../engine.ts';
import { defineScenario } from './define.ts';
import { dep, go, shopWorld, withTag } from './world.ts';

export const noiseOnly = defineScenario({
  name: 'noise-only',
  description: 'a healthy cluster with a clean rollout of cart: nothing must be raised',
  durationMs: 18 * MIN,
  truth: { incidents: [], tolerated: [] },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog', 'cart', 'checkout', 'payments'],
      entry: { frontend: 2, checkout: 0.6 },
    });
    const cart = dep(w, 'cart');
    cart.maxUnavailable = '0';
    sim.at(8 * MIN, () => {
      sim.rollout(cart, { template: withTag('1.4.3'), changeCause: 'deploy cart 1.4.3 (pipeline #8857)' });
    });
    go(w);
  },
});
