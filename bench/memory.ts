// Memory benchmark: RSS and heap (after a full GC) as the tracked state grows — pods, metric series
// and open incidents — measured in a fresh child process, as a growth curve.
// Run alone: node bench/memory.ts [--quick]
import { execFileSync } from 'node:child_process';
import type { BenchOptions, BenchResult, BenchRow, Chart } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

const CHILD = new URL('./lib/memory-child.ts', import.meta.url).pathname;

interface Point {
  pods: number;
  series: number;
  incidents: number;
  rssMB: number;
  heapMB: number;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const steps = opts.quick ? '1000,5000,10000' : '1000,2500,5000,7500,10000';
  const out = execFileSync(process.execPath, ['--expose-gc', CHILD, steps], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const points = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Point);
  const rows: BenchRow[] = points.map((p) => ({
    case: `${p.pods.toLocaleString('en-US')} pods`,
    values: {
      'metric series': p.series,
      'open incidents': p.incidents,
      'RSS MB': p.rssMB,
      'heap MB': p.heapMB,
    },
  }));
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
      'A fresh process feeds real OTLP records: per pod one Deployment, ten containers each reporting k8s.container.restarts (ten anomaly series) and one Warning event (one open incident). After each step: three full GCs, then RSS and heap used. The slope is the cost per pod of series, dedup entries and incident state.',
    reproduce: `node --expose-gc bench/lib/memory-child.ts ${steps}`,
    columns: ['metric series', 'open incidents', 'RSS MB', 'heap MB'],
    rows,
    headline: { rssMBAt10kPods: last.rssMB, heapMBAt10kPods: last.heapMB, heapKBPerPod: perPodKB },
    targets: [
      {
        target: 'under 300 MB RSS with 100k tracked series and 10k pods',
        met: last.series >= 100_000 && last.rssMB < 300,
        detail: `${last.rssMB} MB RSS with ${last.series.toLocaleString('en-US')} series, ${last.pods.toLocaleString('en-US')} pods, ${last.incidents.toLocaleString('en-US')} open incidents`,
      },
    ],
    charts: [chart],
  };
}

await runAlone(import.meta.url, run);
