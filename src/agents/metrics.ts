// The agent stage's metrics. Without a registry (replay, eval, demo, tests) nothing could read them,
// so they are no-ops and prom-client is not loaded (src/core/prom-client.ts: ~60 ms of start-up).
import type { Registry } from 'prom-client';
import { promClient } from '../core/prom-client.ts';

/** What the chain does with its metrics. */
export interface AgentMetrics {
  latency: { observe(labels: { agent: string; engine: string }, seconds: number): void };
  llmCalls: { inc(labels: { agent: string }): void };
  llmFailures: { inc(labels: { agent: string; kind: string }): void };
  cache: { inc(labels: { result: string }): void };
  reports: { inc(labels: { engine: string; severity: string }): void };
  timeToFirstTriage: { observe(seconds: number): void };
}

const NOOP = { inc() {}, observe() {} };
const UNEXPORTED: AgentMetrics = {
  latency: NOOP,
  llmCalls: NOOP,
  llmFailures: NOOP,
  cache: NOOP,
  reports: NOOP,
  timeToFirstTriage: NOOP,
};

export function agentMetrics(registry?: Registry): AgentMetrics {
  if (!registry) return UNEXPORTED;
  const { Counter, Histogram } = promClient();
  const registers = [registry];
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
