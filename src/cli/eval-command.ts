import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TriageChain } from '../agents/index.ts';
import { KubetriageError } from '../core/errors.ts';
import { type Aggregate, formatCount, type SeededScore, type Summary, summarise } from '../eval/aggregate.ts';
import { type ScenarioScore, scoreScenario, totals } from '../eval/score.ts';
import { integerOption } from './numeric-options.ts';
import { scenarioConfig } from './scenario-config.ts';
import { snapshotResolver } from './snapshot-resolver.ts';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      'score every scenario against its ground truth over seeds: precision and recall of incidents, grouping, severity, team, cause, proposal',
    )
    .option('--scenarios <list>', 'comma-separated scenario names, or all', 'all')
    .option('-c, --config <file>', 'config YAML (defaults when omitted)')
    .option('--seed <n>', 'noise seed for the scenarios (one run each)', integerOption(0), 1)
    .option('--seeds <n>', 'run every scenario with seeds 1..n and sum the scores', integerOption(1))
    .option('--no-noise', "without the healthy cluster's background (on by default: what real clusters send)")
    .option('--ollama <url>', 'also score the LLM engine through this Ollama, side by side with rules')
    .option(
      '--openai <url>',
      'also score the LLM engine through this OpenAI-compatible base URL (with /v1; key from agents.llm.apiKeyEnv)',
    )
    .option('--model <name>', 'model for --ollama or --openai')
    .option('--json <file>', 'also write the config judged with, every run and the summaries as JSON')
    .action(
      async (opts: {
        scenarios: string;
        config?: string;
        seed: number;
        seeds?: number;
        noise: boolean;
        ollama?: string;
        openai?: string;
        model?: string;
        json?: string;
      }) => {
        // Imported here: the simulator is ~50 modules that `run` and `--help` never use (bench/startup.ts).
        const { getScenario, listScenarios } = await import('../sim/scenarios/index.ts');
        const { runScenario } = await import('../eval/scenario-run.ts');
        const { config, note } = scenarioConfig(opts.config);
        if (note) process.stderr.write(`[eval] ${note}\n`);
        const scenarios =
          opts.scenarios === 'all'
            ? listScenarios()
            : opts.scenarios.split(',').map((n) => getScenario(n.trim()));
        const seeds = opts.seeds ? Array.from({ length: opts.seeds }, (_, i) => i + 1) : [opts.seed];
        const engines: { name: string; chain: () => TriageChain }[] = [
          { name: 'rules', chain: () => new TriageChain({ config: config.agents }) },
        ];
        for (const [provider, url] of [
          ['ollama', opts.ollama],
          ['openai', opts.openai],
        ] as const) {
          if (!url) continue;
          if (!URL.canParse(url))
            throw new KubetriageError('CONFIG_INVALID', `--${provider} ${url} is not a URL`);
          const llm = {
            ...config.agents.llm,
            url,
            provider,
            ...(opts.model ? { model: opts.model } : {}),
          };
          engines.push({
            name: `llm:${provider === 'openai' ? 'openai:' : ''}${llm.model}`,
            chain: () => new TriageChain({ config: { ...config.agents, llm } }),
          });
        }
        const started = performance.now();
        const total = engines.length * seeds.length * scenarios.length;
        let done = 0;
        const results: Record<string, SeededScore[]> = {};
        const timing: Record<
          string,
          { scenario: string; seed: number; replayMs: number; triageMs: number; incidents: number }[]
        > = {};
        for (const engine of engines) {
          results[engine.name] = [];
          timing[engine.name] = [];
          for (const seed of seeds) {
            for (const s of scenarios) {
              process.stderr.write(
                `\r[eval] ${engine.name}: seed ${seed}/${seeds.length} ${s.name} (${++done}/${total})`.padEnd(
                  70,
                ),
              );
              const outcome = await runScenario(s, {
                config,
                chain: engine.chain(),
                resolver: snapshotResolver,
                seed,
                noise: opts.noise,
              });
              results[engine.name]!.push({
                seed,
                family: s.family,
                ...scoreScenario(s.name, s.truth, outcome.latest, outcome.reports),
              });
              timing[engine.name]!.push({
                scenario: s.name,
                seed,
                replayMs: outcome.replayMs,
                triageMs: outcome.triageMs,
                incidents: outcome.latest.length,
              });
            }
          }
        }
        const seconds = (performance.now() - started) / 1000;
        process.stderr.write(
          `\r[eval] ${total} runs (${scenarios.length} scenarios × ${seeds.length} seed(s)${engines.length > 1 ? ` × ${engines.length} engines` : ''}, noise ${opts.noise ? 'on' : 'off'}) in ${seconds.toFixed(1)} s`.padEnd(
            70,
          ),
        );
        process.stderr.write('\n');
        const summaries = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, summarise(v)]));
        for (const engine of engines) {
          process.stdout.write(
            `\nengine: ${engine.name}; seeds ${seeds.length === 1 ? seeds[0] : `1..${seeds.length}`}; background noise ${opts.noise ? 'on' : 'off'}\n`,
          );
          process.stdout.write(summaryTable(summaries[engine.name]!));
          if (seeds.length === 1) process.stdout.write(misses(results[engine.name]!));
        }
        if (opts.json)
          writeFileSync(
            opts.json,
            `${JSON.stringify(
              {
                seeds,
                noise: opts.noise,
                scenarios: scenarios.map((s) => ({
                  name: s.name,
                  family: s.family,
                  durationMs: s.durationMs,
                })),
                configSource: opts.config ?? null,
                configNote: note,
                config,
                summaries,
                results,
                timing,
                totals: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, totals(v)])),
                seconds,
              },
              null,
              2,
            )}\n`,
          );
      },
    );
}

