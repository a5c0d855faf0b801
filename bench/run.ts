// `npm run bench [-- --quick] [--only decode,pipeline] [--compare bench/results/old.json]
//   [--ollama URL --model NAME]` (the last two reach the agents benchmark)
// Runs the benchmarks, writes bench/results/<date>.json, <date>.md and one SVG per chart, and with
// --compare prints the ratio of every headline figure to the old run, flagging regressions beyond 15%.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  beforeAfterMarkdown,
  machine,
  markdownReport,
  markdownTable,
  svgChart,
  targetLine,
} from './lib/report.ts';
import type { BenchOptions, BenchResult, Chart } from './lib/result.ts';

const ALL = [
  'decode',
  'pipeline',
  'memory',
  'agents',
  'startup',
  'replay',
  'e2e',
  'collector-peer',
  'scaleout',
  'gc-sizing',
] as const;
/** Headline figures where lower is better (everything else: higher is better). */
const LOWER_IS_BETTER = /(Ms|Bytes|PerRecord|share|RssMB|HeapMB|KBPerPod|walkOver|p50|p95|p99|CpuSeconds)/i;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = (arg('--only') ?? ALL.join(',')).split(',').filter(Boolean);
  const compareWith = arg('--compare');
  const log = (l: string) => process.stderr.write(`[bench] ${l}\n`);
  const opts: BenchOptions = { quick, log };
  const results: BenchResult[] = [];
  const started = Date.now();
  for (const name of only) {
    if (!(ALL as readonly string[]).includes(name))
      throw new Error(`unknown benchmark ${name}; choose from ${ALL.join(', ')}`);
    log(`running ${name}${quick ? ' (quick)' : ''}…`);
    const t0 = Date.now();
    const mod = (await import(`./${name}.ts`)) as { run: (o: BenchOptions) => Promise<BenchResult> };
    results.push(await mod.run(opts));
    log(`${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const date = new Date().toISOString().replace(/:/g, '-').replace(/\..*/, '');
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const meta = {
    date,
    quick,
    machine: machine(),
    command: `npm run bench --${quick ? ' --quick' : ''}${arg('--only') ? ` --only ${arg('--only')}` : ''}${
      compareWith ? ` --compare ${compareWith}` : ''
    }${
      arg('--ollama')
        ? ` --ollama ${arg('--ollama')}${arg('--model') ? ` --model ${arg('--model')}` : ''}`
        : ''
    }`,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const chartFiles = new Map<Chart, string>();
  for (const r of results) {
    r.charts.forEach((c, i) => {
      const f = `${date}-${r.name}-${i + 1}.svg`;
      writeFileSync(join(dir, f), svgChart(c));
      chartFiles.set(c, f);
    });
  }
  for (const r of results)
    for (const [k, path] of Object.entries(r.files ?? {}))
      if (existsSync(path)) copyFileSync(path, join(dir, `${date}-${r.name}-${k}`));
  const json = { ...meta, results };
  writeFileSync(join(dir, `${date}.json`), `${JSON.stringify(json, null, 2)}\n`);
  const old = compareWith
    ? (JSON.parse(readFileSync(compareWith, 'utf8')) as { results: BenchResult[] })
    : undefined;
  const beforeAfter = old ? beforeAfterMarkdown(old, results, LOWER_IS_BETTER) : undefined;
  writeFileSync(join(dir, `${date}.md`), markdownReport(results, meta, chartFiles, beforeAfter));
  for (const r of results) {
    process.stdout.write(`\n## ${r.title}\n${markdownTable(r)}\n`);
  }
  process.stdout.write(`\n## Targets${quick ? ' (quick mode: indicative, no verdicts)' : ''}\n`);
  for (const r of results) for (const t of r.targets) process.stdout.write(`${targetLine(t, quick)}\n`);
  process.stdout.write(
    `\nReport: bench/results/${date}.md (JSON: bench/results/${date}.json), ${meta.seconds} s\n`,
  );
  if (old) compare(old, results);
}

function compare(old: { results: BenchResult[] }, now: BenchResult[]): void {
  process.stdout.write(
    `\n## Compared with the earlier run (ratio now / then; regressions beyond 15% flagged)\n`,
  );
  let regressions = 0;
  for (const r of now) {
    const o = old.results.find((x) => x.name === r.name);
    if (!o) continue;
    for (const [k, v] of Object.entries(r.headline)) {
      const before = o.headline[k];
      if (before === undefined || before === 0) continue;
      const ratio = v / before;
      const worse = LOWER_IS_BETTER.test(k) ? ratio > 1.15 : ratio < 1 / 1.15;
      if (worse) regressions++;
      process.stdout.write(
        `${worse ? 'REGRESSION ' : '           '}${r.name}.${k}: ${before} → ${v} (${ratio.toFixed(2)}×)\n`,
      );
    }
  }
  process.stdout.write(`${regressions} regression(s)\n`);
  if (regressions > 0) process.exitCode = 3;
}

await main();
