// checkout runs a stable Deployment (1.8.2, 6 replicas, track=stable) and a canary Deployment
// checkout-canary (1.9.0-rc.2, track=canary) behind the same Service. The canary throws a
// NullPointerException on orders with a promo code (~30 % of its requests answer 500) from the start;
// at +4 min a progressive-delivery step scales it 2 → 10, so half of all orders hit it. The stable
// version is fine. The safe, reversible step: scale the canary down (10 → 2 or 0).
import { MIN } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc } from './world.ts';

export const canary = defineScenario({
  name: 'canary',
  description: 'checkout-canary scaled 2 → 10 while ~30 % of its requests fail; stable checkout is healthy',
  durationMs: 16 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'checkout-canary' },
        role: 'primary',
        severity: ['SEV2', 'SEV3'],
        team: 'checkout',
        cause: 'bad_rollout',
        alsoAcceptable: [],
        proposal: {
          action: 'scale',
          target: { namespace: 'shop', kind: 'Deployment', name: 'checkout-canary' },
          fromReplicas: 10,
          toReplicas: { min: 0, max: 2 },
          required: true,
        },
        why:
          'Only the canary (1.9.0-rc.2) fails; the stable Deployment serving the same Service is clean. ' +
          'Scaling the canary down takes it out of most traffic and is reverted by scaling it back up.',
      },
    ],
    tolerated: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'frontend' },
        why: 'impact: frontend POST /checkout fails when its call lands on a canary pod',
      },
    ],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'checkout', 'payments'],
      replicas: { checkout: 6 },
      entry: { frontend: 2, checkout: 1.2 },
      variants: [
        { name: 'checkout-canary', app: 'checkout', track: 'canary', replicas: 2, version: '1.9.0-rc.2' },
      ],
    });
    svc(w, 'checkout').behave = ({ pod }) =>
      pod.workload.name === 'checkout-canary' && sim.noise.chance(0.3)
        ? {
            fail: {
              status: 500,
              errorType: 'java.lang.NullPointerException',
              exception: {
                type: 'java.lang.NullPointerException',
                message:
                  'Cannot invoke "com.example.checkout.promo.PromoCode.discount()" because "promo" is null',
                stacktrace:
                  'java.lang.NullPointerException: Cannot invoke "com.example.checkout.promo.PromoCode.discount()" because "promo" is null\n' +
                  '\tat com.example.checkout.pricing.OrderPricer.total(OrderPricer.java:88)\n' +
                  '\tat com.example.checkout.web.CheckoutController.placeOrder(CheckoutController.java:61)',
              },
            },
          }
        : undefined;
    sim.at(4 * MIN, () =>
      sim.scaleDeployment(dep(w, 'checkout-canary'), 10, (p) => sim.startPod(p, { pull: true })),
    );
    go(w);
  },
});
