// Turns benchmark results into the report: a JSON file, a Markdown page and one SVG chart per chart.
import { cpus, totalmem } from 'node:os';
import type { BenchResult, Chart, Target } from './result.ts';

export function markdownTable(r: BenchResult): string {
  const head = `| case | ${r.columns.join(' | ')} |`;
  const sep = `|---|${r.columns.map(() => '---:').join('|')}|`;
  const lines = r.rows.map(
    (row) => `| ${row.case} | ${r.columns.map((c) => cell(row.values[c])).join(' | ')} |`,
  );
  return [head, sep, ...lines].join('\n');
}

function cell(v: number | string | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return Number.isInteger(v) ? v.toLocaleString('en-US') : String(v);
}

export function machine(): Record<string, string | number> {
  const c = cpus();
  return {
    node: process.version,
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
  };
}

const COLORS = ['#2f6fdf', '#e0812f', '#3aa655', '#9b59b6', '#c0392b', '#7f8c8d'];

/** A grouped bar chart as standalone SVG (no dependencies; log scale when values span > 50×). */
export function svgChart(chart: Chart): string {
  const series = [...new Set(chart.groups.flatMap((g) => Object.keys(g.bars)))];
  const values = chart.groups.flatMap((g) => Object.values(g.bars)).filter((v) => v > 0);
  const max = Math.max(...values, 1);
  const min = Math.min(...values, max);
  const log = max / min > 50;
  const scale = (v: number) =>
    v <= 0 ? 0 : log ? Math.log10(v / (min / 2)) / Math.log10(max / (min / 2)) : v / max;
  const W = 760;
  const H = 300;
  const left = 60;
  const top = 40;
  const plotH = H - top - 60;
  const groupW = (W - left - 20) / Math.max(1, chart.groups.length);
  const barW = Math.min(40, (groupW - 20) / Math.max(1, series.length));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(chart.title)}${log ? ' (log scale)' : ''}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${W - 10}" y2="${top + plotH}" stroke="#333"/>`,
  ];
  chart.groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + 10;
    series.forEach((s, si) => {
      const v = g.bars[s] ?? 0;
      const h = scale(v) * plotH;
      const x = x0 + si * barW;
      out.push(
        `<rect x="${x}" y="${top + plotH - h}" width="${barW - 2}" height="${h}" fill="${COLORS[si % COLORS.length]}"><title>${esc(s)}: ${short(v)} ${esc(chart.unit)}</title></rect>`,
      );
      out.push(
        `<text x="${x + barW / 2 - 1}" y="${top + plotH - h - 3}" text-anchor="middle" font-size="9">${short(v)}</text>`,
      );
    });
    out.push(
      `<text x="${x0 + (series.length * barW) / 2}" y="${top + plotH + 15}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  series.forEach((s, si) => {
    const x = left + si * 170;
    out.push(`<rect x="${x}" y="${H - 25}" width="10" height="10" fill="${COLORS[si % COLORS.length]}"/>`);
    out.push(`<text x="${x + 14}" y="${H - 16}">${esc(s)}</text>`);
  });
  out.push(
    `<text x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(chart.unit)}</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}

