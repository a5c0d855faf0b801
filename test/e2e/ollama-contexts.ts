// Real incident contexts for the Ollama e2e tests: the latest context of each incident the in-process
// pipeline raises from a scenario of the library (src/sim/scenarios), the same way `kubetriage eval`
// gets them (runScenario with the snapshot resolver; a rules-only chain, so no model call here).
import { TriageChain } from '../../src/agents/chain.ts';
import { snapshotResolver } from '../../src/cli/snapshot-resolver.ts';
import { validateConfig } from '../../src/core/config.ts';
import { runScenario } from '../../src/eval/scenario-run.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';

/** The latest context of every incident a scenario raises (seed 1), in first-seen order. */
export async function scenarioContexts(name: string): Promise<IncidentContextDoc[]> {
  const config = validateConfig({});
  const out = await runScenario(getScenario(name), {
    config,
    chain: new TriageChain({ config: config.agents }),
    resolver: snapshotResolver,
  });
  return out.latest;
}

/** The latest context of one workload's incident in a scenario. */
export async function scenarioContext(name: string, workload: string): Promise<IncidentContextDoc> {
  const docs = await scenarioContexts(name);
  const d = docs.find((x) => x.scope.workload.name === workload);
  if (!d)
    throw new Error(
      `scenario ${name} raised no incident for ${workload}: ${docs.map((x) => x.scope.workload.name).join(', ')}`,
    );
  return d;
}
