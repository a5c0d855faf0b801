// A three-tier cascade: frontend → checkout → inventory. A stock-sync job writes a row with a NULL
// SKU into inventory's stock table; inventory's cache reload dereferences it, so reservations that
// touch the cache fail (server spans ERROR, 500 with an exception event) and every inventory pod
// panics within a minute of starting: exit code 2, restarts, BackOff "Back-off restarting failed
// container", CrashLoopBackOff, available replicas dropping. checkout's client spans to inventory fail
// (500, or connection refused while no pod is ready) and it answers 502; frontend's client spans to
// checkout fail with 502 and it answers 502 too. The backend is inventory; both callers are victims.
//
// Variants:
//   cascade                  no rollout anywhere;
//   cascade-rollout          a harmless checkout rollout (1.8.2 → 1.8.3, a log-format change) four
//                            minutes before inventory breaks: a red herring for checkout;
//   cascade-bad-caller       checkout 1.9.1 fails a quarter of its own orders right after it rolls
//                            out (NullPointerException), and inventory breaks independently five
//                            minutes later: checkout was failing first, so its rollout is the cause.
import type { PodModel } from '../cluster.ts';
import { MIN, SEC } from '../engine.ts';
import type { Outcome } from '../traffic.ts';
import { defineScenario } from './define.ts';
import type { ExpectedIncident, Scenario } from './types.ts';
import { CLUSTER } from './types.ts';
import { dep, go, shopWorld, svc, withTag } from './world.ts';

const ROLLOUT_AT = 4 * MIN;
const BACKEND_FAILS_AT = 8 * MIN;
const BAD_CALLER_BACKEND_AT = 9 * MIN;

type Variant = 'none' | 'harmless' | 'bad';

const NIL_SKU: Outcome = {
  fail: {
    status: 500,
    errorType: 'runtime.Error',
    exception: {
      type: 'runtime.Error',
      message: 'runtime error: invalid memory address or nil pointer dereference',
      stacktrace:
        'goroutine 118 [running]:\ngithub.com/example/inventory/internal/stock.(*Cache).Reserve(0xc0001a2000, {0xc000312f40, 0x8})\n' +
        '\t/src/internal/stock/cache.go:142 +0x1d4',
    },
  },
};

const BAD_CALLER: Outcome = {
  fail: {
    status: 500,
    errorType: 'java.lang.NullPointerException',
    exception: {
      type: 'java.lang.NullPointerException',
      message: 'Cannot invoke "com.example.checkout.summary.OrderSummary.lines()" because "summary" is null',
      stacktrace:
        'java.lang.NullPointerException: Cannot invoke "com.example.checkout.summary.OrderSummary.lines()" because "summary" is null\n' +
        '\tat com.example.checkout.web.CheckoutController.placeOrder(CheckoutController.java:74)',
    },
  },
};

function backend(why: string): ExpectedIncident {
  return {
    cluster: CLUSTER,
    namespace: 'shop',
    workload: { kind: 'Deployment', name: 'inventory' },
    role: 'primary',
    severity: ['SEV1', 'SEV2'],
    team: 'fulfilment',
    cause: 'crash_loop',
    alsoAcceptable: [],
    proposal: null,
    why,
  };
}

function caller(
  name: 'checkout' | 'frontend',
  team: string,
  cause: ExpectedIncident['cause'],
  why: string,
): ExpectedIncident {
  return {
    cluster: CLUSTER,
    namespace: 'shop',
    workload: { kind: 'Deployment', name },
    role: 'primary',
    severity: ['SEV1', 'SEV2'],
    team,
    cause,
    alsoAcceptable: [],
    proposal: null,
    why,
  };
}

const BACKEND_WHY =
  'Every inventory pod panics on a NULL SKU row within a minute of starting (exit code 2, CrashLoopBackOff); ' +
  'no rollout of inventory, no OOM, no probe misconfiguration. More replicas would crash the same way.';
