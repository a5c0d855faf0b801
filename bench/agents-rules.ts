// Rules-engine latency per incident: the claim is "a triage report within 50 ms per incident with no
// model at all". Reproduce: `node bench/agents-rules.ts [--iterations N]` (Node 24, from the repo root).
// Contexts: every revision the real pipeline emits for examples/checkout-rollout.ndjson, plus that
// incident padded to the evidence cap (grouping.maxEvidence = 50), the worst case the chain sees.
import { performance } from 'node:perf_hooks';
import { TriageChain } from '../src/agents/chain.ts';
import { validateConfig } from '../src/core/config.ts';
import type { IncidentContextDoc } from '../src/stream/incidents/document.ts';
import { replay } from '../src/stream/replay.ts';
import { NamePatternResolver } from '../src/stream/workload.ts';

const iterations = Number(process.argv[process.argv.indexOf('--iterations') + 1]) || 2000;
const config = validateConfig({});
const docs: IncidentContextDoc[] = [];
await replay({
  input: new URL('../examples/checkout-rollout.ndjson', import.meta.url).pathname,
  config,
  resolver: new NamePatternResolver(),
  onContext: (d) => docs.push(d),
});
const last = docs.at(-1)!;
const padded = structuredClone(last);
for (let i = 0; padded.evidence.length < config.grouping.maxEvidence; i++) {
  const src = last.evidence[i % last.evidence.length]!;
  padded.evidence.push({
    ...structuredClone(src),
    id: `ev-${(0xb000000000 + i).toString(16).padStart(12, '0')}`,
    key: `${src.key}#${i}`,
  });
}
padded.revision += 1;

function measure(name: string, set: IncidentContextDoc[]) {
  const chain = new TriageChain({ config: config.agents });
  for (let i = 0; i < 200; i++) for (const d of set) chain.rules(d); // warm-up (JIT)
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++)
    for (const d of set) {
      const t = performance.now();
      chain.rules(d);
      ms.push(performance.now() - t);
    }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))]!.toFixed(3);
  process.stdout.write(
    `| ${name} | ${set.length} | ${Math.max(...set.map((d) => d.evidence.length))} | ${q(0.5)} | ${q(0.99)} | ${ms.at(-1)!.toFixed(3)} |\n`,
  );
  return ms.at(-1)!;
}

process.stdout.write(`rules engine, ${iterations} iterations per context, node ${process.version}\n\n`);
process.stdout.write(
  '| contexts | n | evidence (max) | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n',
);
const worst = Math.max(
  measure('checkout-rollout revisions', docs),
  measure('padded to 50 evidence items', [padded]),
);
process.stdout.write(
  `\n${worst < 50 ? 'met' : 'NOT met'}: every report within 50 ms (slowest ${worst.toFixed(3)} ms)\n`,
);
process.stdout.write('reproduce: node bench/agents-rules.ts --iterations 2000\n');