function summaryTable(s: Summary): string {
  const head = [
    'scenario',
    'family',
    'runs',
    'incidents/run',
    'silent runs',
    'recall',
    'precision',
    'grouping',
    'severity',
    'team',
    'top cause',
    'cause ok-ish',
    'proposal',
  ];
  const row = (name: string, family: string, a: Aggregate): string[] => [
    name,
    family,
    String(a.runs),
    (a.raised / Math.max(1, a.runs)).toFixed(2),
    `${a.silentRuns}/${a.runs}`,
    formatCount(a.recall),
    a.precision.of === 0 ? (a.falsePositives ? '0' : '-') : formatCount(a.precision),
    formatCount(a.grouping),
    formatCount(a.severity),
    formatCount(a.team),
    formatCount(a.topCause),
    formatCount(a.causeAcceptable),
    formatCount(a.proposal),
  ];
  const rows = [head];
  for (const [name, a] of Object.entries(s.scenarios)) rows.push(row(name, a.family, a));
  for (const [family, a] of Object.entries(s.families)) rows.push(row(`FAMILY ${family}`, family, a!));
  rows.push(row('TOTAL', '', s.total));
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`;
  return `${[line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n')}\n`;
}

function misses(scores: ScenarioScore[]): string {
  const detail = scores
    .flatMap((s) =>
      s.incidents
        .filter((i) => !(i.found && i.severityOk && i.teamOk && i.causeOk && i.proposalOk))
        .map(
          (i) =>
            `  ${s.scenario} ${i.expected.workload.kind}/${i.expected.workload.name}: ${i.found ? '' : 'NOT FOUND; '}severity ${i.severity} (want ${i.expected.severity.join('|')}), team ${i.team} (want ${i.expected.team}), cause ${i.topCause} (want ${i.expected.cause}), proposal ${i.proposal}${i.proposalOk ? '' : ' (wrong)'}`,
        )
        .concat(s.falsePositives.map((f) => `  ${s.scenario} false positive: ${f}`)),
    )
    .join('\n');
  return detail ? `\nmisses:\n${detail}\n` : '';
}
