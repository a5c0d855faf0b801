// The scenario library: realistic telemetry for named incidents, with the cluster snapshot and the
// ground truth to score against. Used by `kubetriage simulate`, and by `demo` / `eval`.
//
//   import { getScenario, listScenarios } from './sim/scenarios/index.ts';
//   const run = getScenario('oom-rollout').generate({ seed: 7 });
//   run.records   // CapturedRecord[] in consumption order (replay() accepts them as a capture)
//   run.snapshot  // v1/List, as `kubectl get pods,replicasets,deployments,… -A -o json` prints it
//   run.truth     // incidents that must be raised, tolerated ones, severity/cause/proposal truth
import { KubetriageError } from '../../core/errors.ts';
import { badImage } from './bad-image.ts';
import { canary } from './canary.ts';
import { capacity } from './capacity.ts';
import { cascade, cascadeBadCaller, cascadeRollout } from './cascade.ts';
import { dependencyFailure } from './dependency-failure.ts';
import { missingConfig } from './missing-config.ts';
import { nodePressure } from './node-pressure.ts';
import { noiseOnly } from './noise-only.ts';
import { oomRollout } from './oom-rollout.ts';
import { oomStatusOnly } from './oom-status-only.ts';
import { probeLatency } from './probe-latency.ts';
import { quietLarge, quietMedium, quietSmall } from './quiet.ts';
import { saturation } from './saturation.ts';
import type { Scenario } from './types.ts';
import { unschedulable } from './unschedulable.ts';

export { DEFAULT_START } from './define.ts';
export type {
  Cause,
  ExpectedIncident,
  ExpectedProposal,
  IncidentKey,
  Scenario,
  ScenarioFamily,
  ScenarioOptions,
  ScenarioRun,
  ScenarioTruth,
  Severity,
  ToleratedIncident,
} from './types.ts';
export { CAUSES, CLUSTER, PRODUCTION_NAMESPACES } from './types.ts';

const SCENARIOS: readonly Scenario[] = [
  oomRollout,
  badImage,
  missingConfig,
  probeLatency,
  dependencyFailure,
  nodePressure,
  unschedulable,
  capacity,
  noiseOnly,
  canary,
  saturation,
  quietSmall,
  quietMedium,
  quietLarge,
  cascade,
  cascadeRollout,
  cascadeBadCaller,
  oomStatusOnly,
];

/** Every scenario, in a fixed order (a fresh array each call). */
export function listScenarios(): Scenario[] {
  return [...SCENARIOS];
}

export function scenarioNames(): string[] {
  return SCENARIOS.map((s) => s.name);
}

/** The scenario by name; an unknown name is a CONFIG_INVALID error that lists the valid ones. */
export function getScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) {
    throw new KubetriageError(
      'CONFIG_INVALID',
      `unknown scenario "${name}"; valid scenarios: ${scenarioNames().join(', ')}`,
    );
  }
  return s;
}
