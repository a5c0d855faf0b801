import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchResult } from './result.ts';

/** Lets every benchmark file run on its own (`node bench/decode.ts [--quick]`), printing its table. */
export async function runAlone(
  moduleUrl: string,
  run: (o: BenchOptions) => Promise<BenchResult>,
): Promise<void> {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const quick = process.argv.includes('--quick');
  const res = await run({ quick, log: (l) => process.stderr.write(`${l}\n`) });
  const { markdownTable, targetLine } = await import('./report.ts');
  process.stdout.write(`${markdownTable(res)}\n`);
  for (const n of res.notes ?? []) process.stdout.write(`\n${n}\n`);
  for (const [k, path] of Object.entries(res.files ?? {})) process.stdout.write(`${k}: ${path}\n`);
  if (quick) process.stdout.write('Quick mode: figures are indicative, no verdicts.\n');
  for (const t of res.targets) process.stdout.write(`${targetLine(t, quick)}\n`);
}
