import { KubetriageError } from '../../core/errors.ts';
import { Sim } from '../engine.ts';
import type { ContainerMetricsConfig } from '../k8s-metrics.ts';
import type { IncidentKey, Scenario, ScenarioOptions, ScenarioRun, ScenarioTruth } from './types.ts';

/** 2026-11-28T09:00:00Z: the default base time, so captures are byte-stable without options. */
export const DEFAULT_START = Date.UTC(2026, 10, 28, 9, 0, 0);

export function parseStart(start: number | string | undefined): number {
  if (start === undefined) return DEFAULT_START;
  if (typeof start === 'number') {
    if (!Number.isFinite(start) || start < 0)
      throw new KubetriageError('CONFIG_INVALID', `invalid start time ${start}`);
    return Math.floor(start);
  }
  const t = Date.parse(start);
  if (!Number.isFinite(t))
    throw new KubetriageError('CONFIG_INVALID', `--start "${start}" is not an ISO 8601 time`);
  return t;
}

/** A scenario from its script: `build` sets up the world and schedules everything on the Sim. */
export function defineScenario(def: {
  name: string;
  description: string;
  durationMs: number;
  truth: ScenarioTruth;
  /** Background noise on by default (the quiet family); ScenarioOptions.noise overrides. Default false. */
  noise?: boolean;
  build: (sim: Sim) => void;
  /** k8s_cluster's container metrics, when the scenario models another Collector config. */
  containerMetrics?: ContainerMetricsConfig;
}): Scenario {
  const noiseByDefault = def.noise ?? false;
  // The background leaves alone what the truth is about: a routine rollout of the failing workload
  // would change the scenario's answer, not add noise to it.
  const exclude = new Set([...def.truth.incidents, ...def.truth.tolerated].map(backgroundKey));
  const generate = (opts: ScenarioOptions = {}): ScenarioRun => {
    const start = parseStart(opts.start);
    const sim = new Sim({
      scenario: def.name,
      seed: opts.seed ?? 1,
      start,
      durationMs: def.durationMs,
      collector: opts.collector,
      background: (opts.noise ?? noiseByDefault) ? { exclude } : undefined,
      ...(def.containerMetrics ? { containerMetrics: def.containerMetrics } : {}),
    });
    def.build(sim);
    sim.run();
    return {
      name: def.name,
      records: sim.records(),
      snapshot: sim.snapshot(),
      truth: def.truth,
      start,
      end: sim.end,
    };
  };
  return {
    name: def.name,
    description: def.description,
    durationMs: def.durationMs,
    truth: def.truth,
    family: def.truth.incidents.length === 0 ? 'quiet' : 'failure',
    noise: noiseByDefault,
    generate,
    records: (opts) => generate(opts).records,
    snapshot: (opts) => generate(opts).snapshot,
  };
}

/** "namespace/Kind/name", the key BackgroundSpec.exclude is written in. */
export function backgroundKey(
  k: IncidentKey | { namespace: string; workload: { kind: string; name: string } },
): string {
  return `${k.namespace}/${k.workload.kind}/${k.workload.name}`;
}
