// The incident page's test world: a bundled scenario through the in-process pipeline (as `demo` runs
// it) into an IncidentStore, served by the same routes as `run`.
import Fastify, { type FastifyInstance } from 'fastify';
import { TriageChain } from '../../src/agents/index.ts';
import { scenarioConfig } from '../../src/cli/scenario-config.ts';
import { snapshotResolver } from '../../src/cli/snapshot-resolver.ts';
import { pageSchema } from '../../src/core/config-page.ts';
import { installRedactor } from '../../src/core/redact.ts';
import { runScenario, type ScenarioOutcome } from '../../src/eval/scenario-run.ts';
import { IncidentStore, type PageApprovals, registerPageRoutes } from '../../src/page/index.ts';
import { getScenario } from '../../src/sim/scenarios/index.ts';

export async function scenarioOutcome(name: string): Promise<ScenarioOutcome> {
  const { config } = scenarioConfig(undefined);
  installRedactor(config.redact);
  return runScenario(getScenario(name), {
    config,
    chain: new TriageChain({ config: config.agents }),
    resolver: snapshotResolver,
    seed: 1,
  });
}

/** Every revision in order, then the reports: what `demo --serve` holds. */
export function storeOf(outcome: ScenarioOutcome, store = new IncidentStore()): IncidentStore {
  for (const doc of outcome.contexts) store.onContext(doc);
  for (const r of outcome.reports.values()) store.onReport(r);
  return store;
}

export async function servePageOf(
  store: IncidentStore,
  approvals?: PageApprovals,
): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify();
  await registerPageRoutes(app, { store, config: pageSchema.parse({}), approvals });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}
