// Whole-process replay benchmark (issue 18): `kubetriage replay` of a 100k-record Kubernetes-event
// capture against a process that merely decodes the same bytes with protobufjs reflection.
// Both sides are separate Node processes reading the same capture file; CPU = the process's own
// user+system time from start to exit (process.cpuUsage() at exit, start-up included), rounds
// interleaved, median/min/max of the rounds.
// Run alone: node bench/replay.ts [--quick] [--rounds N] [--keep FILE] [--kubetriage DIR]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCaptureLine } from '../src/stream/capture.ts';
import { logsStream } from './lib/fixtures.ts';
import { MIN_ROUNDS, spread as stats } from './lib/measure.ts';
import type { BenchOptions, BenchResult, BenchRow } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CPU_AT_EXIT = join(ROOT, 'bench/lib/cpu-at-exit.ts');
const PBJS_DECODE = join(ROOT, 'bench/lib/pbjs-decode-capture.ts');

/** 100 Kafka records × 1000 log records (90% k8s events, half of them re-deliveries), 3 partitions. */
export function writeEventCapture(file: string, batches = 100): number {
  const values = logsStream(batches, 1000, 0.5, 11);
  const t0 = Date.UTC(2026, 10, 28, 10, 0, 0);
  const lines = values.map((value, i) =>
    formatCaptureLine({
      topic: 'otlp_logs',
      partition: i % 3,
      offset: Math.floor(i / 3),
      timestamp: t0 + i * 1000,
      key: null,
      headers: {},
      value,
    }),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
  return batches * 1000;
}

/** CPU seconds of one child process, from its own getrusage at exit (bench/lib/cpu-at-exit.ts). */
function cpuOf(args: string[], cwd: string): number {
  const r = spawnSync(process.execPath, ['--import', CPU_AT_EXIT, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const m = /cpu-at-exit ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`no CPU figure from ${args.join(' ')}: ${r.stderr}`);
  return Number(m[1]);
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const argv = process.argv;
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const rounds = Math.max(MIN_ROUNDS, Number(at('--rounds') ?? MIN_ROUNDS));
  // --kubetriage DIR: time another checkout's bin/kubetriage.js (before/after on the same capture).
  const other = at('--kubetriage');
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-replay-bench-'));
  const file = at('--keep') ?? join(dir, 'events.ndjson');
  try {
    const records = writeEventCapture(file, opts.quick ? 30 : 100);
    const cands: Record<string, { cwd: string; args: string[] }> = {
      'kubetriage replay': {
        cwd: ROOT,
        args: ['bin/kubetriage.js', 'replay', '-i', file, '-o', '/dev/null'],
      },
      'protobufjs decode-only': { cwd: ROOT, args: [PBJS_DECODE, file] },
    };
    if (other)
      cands[`replay (${other})`] = {
        cwd: other,
        args: [join(other, 'bin/kubetriage.js'), 'replay', '-i', file, '-o', '/dev/null'],
      };
    const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(cands).map((n) => [n, []]));
    for (let r = 0; r < rounds; r++)
      for (const [name, c] of Object.entries(cands)) {
        cpu[name]!.push(cpuOf(c.args, c.cwd));
        opts.log(`replay round ${r + 1}: ${name} ${cpu[name]!.at(-1)!.toFixed(3)} CPU-s`);
      }
    const rows: BenchRow[] = [];
    const pbjs = cpu['protobufjs decode-only']!;
    for (const [name, xs] of Object.entries(cpu)) {
      const s = stats(xs);
      // Ratio per round (same round, adjacent runs) so drift between rounds cancels out.
      const ratios = stats(xs.map((x, i) => pbjs[i]! / x));
      rows.push({
        case: name,
        values: {
          records,
          'CPU-s median': round(s.median, 3),
          'CPU-s min': round(s.min, 3),
          'CPU-s max': round(s.max, 3),
          'records / CPU-s': Math.round(records / s.median),
          'vs protobufjs (median)': round(ratios.median, 2),
          'vs protobufjs (min)': round(ratios.min, 2),
          'vs protobufjs (max)': round(ratios.max, 2),
        },
      });
    }
    const vs = Number(rows[0]!.values['vs protobufjs (median)']);
    const vsSpread = stats(cpu['kubetriage replay']!.map((x, i) => pbjs[i]! / x));
    return {
      name: 'replay',
      title: 'Whole-process replay vs protobufjs decode-only',
      method: `A capture of ${records / 1000} Kafka records × 1000 log records (k8s events with 10% application logs, half the events re-deliveries) is replayed by \`kubetriage replay -o /dev/null\` (decode, normalise, dedup, group, contexts, triage reports, redaction) and, in a separate process, read line by line and decoded with protobufjs reflection only. CPU = each process's own user+system time to exit (start-up included); ${rounds} interleaved rounds, median with min and max; the ratio is taken per round.`,
      reproduce: 'node bench/replay.ts',
      columns: [
        'records',
        'CPU-s median',
        'CPU-s min',
        'CPU-s max',
        'records / CPU-s',
        'vs protobufjs (median)',
        'vs protobufjs (min)',
        'vs protobufjs (max)',
      ],
      rows,
      headline: { 'replay.vsProtobufjs': vs },
      targets: [
        {
          target: 'whole-process replay ≥ 1.0× protobufjs decode-only of the same bytes',
          met: !opts.quick && vs >= 1,
          detail: `${vs}×${opts.quick ? ' (quick: indicative)' : ''}`,
          goal: '≥ 1.0×',
          measured: vsSpread,
        },
      ],
      charts: [],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(n: number, d: number): number {
  const f = 10 ** d;
  return Math.round(n * f) / f;
}

await runAlone(import.meta.url, run);
