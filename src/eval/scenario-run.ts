// A scenario through the whole in-process pipeline: its records replayed (record timestamps are the
// clock), then the triage chain on each incident's latest context. Shared by `demo` and `eval`.
import type { TriageChain, TriageReport } from '../agents/index.ts';
import type { Config } from '../core/config.ts';
import type { Scenario, ScenarioRun } from '../sim/scenarios/index.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import { replay } from '../stream/replay.ts';
import type { WorkloadResolver } from '../stream/workload.ts';

export interface ScenarioOutcome {
  run: ScenarioRun;
  /** Every context emitted, in order. */
  contexts: IncidentContextDoc[];
  /** The latest context of each incident, in first-seen order. */
  latest: IncidentContextDoc[];
  reports: Map<string, TriageReport>;
  deadLetters: number;
  replayMs: number;
  triageMs: number;
}

export async function runScenario(
  scenario: Scenario,
  opts: {
    config: Config;
    chain: TriageChain;
    /** Builds the resolver from the scenario's snapshot (the enrichment stage), or a fallback. */
    resolver: (snapshot: ScenarioRun['snapshot']) => WorkloadResolver;
    seed?: number;
    /** The healthy cluster's background layer; undefined: the scenario's own default. */
    noise?: boolean;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<ScenarioOutcome> {
  const run = scenario.generate({ seed: opts.seed ?? 1, noise: opts.noise });
  const contexts: IncidentContextDoc[] = [];
  const latest = new Map<string, IncidentContextDoc>();
  const t0 = performance.now();
  const total = run.records.length;
  async function* withProgress() {
    for (let i = 0; i < total; i++) {
      if (opts.onProgress && i % 200 === 0) opts.onProgress(i, total);
      yield run.records[i]!;
    }
    opts.onProgress?.(total, total);
  }
  const res = await replay({
    input: withProgress(),
    config: opts.config,
    resolver: opts.resolver(run.snapshot),
    onContext: (doc) => {
      contexts.push(doc);
      latest.set(doc.id, doc);
    },
  });
  const replayMs = performance.now() - t0;
  const t1 = performance.now();
  const reports = new Map<string, TriageReport>();
  for (const doc of latest.values()) reports.set(doc.id, await opts.chain.triage(doc));
  return {
    run,
    contexts,
    latest: [...latest.values()],
    reports,
    deadLetters: res.deadLetters.length,
    replayMs,
    triageMs: performance.now() - t1,
  };
}
