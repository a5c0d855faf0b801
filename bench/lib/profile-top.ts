// Top frames of a V8 CPU profile (self time) and of a sampling heap profile (bytes allocated, self),
// aggregated by function and source line, for the report's "where time goes" tables.
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface TopFrame {
  frame: string;
  /** Share of the total (0..1). */
  share: number;
  /** Self milliseconds (CPU) or self bytes (allocation). */
  value: number;
}

const ROOT = new URL('../../', import.meta.url).pathname;

function label(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const path = f.url.startsWith('file://') ? relative(ROOT, new URL(f.url).pathname) : f.url;
  return `${name} ${path}:${f.lineNumber + 1}`;
}

function top(totals: Map<string, number>, n: number): TopFrame[] {
  const sum = [...totals.values()].reduce((a, b) => a + b, 0) || 1;
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([frame, value]) => ({ frame, value, share: value / sum }));
}

export function topCpuFrames(
  profile: {
    nodes: { id: number; callFrame: CallFrame }[];
    samples: number[];
    timeDeltas: number[];
  },
  n = 15,
): TopFrame[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, label(x.callFrame)]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const k = byId.get(id) ?? '?';
    // Idle is the thread waiting, not working: left out so the shares are of the work.
    if (k === '(idle)') return;
    totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return top(totals, n);
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

export function topAllocFrames(profile: { head: HeapNode }, n = 15): TopFrame[] {
  const totals = new Map<string, number>();
  const stack = [profile.head];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.selfSize > 0) {
      const k = label(node.callFrame);
      totals.set(k, (totals.get(k) ?? 0) + node.selfSize);
    }
    stack.push(...node.children);
  }
  return top(totals, n);
}

export function framesMarkdown(title: string, unit: string, frames: TopFrame[]): string {
  const rows = frames.map(
    (f) =>
      `| ${(f.share * 100).toFixed(1)}% | ${Math.round(f.value).toLocaleString('en-US')} | \`${f.frame.replace(/\|/g, '\\|')}\` |`,
  );
  return [`**${title}**`, '', `| self share | ${unit} | frame |`, '|---:|---:|---|', ...rows].join('\n');
}
