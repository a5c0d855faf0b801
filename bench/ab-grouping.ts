// Before/after of dedup + grouping alone (issue 18), two checkouts in one process. bench/pipeline.ts
// takes that share as (pipeline without context JSON − decode + normalise alone) / full pipeline: a
// difference of two noisy CPU times, whose rounds swung 21–35 % on the shared 2-core machine. Here
// each side records once what its normaliser hands the pipeline for bench/pipeline.ts's stream
// (NormaliseContext emit and dropEvent calls, per batch), then every pass replays those calls into a
// fresh Pipeline through applyRemote, ticking as bench/lib/feed.ts does: the CPU of routing, dedup,
// floors, grouping and building the contexts (not serialising them), nothing else. Sides alternate
// first place round by round; medians of the per-round ratios, with min and max.
//   node --expose-gc bench/ab-grouping.ts <oldDir> [newDir] [rounds] [repeat]
// newDir defaults to this checkout; rounds 61; repeat 0 (the share target's case), 0.5 or 0.95.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocated } from './lib/measure.ts';

const [oldDir, newArg, roundsArg, repeatArg] = process.argv.slice(2);
if (!oldDir) {
  process.stderr.write('usage: node --expose-gc bench/ab-grouping.ts <oldDir> [newDir] [rounds] [repeat]\n');
  process.exit(2);
}
const dirs = [resolve(oldDir), resolve(newArg || fileURLToPath(new URL('..', import.meta.url)))] as const;
const rounds = Number(roundsArg ?? 61);
const repeat = Number(repeatArg ?? 0);
const cpuMs = () => {
  const c = process.threadCpuUsage();
  return (c.user + c.system) / 1000;
};

/** One recorded NormaliseContext call: emit(signal) or dropEvent(cluster, eventType, reason). */
type Call = { signal: unknown } | { drop: [string, string, string] };
// biome-ignore lint/suspicious/noExplicitAny: the other checkout's NormaliseContext
type AnyCtx = any;

async function side(dir: string, batches: Buffer[]) {
  const { validateConfig } = await import(`${dir}/src/core/config.ts`);
  const { ManualClock } = await import(`${dir}/src/stream/clock.ts`);
  const { Pipeline } = await import(`${dir}/src/stream/pipeline.ts`);
  const { NamePatternResolver } = await import(`${dir}/src/stream/workload.ts`);
  const { decodeAndNormalise } = await import(`${dir}/src/stream/normalise/record.ts`);
  // As bench/pipeline.ts: building the pipeline is not timed.
  const fresh = () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
    const p = new Pipeline({
      config: validateConfig({ grouping: { groupWait: '10s', groupInterval: '10s' } }),
      clock,
      resolver: new NamePatternResolver(),
      sink: () => {},
    });
    return { clock, p };
  };
  const recorded: Call[][] = [];
  {
    const { clock, p } = fresh();
    let t = clock.now();
    for (const b of batches) {
      t += 10_000;
      clock.advance(t);
      p.tick();
      const calls: Call[] = [];
      p.applyRemote(undefined, (ctx: AnyCtx) => {
        const recording = {
          ...ctx,
          emit: (signal: unknown) => {
            calls.push({ signal });
            ctx.emit(signal);
          },
          dropEvent: (c: string, e: string, r: string) => {
            calls.push({ drop: [c, e, r] });
            return ctx.dropEvent(c, e, r);
          },
        };
        decodeAndNormalise('logs', b, 'otlp_logs', recording, () => {});
      });
      recorded.push(calls);
    }
    p.flushAll();
  }
  const work = () => {
    const { clock, p } = fresh();
    return () => {
      let t = clock.now();
      for (const calls of recorded) {
        t += 10_000;
        clock.advance(t);
        p.tick();
        p.applyRemote(undefined, (ctx: AnyCtx) => {
          ctx.recordTimeMs = t;
          for (const c of calls) {
            if ('signal' in c) ctx.emit(c.signal);
            else ctx.dropEvent(...c.drop);
          }
        });
      }
      p.flushAll();
    };
  };
  const pass = (): number => {
    const run = work();
    const t0 = cpuMs();
    run();
    return cpuMs() - t0;
  };
  return { pass, bytes: () => allocated(work()), calls: recorded.reduce((n, c) => n + c.length, 0) };
}

const { logsStream } = await import('./lib/fixtures.ts');
const batches = logsStream(40, 1000, repeat);
const sides = [await side(dirs[0], batches), await side(dirs[1], batches)];
for (const s of sides) for (let i = 0; i < 2; i++) s.pass();
const ms: number[][] = [[], []];
for (let r = 0; r < rounds; r++)
  for (const i of r % 2 ? [1, 0] : [0, 1]) {
    globalThis.gc?.();
    ms[i]!.push(sides[i]!.pass());
  }
const bytes = sides.map((s) => [s.bytes(), s.bytes(), s.bytes()].sort((a, b) => a - b)[1]!);
const stats = (xs: number[], digits = 3) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[s.length >> 1]!.toFixed(digits)} (min ${s[0]!.toFixed(digits)}, max ${s.at(-1)!.toFixed(digits)})`;
};
process.stdout.write(
  `${batches.length * 1000} records, ${sides[0]!.calls} normalised calls replayed per pass, ${repeat * 100} % repeats, ${rounds} rounds\n`,
);
for (let i = 0; i < 2; i++)
  process.stdout.write(
    `${i ? 'new' : 'old'} (${dirs[i]}): CPU ms per pass ${stats(ms[i]!, 1)}, ${Math.round(bytes[i]! / (batches.length * 1000))} bytes allocated per record (median of 3)\n`,
  );
process.stdout.write(
  `new/old dedup + grouping CPU per round: ${stats(ms[1]!.map((v, r) => v / ms[0]![r]!))}\n`,
);