const CHECKOUT_VICTIM =
  "checkout's failures are its calls to inventory (500 / connection refused), which has its own incident; " +
  'checkout answers 502 because of them. Scaling or rolling back checkout would not help.';
const FRONTEND_VICTIM =
  "frontend's failures are POST /checkout calls answered 502 by checkout, which has its own incident.";

function cascadeScenario(name: string, variant: Variant, description: string): Scenario {
  const backendAt = variant === 'bad' ? BAD_CALLER_BACKEND_AT : BACKEND_FAILS_AT;
  return defineScenario({
    name,
    description,
    durationMs: 16 * MIN,
    truth: {
      incidents: [
        backend(BACKEND_WHY),
        variant === 'bad'
          ? caller(
              'checkout',
              'checkout',
              'bad_rollout',
              'checkout 1.9.1 fails a quarter of its orders with a NullPointerException on its new pods from ' +
                'right after its rollout, five minutes before inventory breaks: its own rollout is the cause, ' +
                'and a rollback (kubectl rollout undo) the fix, which the scale-only executor cannot do.',
            )
          : caller(
              'checkout',
              'checkout',
              'dependency_failure',
              variant === 'harmless'
                ? `${CHECKOUT_VICTIM} Its 1.8.3 rollout four minutes earlier is a red herring: no error before inventory failed.`
                : CHECKOUT_VICTIM,
            ),
        caller('frontend', 'web', 'dependency_failure', FRONTEND_VICTIM),
      ],
      tolerated: [],
    },
    build(sim) {
      const w = shopWorld(sim, {
        apps: ['frontend', 'catalog', 'checkout', 'payments', 'inventory'],
        entry: { frontend: 2, checkout: 0.8 },
        entryMix: {
          frontend: [
            ['home', 0.35],
            ['product', 0.3],
            ['checkout', 0.35],
          ],
        },
      });
      const inventory = dep(w, 'inventory');
      const crashing = new Set<string>();
      svc(w, 'inventory').behave = ({ pod }) =>
        crashing.has(pod.uid) && sim.noise.chance(0.6) ? NIL_SKU : undefined;
      if (variant === 'bad') {
        svc(w, 'checkout').behave = ({ pod }) =>
          pod.app.image().tag === '1.9.1' && sim.noise.chance(0.25) ? BAD_CALLER : undefined;
      }

      if (variant !== 'none') {
        sim.at(ROLLOUT_AT, () => {
          sim.rollout(dep(w, 'checkout'), {
            template: withTag(variant === 'bad' ? '1.9.1' : '1.8.3'),
            changeCause:
              variant === 'bad'
                ? 'deploy checkout 1.9.1 (pipeline #8861): order summary in the confirmation response'
                : 'deploy checkout 1.8.3 (pipeline #8840): structured access log format',
          });
        });
      }

      const crashLoopOnNilSku = (p: PodModel) => {
        crashing.add(p.uid);
        sim.crashLoop(p, {
          reason: 'Error',
          exitCode: 2,
          firstAt: sim.now + sim.noise.int(5, 40) * SEC,
          uptime: () => sim.noise.int(20, 50) * SEC,
        });
      };
      sim.at(backendAt, () => {
        for (const p of inventory.livePods()) crashLoopOnNilSku(p);
      });
      go(w);
    },
  });
}

export const cascade = cascadeScenario(
  'cascade',
  'none',
  'inventory crash-loops on a bad stock row; checkout fails calling it, frontend fails calling checkout',
);

export const cascadeRollout = cascadeScenario(
  'cascade-rollout',
  'harmless',
  'as cascade, with a harmless checkout rollout four minutes before inventory breaks (a red herring)',
);

export const cascadeBadCaller = cascadeScenario(
  'cascade-bad-caller',
  'bad',
  'checkout 1.9.1 fails its own orders right after rollout; inventory crash-loops independently later',
);
