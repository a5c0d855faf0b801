// The test command's reporter: node's `spec` output unchanged, plus, just before node's own summary
// lines, how many tests ran against each real part (Kafka, kube-apiserver, Collector, Ollama, Alertmanager), so a run
// that did not exercise one says so instead of passing quietly.
//
// A test belongs to a part when its file uses that part's harness, directly or through a local helper
// it imports (test/exec/kube-world.ts → test/harness/kube-apiserver.ts); file-level, from the imports.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { spec as Spec } from 'node:test/reporters';

const ROOT = resolve(import.meta.dirname ?? dirname(new URL(import.meta.url).pathname), '..');

export const PARTS: { name: string; uses: RegExp }[] = [
  { name: 'Kafka', uses: /test\/helpers\/kafka\.ts$|test\/harness\/kafka-broker\.ts$/ },
  { name: 'kube-apiserver', uses: /test\/harness\/kube-apiserver\.ts$/ },
  { name: 'Collector', uses: /test\/harness\/otelcol\.ts$/ },
  { name: 'Ollama', uses: /test\/harness\/ollama\.ts$/ },
  { name: 'Alertmanager', uses: /test\/harness\/alertmanager\.ts$/ },
  { name: 'Chromium', uses: /test\/harness\/browser\.ts$/ },
];

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const partsMemo = new Map<string, Set<string>>();

/** The parts a test file uses, following its relative imports under test/ (cycles are fine). */
export function partsOf(file: string, seen = new Set<string>()): Set<string> {
  const memo = partsMemo.get(file);
  if (memo) return memo;
  const parts = new Set<string>();
  if (seen.has(file)) return parts;
  seen.add(file);
  for (const p of PARTS) if (p.uses.test(file)) parts.add(p.name);
  let source = '';
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return parts;
  }
  for (const m of source.matchAll(IMPORT)) {
    const target = resolve(dirname(file), (m[1] ?? m[2])!);
    if (!relative(ROOT, target).startsWith('test/')) continue;
    for (const p of partsOf(target, seen)) parts.add(p);
  }
  partsMemo.set(file, parts);
  return parts;
}

interface Tally {
  ran: number;
  failed: number;
  skipped: number;
  /** Declared known gaps (`todo` with its reason): shown apart from skips, which must not happen. */
  todo: number;
}

interface ReporterEvent {
  type: string;
  data: {
    file?: string;
    skip?: unknown;
    todo?: unknown;
    nesting?: number;
    message?: string;
    details?: { type?: string };
  };
}

function summary(tallies: Map<string, Tally>): string {
  const lines = PARTS.map(({ name }) => {
    const t = tallies.get(name) ?? { ran: 0, failed: 0, skipped: 0, todo: 0 };
    const flag = t.ran === 0 || t.skipped > 0 || t.failed > 0 ? '✖' : t.todo > 0 ? '⚠' : 'ℹ';
    const todo = t.todo > 0 ? `, ${t.todo} todo` : '';
    return `${flag} real part ${name}: ${t.ran} tests ran (${t.failed} failed, ${t.skipped} skipped${todo})`;
  });
  return `${lines.join('\n')}\n`;
}

export default async function* partsReporter(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string> {
  const spec = new Spec();
  const out: string[] = [];
  spec.on('data', (chunk: unknown) => out.push(String(chunk)));
  const tallies = new Map<string, Tally>();
  let summarised = false;
  for await (const ev of source) {
    const d = ev.data;
    if ((ev.type === 'test:pass' || ev.type === 'test:fail') && d.file && d.details?.type !== 'suite') {
      for (const part of partsOf(d.file)) {
        const t = tallies.get(part) ?? { ran: 0, failed: 0, skipped: 0, todo: 0 };
        if (d.todo !== undefined) t.todo++;
        else if (d.skip !== undefined) t.skipped++;
        else {
          t.ran++;
          if (ev.type === 'test:fail') t.failed++;
        }
        tallies.set(part, t);
      }
    }
    // node's own summary starts with the run-level diagnostic "tests N": ours goes just before it.
    if (
      !summarised &&
      ev.type === 'test:diagnostic' &&
      d.nesting === 0 &&
      /^tests \d+$/.test(d.message ?? '')
    ) {
      summarised = true;
      out.push(summary(tallies));
    }
    spec.write(ev);
    // Let spec's output for this event arrive before anything of ours is queued after it.
    await new Promise((r) => setImmediate(r));
    while (out.length) yield out.shift()!;
  }
  if (!summarised) out.push(summary(tallies));
  spec.end();
  await finished(spec);
  while (out.length) yield out.shift()!;
}
