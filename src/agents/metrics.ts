// The agent stage's metrics. Without a registry (replay, tests) they are kept but not exported.
import { Counter, Histogram, type Registry } from 'prom-client';

export function agentMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    latency: new Histogram({
      name: 'kubetriage_agent_latency_seconds',
      help: 'Time each agent took per report, by agent and the engine whose result was used (rules or llm)',
      labelNames: ['agent', 'engine'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    llmCalls: new Counter({
      name: 'kubetriage_llm_calls_total',
      help: 'Requests sent to the model endpoint, by agent',
      labelNames: ['agent'],
      registers,
    }),
    llmFailures: new Counter({
      name: 'kubetriage_llm_failures_total',
      help: 'Model answers not used (the rules result stood), by agent and failure kind',
      labelNames: ['agent', 'kind'],
      registers,
    }),
    cache: new Counter({
      name: 'kubetriage_triage_cache_total',
      help: 'Triage report cache lookups by (incident, revision, context hash), by result (hit, miss)',
      labelNames: ['result'],
      registers,
    }),
    reports: new Counter({
      name: 'kubetriage_triage_reports_total',
      help: 'Triage reports produced, by engine (rules, llm) and severity',
      labelNames: ['engine', 'severity'],
      registers,
    }),
    timeToFirstTriage: new Histogram({
      name: 'kubetriage_time_to_first_triage_seconds',
      help: "Time to understanding, step 2: an incident's first signal to its first triage report",
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
  };
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;
