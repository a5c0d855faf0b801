import type { Command } from 'commander';
import { TriageChain } from '../agents/index.ts';
import { installRedactor } from '../core/redact.ts';
import { IncidentStore, servePage, untilSignal } from '../page/index.ts';
import { renderIncident } from './demo-render.ts';
import { integerOption } from './numeric-options.ts';
import { scenarioConfig } from './scenario-config.ts';
import { snapshotResolver } from './snapshot-resolver.ts';

type DemoOptions = { scenario: string; seed: number; noise?: boolean; all?: boolean } & ServeOptions;
type ServeOptions = { serve?: boolean; port: number; host: string };

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the embedded default: a bundled scenario through the whole pipeline in-process (no Kafka, cluster or LLM), readable report on stdout',
    )
    .option('-s, --scenario <name>', 'scenario to run (kubetriage simulate --list shows them)', 'oom-rollout')
    .option('--seed <n>', 'noise seed (an integer >= 0)', integerOption(0), 1)
    .option('--noise', "with the healthy cluster's background (default for the quiet family)")
    .option('--no-noise', 'without the background layer')
    .option('--all', 'kept for old scripts: every incident is always shown')
    .option('--serve', 'then serve the incident page for the result (read-only) until Ctrl-C')
    .option('--port <port>', 'port for --serve (0: any free port)', integerOption(0, 65535), 9464)
    .option('--host <host>', 'bind address for --serve', '127.0.0.1')
    .action(async (opts: DemoOptions) => {
      // Imported here: the simulator is ~50 modules that `run` and `--help` never use (bench/startup.ts).
      const { getScenario } = await import('../sim/scenarios/index.ts');
      const { runScenario } = await import('../eval/scenario-run.ts');
      const scenario = getScenario(opts.scenario);
      const { config, note } = scenarioConfig(undefined);
      if (note) process.stderr.write(`[demo] ${note}\n`);
      const redactor = installRedactor(config.redact);
      const started = performance.now();
      const progress = (done: number, total: number) =>
        process.stderr.write(`\r[demo] ${scenario.name}: replaying ${done}/${total} Kafka records`);
      const outcome = await runScenario(scenario, {
        config,
        chain: new TriageChain({ config: config.agents }),
        resolver: snapshotResolver,
        seed: opts.seed,
        noise: opts.noise,
        onProgress: progress,
      });
      process.stderr.write(
        `\r[demo] ${scenario.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`.padEnd(
          70,
        ),
      );
      process.stderr.write('\n');
      // Every incident, never filtered by the scenario's answer key: what an on-call engineer would get.
      const shown = outcome.latest;
      const out: string[] = [
        `kubetriage demo — scenario ${scenario.name}: ${scenario.description}`,
        `${outcome.run.records.length} Kafka records (${new Date(outcome.run.start).toISOString()} → ${new Date(outcome.run.end).toISOString()}) → ${outcome.contexts.length} contexts, ${outcome.latest.length} incident(s), all shown (the scenario expects ${outcome.run.truth.incidents.length})`,
        '',
      ];
      for (const d of shown) out.push(renderIncident(d, outcome.reports.get(d.id)), '');
      if (outcome.latest.length === 0)
        out.push('No incident raised: nothing in this telemetry looks like trouble.');
      process.stdout.write(`${redactor.text(out.join('\n'), 'stdout')}\n`);
      if (!opts.serve) return;
      // Every revision in order (the page's timeline shows them), then each incident's report.
      const store = new IncidentStore({ maxIncidents: config.page.maxIncidents });
      for (const doc of outcome.contexts) store.onContext(doc);
      for (const r of outcome.reports.values()) store.onReport(r);
      const { app, url } = await servePage({ store, config: config.page, host: opts.host, port: opts.port });
      process.stderr.write(`[demo] incident page: ${url} (read-only; Ctrl-C stops)\n`);
      await untilSignal(app);
    });
}
