// Decode to signals, before/after, each side in its own process (issue 18): bench/ab.ts runs both
// checkouts in one process, and there the side named second read 0.81–0.87× in the cold case whichever
// checkout it was, when the two differed (intern.ts change: base→new cold 0.87×, new→base 0.81×), so a
// cache change is judged here too. Processes alternate; each decodes logs × 1000 batches (bench/ab.ts's
// warm batch, or its 20 cold ones cycled; `stream`: bench/ab-run-path.ts's 150 × 1000-record e2e
// stream, 3 passes) after a warm-up and prints its CPU ms. Ratio = old/new CPU.
//   node bench/ab-decode-procs.ts <oldDir> [newDir] [rounds] [modes, default warm,cold,stream]
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logsBatch, logsStream, rng } from './lib/fixtures.ts';
import { benchNormaliseContext } from './lib/normalise-context.ts';

const [first, ...rest] = process.argv.slice(2);
if (first === '--child') {
  const [dir, mode] = rest as [string, 'warm' | 'cold' | 'stream'];
  const { decodeAndNormalise } = await import(`${dir}/src/stream/normalise/record.ts`);
  const { NamePatternResolver } = await import(`${dir}/src/stream/workload.ts`);
  const ctx = benchNormaliseContext(new NamePatternResolver());
  const warm = logsBatch({ records: 1000 });
  const cold = Array.from({ length: 20 }, (_, i) =>
    logsBatch(
      { records: 1000, workloads: 100_000, startMs: Date.UTC(2026, 10, 28, 10, 0, 0) + i * 10_000 },
      // biome-ignore lint/suspicious/noExplicitAny: the fixture's stream state is internal to it
      { r: rng(100 + i), emitted: [], unique: i * 1_000_000 } as any,
    ),
  );
  const stream = mode === 'stream' ? logsStream(150, 1000, 0.5) : [];
  const run = (n: number) => {
    if (mode === 'stream') {
      for (let p = 0; p < n; p++)
        for (const b of stream) decodeAndNormalise('logs', b, 'logs', ctx, () => {});
      return;
    }
    for (let i = 0; i < n; i++)
      decodeAndNormalise('logs', mode === 'cold' ? cold[i % 20]! : warm, 'logs', ctx, () => {});
  };
  run(mode === 'stream' ? 1 : 400);
  const c0 = process.cpuUsage();
  run(mode === 'stream' ? 3 : 1000);
  const c = process.cpuUsage(c0);
  process.stdout.write(`${(c.user + c.system) / 1000}\n`);
} else {
  if (!first) {
    process.stderr.write('usage: node bench/ab-decode-procs.ts <oldDir> [newDir] [rounds]\n');
    process.exit(2);
  }
  const dirs = [resolve(first), resolve(rest[0] || fileURLToPath(new URL('..', import.meta.url)))];
  const rounds = Number(rest[1] ?? 7);
  const modes = (rest[2] ?? 'warm,cold,stream').split(',');
  const self = fileURLToPath(import.meta.url);
  const cpuMs = (dir: string, mode: string) =>
    Number(execFileSync(process.execPath, [self, '--child', dir, mode], { encoding: 'utf8' }));
  const stats = (xs: number[], unit: string, digits: number) => {
    const s = [...xs].sort((a, b) => a - b);
    const f = (x: number) => `${x.toFixed(digits)}${unit}`;
    return `median ${f(s[s.length >> 1]!)} (min ${f(s[0]!)}, max ${f(s.at(-1)!)})`;
  };
  for (const mode of modes) {
    const old: number[] = [];
    const neu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      old.push(cpuMs(dirs[0]!, mode));
      neu.push(cpuMs(dirs[1]!, mode));
    }
    process.stdout.write(
      `${mode}: old ${stats(old, ' ms', 0)}; new ${stats(neu, ' ms', 0)}; old/new ${stats(
        old.map((x, i) => x / neu[i]!),
        '×',
        3,
      )}\n`,
    );
  }
}
