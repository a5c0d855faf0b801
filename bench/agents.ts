// Agents benchmark: the triage chain per incident. Rules engine latency always; with
// `--ollama URL [--model NAME]`, the LLM chain's latency, prompt and output tokens per incident and the
// derived sizing of a GPU host. Contexts: the latest revision of every incident the real pipeline
// raises from the scenario library (when present) and the bundled example capture.
// Run alone: node bench/agents.ts [--quick] [--ollama http://host:11434] [--model llama3.1:8b]
import { TriageChain } from '../src/agents/chain.ts';
import { validateConfig } from '../src/core/config.ts';
import type { CapturedRecord } from '../src/stream/capture.ts';
import type { IncidentContextDoc } from '../src/stream/incidents/document.ts';
import { replay } from '../src/stream/replay.ts';
import { NamePatternResolver } from '../src/stream/workload.ts';
import type { BenchOptions, BenchResult, BenchRow } from './lib/result.ts';
import { runAlone } from './lib/standalone.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function latestContexts(): Promise<{ source: string; docs: IncidentContextDoc[] }[]> {
  const config = validateConfig({});
  const inputs: { source: string; input: string | CapturedRecord[] }[] = [
    {
      source: 'examples/checkout-rollout',
      input: new URL('../examples/checkout-rollout.ndjson', import.meta.url).pathname,
    },
  ];
  try {
    const lib = (await import('../src/sim/scenarios/index.ts')) as {
      listScenarios(): { name: string }[];
      getScenario(name: string): { records(o?: { seed?: number }): CapturedRecord[] };
    };
    for (const s of lib.listScenarios())
      inputs.push({ source: `scenario ${s.name}`, input: lib.getScenario(s.name).records({ seed: 1 }) });
  } catch {
    // The scenario library is optional for this benchmark.
  }
  const out: { source: string; docs: IncidentContextDoc[] }[] = [];
  for (const i of inputs) {
    const latest = new Map<string, IncidentContextDoc>();
    await replay({
      input: i.input,
      config,
      resolver: new NamePatternResolver(),
      onContext: (d) => latest.set(d.id, d),
    });
    out.push({ source: i.source, docs: [...latest.values()] });
  }
  return out;
}

function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const sets = await latestContexts();
  const all = sets.flatMap((s) => s.docs);
  const config = validateConfig({});
  const chain = new TriageChain({ config: config.agents });
  const iterations = opts.quick ? 200 : 2000;
  for (let i = 0; i < 50; i++) for (const d of all) chain.rules(d);
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    for (const d of all) {
      const t = performance.now();
      chain.rules(d);
      ms.push(performance.now() - t);
    }
  }
  ms.sort((a, b) => a - b);
  const rows: BenchRow[] = [
    {
      case: `rules, ${all.length} incidents × ${iterations}`,
      values: {
        'p50 ms': r3(pct(ms, 0.5)),
        'p95 ms': r3(pct(ms, 0.95)),
        'max ms': r3(ms.at(-1) ?? 0),
        'incidents/s per core': Math.round(1000 / pct(ms, 0.5)),
      },
    },
  ];
  opts.log(
    `agents rules: p50 ${r3(pct(ms, 0.5))} ms, p95 ${r3(pct(ms, 0.95))} ms, max ${r3(ms.at(-1) ?? 0)} ms over ${all.length} incidents`,
  );
  const headline: Record<string, number> = { rulesP95Ms: r3(pct(ms, 0.95)), rulesMaxMs: r3(ms.at(-1) ?? 0) };
  const targets = [
    {
      target: 'rules triage report within 50 ms per incident',
      met: (ms.at(-1) ?? 0) < 50,
      detail: `slowest ${r3(ms.at(-1) ?? 0)} ms`,
    },
  ];

  const url = arg('--ollama');
  if (url) {
    const model = arg('--model') ?? config.agents.llm.model;
    let promptTokens = 0;
    let outputTokens = 0;
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const text = await res.text();
      try {
        const j = JSON.parse(text) as { prompt_eval_count?: number; eval_count?: number };
        promptTokens += j.prompt_eval_count ?? 0;
        outputTokens += j.eval_count ?? 0;
      } catch {
        // Not JSON: the chain classifies it; nothing to count.
      }
      return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
    const llmConfig = { ...config.agents, llm: { ...config.agents.llm, url, model } };
    const lat: number[] = [];
    let llmReports = 0;
    for (const d of all) {
      // A fresh chain per incident: no cache, no breaker state carried over.
      const c = new TriageChain({ config: llmConfig, fetch: counting });
      const t = performance.now();
      const rep = await c.triage(d);
      lat.push(performance.now() - t);
      if (rep.engine !== 'rules') llmReports++;
    }
    lat.sort((a, b) => a - b);
    const p95s = pct(lat, 0.95) / 1000;
    const perMin = 60 / p95s;
    rows.push({
      case: `llm:${model}, ${all.length} incidents`,
      values: {
        'p50 ms': Math.round(pct(lat, 0.5)),
        'p95 ms': Math.round(pct(lat, 0.95)),
        'max ms': Math.round(lat.at(-1) ?? 0),
        'prompt tokens / incident': Math.round(promptTokens / all.length),
        'output tokens / incident': Math.round(outputTokens / all.length),
        'reports from the model': llmReports,
        'incidents/min per host (1 slot)': Math.round(perMin * 10) / 10,
      },
    });
    headline.llmP95Ms = Math.round(pct(lat, 0.95));
    headline.llmPromptTokens = Math.round(promptTokens / all.length);
    opts.log(
      `agents llm:${model}: one host handles about ${perMin.toFixed(1)} incidents/min at p95 ≤ ${p95s.toFixed(1)} s per incident (one parallel slot)`,
    );
  }
  return {
    name: 'agents',
    title: 'Agents: triage chain per incident',
    method: `Latest context of every incident the pipeline raises from ${sets.map((s) => s.source).join(', ')}. Rules: chain.rules() timed per call after a JIT warm-up. LLM (with --ollama): a fresh chain per incident (no cache), three bounded calls (triage, diagnosis, executor); tokens from Ollama's prompt_eval_count and eval_count. Sizing: incidents per minute = 60 / p95 seconds per incident, per parallel slot of the Ollama server.`,
    reproduce: 'node bench/agents.ts [--ollama http://HOST:11434 --model MODEL]',
    columns: [
      'p50 ms',
      'p95 ms',
      'max ms',
      'incidents/s per core',
      'prompt tokens / incident',
      'output tokens / incident',
      'reports from the model',
      'incidents/min per host (1 slot)',
    ],
    rows,
    headline,
    targets,
    charts: [],
  };
}

function r3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

await runAlone(import.meta.url, run);
