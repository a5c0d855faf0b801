// Memory benchmark: RSS and heap (after a full GC) as the tracked state grows — pods, metric series
// and open incidents — measured in a fresh child process, as a growth curve.
// Run alone: node bench/memory.ts [--quick]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildJs, toJavaScript } from '../scripts/build-js.ts';
import type { BenchOptions, BenchResult, BenchRow, Chart } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

const CHILD = new URL('./lib/memory-child.ts', import.meta.url).pathname;
const SEMI_SPACE_MB = 16;
// Batches of 50 Warning-event updates after the last step: 100k updates of known evidence, no new state.
const STEADY_BATCHES = 2000;
const DIST = new URL('../dist/', import.meta.url).pathname;

/**
 * The child as JavaScript beside the product's emitted JavaScript (scripts/build-js.ts, as the image's
 * Dockerfile builds it): run from there, Node loads no TypeScript stripper, as in the image.
 */
function emittedChild(): string {
  buildJs(DIST);
  const out = join(DIST, 'bench/lib/memory-child.js');
  mkdirSync(join(DIST, 'bench/lib'), { recursive: true });
  writeFileSync(out, toJavaScript(readFileSync(CHILD, 'utf8'), 'bench/lib/memory-child.ts'));
  return out;
}

interface Point {
  pods: number;
  series: number;
  incidents: number;
  rssMB: number;
  heapMB: number;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const steps = opts.quick ? '1000,5000,10000' : '1000,2500,5000,7500,10000';
  const child = (
    flags: string[],
    env: NodeJS.ProcessEnv = process.env,
    childSteps = steps,
    script = CHILD,
    steady = 0,
  ) =>
    execFileSync(process.execPath, ['--expose-gc', ...flags, script, childSteps, String(steady)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env,
    })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Point);
  // RSS moves by a few MB between runs (when V8 grows its young generation): the curve is the median of
  // several fresh processes per step, and the target's detail gives the 10k-pod row's min and max.
  const rounds = opts.quick ? 1 : 5;
  const runs = Array.from({ length: rounds }, () => child([]));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const points = runs[0]!.map((p, i) => ({
    ...p,
    rssMB: median(runs.map((r) => r[i]!.rssMB)),
    heapMB: median(runs.map((r) => r[i]!.heapMB)),
  }));
  const lastRss = runs.map((r) => r.at(-1)!.rssMB);
  // V8 grows the young generation with the allocation rate (up to 64 MB semi-spaces here) and keeps it
  // committed after GC; capping it is the deployment's memory/throughput knob (bench/README.md, Sizing).
  const capped = child([`--max-semi-space-size=${SEMI_SPACE_MB}`]).at(-1)!;
  // `kubetriage` loads its modules through Node's compile cache (bin/kubetriage.js); once warm, Node
  // never loads its TypeScript stripper (a WebAssembly module: ~25 MB RSS at 0 pods, 115 → 90 MB),
  // which the rows above carry. Same defaults otherwise; a first run warms the cache. Node uses a cache
  // only in a writable directory: in the chart's pods (read-only root, /tmp an emptyDir) it is warm
  // from the second start of a container in the same pod on, so the target keeps reading the rows above.
  const cacheDir = mkdtempSync(join(tmpdir(), 'kt-bench-compile-cache-'));
  let cached: Point;
  try {
    const env = { ...process.env, NODE_COMPILE_CACHE: cacheDir };
    child([], env, '0');
    cached = child([], env).at(-1)!;
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  // As the image runs it: the emitted JavaScript, Node's defaults otherwise (no compile cache: the
  // image's root is read-only).
  const emitted = child([], process.env, steps, emittedChild()).at(-1)!;
  // Steady traffic after the largest step. V8 doubles a semi-space each time the bytes that survived
  // scavenges since its last growth exceed its size, and never counts them down: a process that keeps
  // working reaches the largest semi-spaces (64 MB each here) and touches them, whatever its state.
  const largest = steps.split(',').at(-1)!;
  const steadyRuns = Array.from(
    { length: opts.quick ? 1 : 3 },
    () => child([], process.env, largest, CHILD, STEADY_BATCHES).at(-1)!,
  );
  const steady = {
    ...steadyRuns[0]!,
    rssMB: median(steadyRuns.map((p) => p.rssMB)),
    heapMB: median(steadyRuns.map((p) => p.heapMB)),
  };
  const steadyCapped = child(
    [`--max-semi-space-size=${SEMI_SPACE_MB}`],
    process.env,
    largest,
    CHILD,
    STEADY_BATCHES,
  ).at(-1)!;
  const rows: BenchRow[] = points.map((p) => ({
    case: `${p.pods.toLocaleString('en-US')} pods`,
    values: {
      'metric series': p.series,
      'open incidents': p.incidents,
      'RSS MB': p.rssMB,
      'heap MB': p.heapMB,
    },
  }));
  rows.push({
    case: `${capped.pods.toLocaleString('en-US')} pods, --max-semi-space-size=${SEMI_SPACE_MB}`,
    values: {
      'metric series': capped.series,
      'open incidents': capped.incidents,
      'RSS MB': capped.rssMB,
      'heap MB': capped.heapMB,
    },
  });
  rows.push({
    case: `${cached.pods.toLocaleString('en-US')} pods, modules from a warm compile cache (as bin/kubetriage.js loads them)`,
    values: {
      'metric series': cached.series,
      'open incidents': cached.incidents,
      'RSS MB': cached.rssMB,
      'heap MB': cached.heapMB,
    },
  });
  rows.push({
    case: `${emitted.pods.toLocaleString('en-US')} pods, emitted JavaScript (scripts/build-js.ts, as the image runs it)`,
    values: {
      'metric series': emitted.series,
      'open incidents': emitted.incidents,
      'RSS MB': emitted.rssMB,
      'heap MB': emitted.heapMB,
    },
  });
  for (const [p, label] of [
    [steady, `Node defaults (median of ${steadyRuns.length})`],
    [steadyCapped, `--max-semi-space-size=${SEMI_SPACE_MB}`],
  ] as const)
    rows.push({
      case: `${p.pods.toLocaleString('en-US')} pods, then ${(STEADY_BATCHES * 50).toLocaleString('en-US')} event updates (steady traffic), ${label}`,
      values: {
        'metric series': p.series,
        'open incidents': p.incidents,
        'RSS MB': p.rssMB,
        'heap MB': p.heapMB,
      },
    });
  opts.log(
    `memory after steady traffic: RSS ${steady.rssMB} MB (defaults), ${steadyCapped.rssMB} MB (--max-semi-space-size=${SEMI_SPACE_MB})`,
  );
  opts.log(
    `memory from emitted JavaScript (as the image runs it): RSS ${emitted.rssMB} MB, heap ${emitted.heapMB} MB`,
  );
  opts.log(
    `memory with --max-semi-space-size=${SEMI_SPACE_MB}: RSS ${capped.rssMB} MB, heap ${capped.heapMB} MB`,
  );
  opts.log(`memory with a warm compile cache: RSS ${cached.rssMB} MB, heap ${cached.heapMB} MB`);
  for (const p of points)
    opts.log(
      `memory ${p.pods} pods, ${p.series} series, ${p.incidents} incidents: RSS ${p.rssMB} MB, heap ${p.heapMB} MB`,
    );
  const chart: Chart = {
    title: 'Memory after GC vs tracked pods (10 series per pod, one incident per pod)',
    unit: 'MB',
    groups: points.map((p) => ({ label: `${p.pods / 1000}k pods`, bars: { RSS: p.rssMB, heap: p.heapMB } })),
  };
  const last = points.at(-1)!;
  const first = points[0]!;
  const perPodKB =
    Math.round((((last.heapMB - first.heapMB) * 1000) / Math.max(1, last.pods - first.pods)) * 10) / 10;
  return {
    name: 'memory',
    title: 'Memory vs tracked state',
    method:
      "A fresh process feeds real OTLP records: per pod one Deployment, ten containers each reporting k8s.container.restarts (ten anomaly series) and one Warning event (one open incident). After each step: three full GCs, then RSS and heap used; the first rows are the median of 5 fresh processes per step. The slope is the cost per pod of series, dedup entries and incident state. The last row repeats the largest step with the young generation capped (--max-semi-space-size, in MB per semi-space): most of the RSS above the heap is young-generation space V8 keeps committed after GC. The row after it repeats the largest step at Node's defaults with the modules loaded from a warm compile cache (NODE_COMPILE_CACHE), as bin/kubetriage.js loads them: then Node never loads its TypeScript stripper (WebAssembly), which the other rows carry. The row after it runs the same child as JavaScript emitted by scripts/build-js.ts next to the product's emitted modules, as the image runs them (no stripper, no compile cache). The last two rows then feed 100k updates of known Warning events (no new state): V8 grows a semi-space whenever the bytes surviving scavenges since its last growth exceed its size and never counts them down, so a process that keeps working reaches the largest young generation (2 × 64 MB here) and its RSS rises by most of it; --max-semi-space-size bounds that. The target reads the 10,000-pod row of the first rows (Node defaults, TypeScript sources, no cache), the least favourable.",
    reproduce: `[NODE_COMPILE_CACHE=DIR] node --expose-gc [--max-semi-space-size=${SEMI_SPACE_MB}] bench/lib/memory-child.ts ${steps} [${STEADY_BATCHES} (steady batches)]; emitted: node bench/memory.ts builds dist/, then node --expose-gc dist/bench/lib/memory-child.js ${steps}`,
    columns: ['metric series', 'open incidents', 'RSS MB', 'heap MB'],
    rows,
    headline: {
      rssMBAt10kPods: last.rssMB,
      heapMBAt10kPods: last.heapMB,
      heapKBPerPod: perPodKB,
      rssMBAt10kPodsSemiSpaceCapped: capped.rssMB,
      rssMBAt10kPodsCompileCacheWarm: cached.rssMB,
      rssMBAt10kPodsEmittedJavaScript: emitted.rssMB,
      rssMBAt10kPodsSteadyTraffic: steady.rssMB,
      rssMBAt10kPodsSteadyTrafficSemiSpaceCapped: steadyCapped.rssMB,
    },
    targets: [
      {
        target: 'under 300 MB RSS with 100k tracked series and 10k pods',
        met: last.series >= 100_000 && last.rssMB < 300,
        detail: `${last.rssMB} MB RSS (median of ${rounds}, min ${Math.min(...lastRss)}, max ${Math.max(...lastRss)}) with ${last.series.toLocaleString('en-US')} series, ${last.pods.toLocaleString('en-US')} pods, ${last.incidents.toLocaleString('en-US')} open incidents (Node defaults; ${capped.rssMB} MB with --max-semi-space-size=${SEMI_SPACE_MB}; ${cached.rssMB} MB with the modules from a warm compile cache, as bin/kubetriage.js loads them; ${emitted.rssMB} MB from emitted JavaScript, as the image runs it; after 100k further event updates ${steady.rssMB} MB at Node's defaults, ${steadyCapped.rssMB} MB with --max-semi-space-size=${SEMI_SPACE_MB})`,
      },
    ],
    charts: [chart],
  };
}

await runAlone(import.meta.url, run);
