// Before/after of the hot path, two checkouts in one process (issue 18): each side's modules are
// imported from its own directory (own intern cache, own classes), rounds interleaved, rates per
// CPU-second of this process (on a shared machine, wall time charges other processes' bursts to
// whichever side happened to run). Medians with min and max of the per-round ratios.
//   node bench/ab.ts decode <oldDir> [newDir] [rounds]     logs × 1000 to signals, cache warm and cold
//   node --expose-gc bench/ab.ts pipeline <oldDir> [newDir] [rounds] [repeat]
//        bench/pipeline.ts's stream (40 × 1000 records) through a fresh Pipeline per pass
// newDir defaults to this checkout. Example: git worktree or `git archive <rev> | tar -x -C /tmp/old`, with
// node_modules linked, then `node --expose-gc bench/ab.ts pipeline /tmp/old`.
import { fileURLToPath } from 'node:url';
import { feedLogBatches } from './lib/feed.ts';
import { logsBatch, logsStream, rng } from './lib/fixtures.ts';
import { benchNormaliseContext } from './lib/normalise-context.ts';

const [mode, oldDir, newArg, roundsArg, repeatArg] = process.argv.slice(2);
if ((mode !== 'decode' && mode !== 'pipeline') || !oldDir) {
  process.stderr.write(
    'usage: node [--expose-gc] bench/ab.ts decode|pipeline <oldDir> [newDir] [rounds] [repeat]\n',
  );
  process.exit(2);
}
const dirs = [oldDir, newArg || fileURLToPath(new URL('..', import.meta.url))] as const;
const rounds = Number(roundsArg ?? 7);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[s.length >> 1]!.toFixed(3)} (min ${s[0]!.toFixed(3)}, max ${s.at(-1)!.toFixed(3)})`;
};
const ratios = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);

/** Calls per CPU-second over about `ms` of CPU. */
function rate(fn: () => unknown, ms: number): number {
  const t0 = cpuMs();
  let n = 0;
  let used = 0;
  while (used < ms) {
    for (let i = 0; i < 4; i++) fn();
    n += 4;
    used = cpuMs() - t0;
  }
  return (n * 1000) / used;
}

async function decodeSide(dir: string): Promise<(b: Buffer) => void> {
  // What the pipeline runs per logs record (src/stream/normalise/record.ts), whatever its inner steps.
  const { decodeAndNormalise } = await import(`${dir}/src/stream/normalise/record.ts`);
  const { NamePatternResolver } = await import(`${dir}/src/stream/workload.ts`);
  const ctx = benchNormaliseContext(new NamePatternResolver());
  const decoded = () => {};
  return (b) => decodeAndNormalise('logs', b, 'logs', ctx, decoded);
}

async function abDecode(): Promise<void> {
  const { otlpType } = await import('../src/sim/otlp-proto.ts');
  const pbjs = otlpType('ExportLogsServiceRequest');
  const warm = logsBatch({ records: 1000 });
  const cold = Array.from({ length: 20 }, (_, i) =>
    logsBatch(
      { records: 1000, workloads: 100_000, startMs: Date.UTC(2026, 10, 28, 10, 0, 0) + i * 10_000 },
      // biome-ignore lint/suspicious/noExplicitAny: the fixture's stream state is internal to it
      { r: rng(100 + i), emitted: [], unique: i * 1_000_000 } as any,
    ),
  );
  let ci = 0;
  const nextCold = () => {
    ci = (ci + 1) % cold.length;
    return cold[ci]!;
  };
  const [a, b] = [await decodeSide(dirs[0]), await decodeSide(dirs[1])];
  const cands: Record<string, () => unknown> = {
    'old warm': () => a(warm),
    'new warm': () => b(warm),
    'pbjs warm': () => pbjs.decode(warm),
    'old cold': () => a(nextCold()),
    'new cold': () => b(nextCold()),
    'pbjs cold': () => pbjs.decode(nextCold()),
  };
  const per: Record<string, number[]> = Object.fromEntries(Object.keys(cands).map((k) => [k, []]));
  for (const fn of Object.values(cands)) rate(fn, 150);
  for (let r = 0; r < rounds; r++) for (const [k, fn] of Object.entries(cands)) per[k]!.push(rate(fn, 250));
  for (const c of ['warm', 'cold'])
    process.stdout.write(
      `${c} cache: new/old ${stats(ratios(per[`new ${c}`]!, per[`old ${c}`]!))}; old/protobufjs ${stats(ratios(per[`old ${c}`]!, per[`pbjs ${c}`]!))}; new/protobufjs ${stats(ratios(per[`new ${c}`]!, per[`pbjs ${c}`]!))}\n`,
    );
}

async function pipelineSide(dir: string, batches: Buffer[]) {
  const { validateConfig } = await import(`${dir}/src/core/config.ts`);
  // Checkouts from before context redaction existed serialise with plain JSON.stringify (said so).
  const redactor = await import(`${dir}/src/core/redact.ts`).then(
    (m) => m.redactor as () => { json(doc: unknown, kind: string): string },
    () => {
      process.stdout.write(`${dir}: no src/core/redact.ts, contexts serialised with JSON.stringify\n`);
      return () => ({ json: (doc: unknown) => JSON.stringify(doc) });
    },
  );
  // Checkouts with src/stream/incidents/context-json.ts serialise contexts through it, as `run` does.
  const contextJson = await import(`${dir}/src/stream/incidents/context-json.ts`).then(
    (m) => m.contextJson as (doc: unknown) => string,
    () => (doc: unknown) => redactor().json(doc, 'context'),
  );
  const { ManualClock } = await import(`${dir}/src/stream/clock.ts`);
  const { Pipeline } = await import(`${dir}/src/stream/pipeline.ts`);
  const { NamePatternResolver } = await import(`${dir}/src/stream/workload.ts`);
  const { decodeAndNormalise } = await import(`${dir}/src/stream/normalise/record.ts`);
  const { AnomalyDetector } = await import(`${dir}/src/stream/anomaly.ts`);
  const anomalies = new AnomalyDetector(validateConfig({}).anomalies, {
    maxSeries: 1000,
    ttlMs: 60_000,
    clock: { now: () => 0 },
  });
  /** CPU ms of one pass; as bench/pipeline.ts: building the pipeline is not timed. */
  const pass = (serialize: boolean): number => {
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
    const p = new Pipeline({
      config: validateConfig({ grouping: { groupWait: '10s', groupInterval: '10s' } }),
      clock,
      resolver: new NamePatternResolver(),
      sink: (doc: unknown) => {
        if (serialize) contextJson(doc);
      },
    });
    const t0 = cpuMs();
    feedLogBatches(p, clock, batches);
    return cpuMs() - t0;
  };
  const normaliseOnly = (): number => {
    const ctx = benchNormaliseContext(new NamePatternResolver(), {
      watchedMetrics: anomalies.watchedMetrics,
    });
    const t0 = cpuMs();
    for (const b of batches) decodeAndNormalise('logs', b, 'otlp_logs', ctx, () => {});
    return cpuMs() - t0;
  };
  return { pass, normaliseOnly };
}

async function abPipeline(): Promise<void> {
  const repeat = Number(repeatArg ?? 0);
  const batches = logsStream(40, 1000, repeat);
  const records = batches.length * 1000;
  const sides = [await pipelineSide(dirs[0], batches), await pipelineSide(dirs[1], batches)];
  for (const s of sides) {
    s.pass(true);
    s.normaliseOnly();
  }
  const res = sides.map(() => ({ full: [] as number[], grouped: [] as number[], norm: [] as number[] }));
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < 2; i++) {
      globalThis.gc?.();
      res[i]!.full.push(sides[i]!.pass(true));
      res[i]!.grouped.push(sides[i]!.pass(false));
      res[i]!.norm.push(sides[i]!.normaliseOnly());
    }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  for (let i = 0; i < 2; i++) {
    const { full, grouped, norm } = res[i]!;
    const [f, g, n] = [med(full), med(grouped), med(norm)];
    // The shares as bench/pipeline.ts defines them, in CPU time.
    process.stdout.write(
      `${i ? 'new' : 'old'} (${dirs[i]}): ${Math.round((records * 1000) / f)} records/CPU-s, decode+normalise ${Math.round((records * 1000) / n)}, dedup+grouping share ${(((g - n) / f) * 100).toFixed(1)} %, context JSON share ${(((f - g) / f) * 100).toFixed(1)} %\n`,
    );
  }
  process.stdout.write(
    `new/old records per CPU-second at ${repeat * 100} % repeats: ${stats(ratios(res[0]!.full, res[1]!.full))}\n`,
  );
  process.stdout.write(`new/old without context JSON: ${stats(ratios(res[0]!.grouped, res[1]!.grouped))}\n`);
}

if (mode === 'decode') await abDecode();
else await abPipeline();