function short(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The targets as a table. Quick mode measures too few records and rounds to judge by (its logs ratio
 * against the Collector read 1.12 on a day the full run read 0.57): it is labelled indicative and
 * gives no verdict.
 */
export function targetsMarkdown(results: BenchResult[], quick: boolean): string[] {
  const targets = results.flatMap((r) => r.targets);
  if (targets.length === 0) return ['No targets in the benchmarks run.'];
  const head = quick
    ? [
        '**Quick mode: indicative only, no verdicts** (fewer records and shorter rounds; run `npm run bench` for verdicts).',
        '',
        '| target | goal | measured median | min | max | rounds |',
        '|---|---|---:|---:|---:|---:|',
      ]
    : [
        '| verdict | target | goal | measured median | min | max | rounds |',
        '|---|---|---|---:|---:|---:|---:|',
      ];
  const lines = targets.map((t) => {
    const m = t.measured;
    const nums = m ? [num(m.median), num(m.min), num(m.max), String(m.rounds)] : [t.detail, '', '', ''];
    const row = [t.target, t.goal ?? '', ...nums];
    return `| ${quick ? '' : `${t.met ? '✅ pass' : '❌ fail'} | `}${row.join(' | ')} |`;
  });
  const details = targets.map((t) => `- ${t.target}: ${t.detail}`);
  return [...head, ...lines, '', ...details];
}

/** One line per target for the console; verdicts only in full mode. */
export function targetLine(t: Target, quick: boolean): string {
  const m = t.measured;
  const fig = m ? `${num(m.median)} (min ${num(m.min)}, max ${num(m.max)}, n=${m.rounds})` : t.detail;
  const goal = t.goal ? ` [goal ${t.goal}]` : '';
  return quick
    ? `- indicative ${t.target}${goal}: ${fig}`
    : `- ${t.met ? 'PASS' : 'FAIL'} ${t.target}${goal}: ${fig}${m ? ` — ${t.detail}` : ''}`;
}

function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return String(Math.round(n * 1000) / 1000);
}

/** Before/after for every headline figure both runs have (the old run's JSON is `compareWith`). */
export function beforeAfterMarkdown(
  old: { date?: string; command?: string; results: BenchResult[] },
  now: BenchResult[],
  lowerIsBetter: RegExp,
): string[] {
  const out = [
    `Before: \`${old.command ?? '?'}\` (${old.date ?? '?'}); after: this report. Ratio = after / before; "better" reads the direction of each figure.`,
    '',
    '| figure | before | after | after / before | |',
    '|---|---:|---:|---:|---|',
  ];
  for (const r of now) {
    const o = old.results.find((x) => x.name === r.name);
    if (!o) continue;
    for (const [k, v] of Object.entries(r.headline)) {
      const before = o.headline[k];
      if (before === undefined || before === 0) continue;
      const ratio = v / before;
      const better = lowerIsBetter.test(k) ? ratio < 1 : ratio > 1;
      const same = Math.abs(ratio - 1) < 0.05;
      out.push(
        `| ${r.name}.${k} | ${num(before)} | ${num(v)} | ${ratio.toFixed(2)}× | ${same ? 'within 5%' : better ? 'better' : 'worse'} |`,
      );
    }
  }
  return out;
}

export function markdownReport(
  results: BenchResult[],
  meta: Record<string, unknown>,
  chartFiles: Map<Chart, string>,
  beforeAfter?: string[],
): string {
  const m = meta.machine as Record<string, unknown>;
  const parts = [
    `# kubetriage benchmark report — ${meta.date}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}. Mode: ${meta.quick ? 'quick' : 'full'}. Command: \`${meta.command}\`.`,
    '',
    '## Targets',
    '',
    ...targetsMarkdown(results, meta.quick === true),
    ...(beforeAfter ? ['', '## Before / after', '', ...beforeAfter] : []),
  ];
  for (const r of results) {
    parts.push(
      '',
      `## ${r.title}`,
      '',
      r.method,
      '',
      `Reproduce: \`${r.reproduce}\``,
      '',
      markdownTable(r),
      '',
    );
    for (const c of r.charts) {
      const f = chartFiles.get(c);
      if (f) parts.push(`![${c.title}](${f})`, '');
    }
    for (const n of r.notes ?? []) parts.push(n, '');
    const files = Object.keys(r.files ?? {});
    if (files.length > 0)
      parts.push(
        `Saved with this report: ${files.map((k) => `[${k}](${meta.date}-${r.name}-${k})`).join(', ')} (open .cpuprofile/.heapprofile in Chrome DevTools or speedscope).`,
        '',
      );
  }
  return parts.join('\n');
}
