// payments 4.1.0 → 4.2.0 moves its PSP settings into a ConfigMap `payments-config-v2` via envFrom,
// but the ConfigMap was never applied. The new pod cannot start: on every sync the kubelet reports
// Pulled "already present" and Warning Failed "Error: configmap \"payments-config-v2\" not found";
// k8s.container.status.reason = CreateContainerConfigError. maxUnavailable rounds to 0, so the two
// old pods keep serving and nothing user-facing breaks; the rollout just never progresses.
import { MIN } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, withTag } from './world.ts';

const CONFIGMAP = 'payments-config-v2';

export const missingConfig = defineScenario({
  name: 'missing-config',
  description: 'payments rollout references a ConfigMap that does not exist: CreateContainerConfigError',
  durationMs: 18 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'payments' },
        role: 'primary',
        severity: ['SEV3', 'SEV4'],
        team: 'payments',
        cause: 'config_error',
        alsoAcceptable: ['bad_rollout'],
        proposal: null,
        why:
          `The new revision's envFrom names ConfigMap ${CONFIGMAP}, which does not exist; the new pod never ` +
          'starts, the previous pods keep serving. Apply the ConfigMap or roll back; no scale helps.',
      },
    ],
    tolerated: [],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'cart', 'checkout', 'payments'],
      entry: { frontend: 2, checkout: 0.6 },
    });
    sim.at(6 * MIN, () => {
      sim.rollout(dep(w, 'payments'), {
        template: withTag('4.2.0', (c) => ({ ...c, configMaps: [...(c.configMaps ?? []), CONFIGMAP] })),
        changeCause: 'deploy payments 4.2.0 (pipeline #8841): PSP settings from ConfigMap',
        launch: (p) => sim.failContainerConfig(p, `configmap "${CONFIGMAP}" not found`),
      });
    });
    go(w);
  },
});
