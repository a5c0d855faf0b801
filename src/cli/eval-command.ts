import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TriageChain } from '../agents/index.ts';
import { KubetriageError } from '../core/errors.ts';
import { runScenario } from '../eval/scenario-run.ts';
import { type ScenarioScore, scoreScenario, totals } from '../eval/score.ts';
import { getScenario, listScenarios } from '../sim/scenarios/index.ts';
import { integerOption } from './numeric-options.ts';
import { scenarioConfig } from './scenario-config.ts';
import { snapshotResolver } from './snapshot-resolver.ts';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      'score every scenario against its ground truth: incidents, grouping, severity, team, cause, proposal',
    )
    .option('--scenarios <list>', 'comma-separated scenario names, or all', 'all')
    .option('-c, --config <file>', 'config YAML (defaults when omitted)')
    .option('--seed <n>', 'noise seed for the scenarios (an integer >= 0)', integerOption(0), 1)
    .option('--ollama <url>', 'also score the LLM engine through this Ollama, side by side with rules')
    .option('--model <name>', 'model for --ollama')
    .option('--json <file>', 'also write the full results as JSON')
    .action(
      async (opts: {
        scenarios: string;
        config?: string;
        seed: number;
        ollama?: string;
        model?: string;
        json?: string;
      }) => {
        const { config, note } = scenarioConfig(opts.config);
        if (note) process.stderr.write(`[eval] ${note}\n`);
        const scenarios =
          opts.scenarios === 'all'
            ? listScenarios()
            : opts.scenarios.split(',').map((n) => getScenario(n.trim()));
        const engines: { name: string; chain: () => TriageChain }[] = [
          { name: 'rules', chain: () => new TriageChain({ config: config.agents }) },
        ];
        if (opts.ollama) {
          if (!URL.canParse(opts.ollama))
            throw new KubetriageError('CONFIG_INVALID', `--ollama ${opts.ollama} is not a URL`);
          const llm = {
            ...config.agents.llm,
            url: opts.ollama,
            ...(opts.model ? { model: opts.model } : {}),
          };
          engines.push({
            name: `llm:${llm.model}`,
            chain: () => new TriageChain({ config: { ...config.agents, llm } }),
          });
        }
        const results: Record<string, ScenarioScore[]> = {};
        const timing: Record<string, { replayMs: number; triageMs: number; incidents: number }[]> = {};
        for (const engine of engines) {
          results[engine.name] = [];
          timing[engine.name] = [];
          for (const s of scenarios) {
            process.stderr.write(`\r[eval] ${engine.name}: ${s.name}…`.padEnd(60));
            const outcome = await runScenario(s, {
              config,
              chain: engine.chain(),
              resolver: snapshotResolver,
              seed: opts.seed,
            });
            results[engine.name]!.push(scoreScenario(s.name, s.truth, outcome.latest, outcome.reports));
            timing[engine.name]!.push({
              replayMs: outcome.replayMs,
              triageMs: outcome.triageMs,
              incidents: outcome.latest.length,
            });
          }
        }
        process.stderr.write('\r'.padEnd(61));
        process.stderr.write('\r');
        for (const engine of engines) {
          process.stdout.write(`\nengine: ${engine.name}\n`);
          process.stdout.write(table(results[engine.name]!, timing[engine.name]!));
        }
        if (opts.json)
          writeFileSync(
            opts.json,
            `${JSON.stringify({ seed: opts.seed, results, timing, totals: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, totals(v)])) }, null, 2)}\n`,
          );
      },
    );
}

function table(
  scores: ScenarioScore[],
  timing: { replayMs: number; triageMs: number; incidents: number }[],
): string {
  const rows = [
    [
      'scenario',
      'found',
      'false pos.',
      'grouping',
      'severity',
      'team',
      'top cause',
      'proposal',
      'triage ms/incident',
    ],
  ];
  scores.forEach((s, i) => {
    const inc = s.incidents;
    const frac = (f: (x: (typeof inc)[number]) => boolean) =>
      inc.length ? `${inc.filter(f).length}/${inc.length}` : '-';
    const t = timing[i]!;
    rows.push([
      s.scenario,
      `${s.found}/${s.expected}`,
      String(s.falsePositives.length),
      s.groupingOk ? 'ok' : 'WRONG',
      frac((x) => x.severityOk),
      frac((x) => x.teamOk),
      inc.length ? `${frac((x) => x.causeOk)} (${frac((x) => x.causeAcceptable)} ok-ish)` : '-',
      frac((x) => x.proposalOk),
      t.incidents ? (t.triageMs / t.incidents).toFixed(2) : '-',
    ]);
  });
  const t = totals(scores);
  rows.push([
    'TOTAL',
    `${t.found}/${t.expected}`,
    String(t.falsePositives),
    `${t.groupingOk}/${t.scenarios}`,
    `${t.severityOk}/${t.expected}`,
    `${t.teamOk}/${t.expected}`,
    `${t.causeOk}/${t.expected} (${t.causeAcceptable} ok-ish)`,
    `${t.proposalOk}/${t.expected}`,
    '',
  ]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`;
  const out = [
    line(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ];
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
  return `${out.join('\n')}\n${detail ? `\nmisses:\n${detail}\n` : ''}`;
}
