// The agent chain: triage → diagnosis → executor draft, for one incident-context revision.
// The rules engine always runs and is the answer unless a model (when configured) returns something
// that passes validation; the model may re-rank and refine within what rules and policy allow, never
// widen it. Reports are cached by (incident, revision, context hash): an unchanged context is never
// judged twice, so never costs a second model call.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import type { AgentsConfig } from '../core/config.ts';
import { NO_TRACING, type TraceSpan, type Tracing } from '../core/tracing.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import { type DiagnosisResult, diagnosisRules } from './diagnosis.ts';
import { draftProposal, type ExecutorResult, executorRules } from './executor.ts';
import { type ContextFacts, contextFacts } from './facts.ts';
import { LlmEngine } from './llm/engine.ts';
import type { LlmFailureKind } from './llm/failure.ts';
import { diagnosisMessages, executorMessages, triageMessages } from './llm/messages.ts';
import { type ChatMessage, type PromptLimits, renderContext } from './llm/prompt.ts';
import { diagnosisFormat, executorFormat, triageFormat } from './llm/schemas.ts';
import { type Valid, validateDiagnosis, validateExecutor, validateTriage } from './llm/validate.ts';
import { type AgentMetrics, agentMetrics } from './metrics.ts';
import { compilePolicy, reasonFor, type ScaleCandidate, type ScalePolicy } from './policy.ts';
import { ProductionRules } from './production.ts';
import {
  type AgentName,
  type Fallback,
  type Hypothesis,
  type Proposal,
  type RedHerring,
  TRIAGE_REPORT_SCHEMA,
  type TriageReport,
} from './report.ts';
import { realTimers, type Timers } from './timers.ts';
import { type TriageResult, triageRules } from './triage.ts';

/** After these, the endpoint is slow or gone: the rest of the chain does not wait on it again. */
const SKIP_REST: ReadonlySet<LlmFailureKind> = new Set<LlmFailureKind>(['timeout', 'unreachable']);

export interface TriageChainOptions {
  /** Rules only unless `llm.url` is set. */
  config: AgentsConfig;
  registry?: Registry;
  timers?: Timers;
  /** The fetch the model client uses (the global one otherwise). */
  fetch?: typeof fetch;
  /** Spans per report, agent and model call (src/core/tracing.ts); none by default. */
  tracing?: Tracing;
}

/** What the rules engine alone concludes; the baseline every report starts from. */
interface RulesParts {
  facts: ContextFacts;
  triage: TriageResult;
  diagnosis: DiagnosisResult;
  executor: ExecutorResult;
}

interface Decision {
  triage: TriageResult;
  hypotheses: Hypothesis[];
  /** From the rules' rollout judgement: facts, kept whichever engine ranked the hypotheses. */
  redHerrings: RedHerring[];
  choice: { candidate: ScaleCandidate; toReplicas: number; reason: string } | null;
  noProposalReason: string | null;
  engines: Record<AgentName, string>;
  fallbacks: Fallback[];
}

/**
 * What the agents judge, hashed: everything except stats, provenance and timestamps. The stream re-sends
 * a revision when only those changed (a repeat adds to counts of signals and offsets); that must not
 * cost a model call or a second Slack message.
 */
export function contextHash(doc: IncidentContextDoc): string {
  const { stats: _stats, sources: _sources, sourcesTruncated: _st, timings: _timings, ...judged } = doc;
  return createHash('sha256').update(JSON.stringify(judged)).digest('hex').slice(0, 16);
}

export class TriageChain {
  readonly metrics: AgentMetrics;
  readonly #defaultTeam: string;
  readonly #production: ProductionRules;
  readonly #rolloutWindowMs: number;
  readonly #dependencyLeadMs: number;
  readonly #policy: ScalePolicy;
  readonly #limits: PromptLimits;
  readonly #llmConfig: AgentsConfig['llm'];
  readonly #llm: LlmEngine | null;
  readonly #timers: Timers;
  readonly #tracing: Tracing;
  readonly #cache: LRUCache<string, Promise<TriageReport>>;
  /** Incidents already reported once (for time to first triage); bounded like the cache. */
  readonly #seen: LRUCache<string, true>;

  constructor(opts: TriageChainOptions) {
    const c = opts.config;
    this.#defaultTeam = c.defaultTeam;
    this.#production = new ProductionRules(c);
    this.#rolloutWindowMs = c.rolloutWindow;
    this.#dependencyLeadMs = c.dependencyLead;
    this.#policy = compilePolicy(c.policy);
    this.#limits = {
      maxTextChars: c.llm.maxTextChars,
      maxEvidence: c.llm.maxEvidence,
      maxPromptChars: c.llm.maxPromptChars,
      redact: c.llm.redact,
    };
    this.#llmConfig = c.llm;
    this.#timers = opts.timers ?? realTimers;
    this.#tracing = opts.tracing ?? NO_TRACING;
    this.metrics = agentMetrics(opts.registry);
    const url = c.llm.url;
    this.#llm = url
      ? new LlmEngine(
          { ...c.llm, url },
          {
            timers: this.#timers,
            ...(opts.fetch ? { fetch: opts.fetch } : {}),
            onCall: (agent) => this.metrics.llmCalls.inc({ agent }),
          },
        )
      : null;
    this.#cache = new LRUCache({ max: c.cacheEntries });
    this.#seen = new LRUCache({ max: c.cacheEntries });
  }

  /** The model engine (breaker state, in-flight calls), or null when rules only. */
  get llm(): LlmEngine | null {
    return this.#llm;
  }

  /** The report for this context revision; computed once per (incident, revision, context hash). */
  triage(doc: IncidentContextDoc): Promise<TriageReport> {
    const key = `${doc.id}|${doc.revision}|${contextHash(doc)}`;
    const hit = this.#cache.get(key);
    if (hit) {
      this.metrics.cache.inc({ result: 'hit' });
      return hit;
    }
    this.metrics.cache.inc({ result: 'miss' });
    const span = this.#tracing.span('kubetriage.triage', doc.id, {
      'kubetriage.incident.revision': doc.revision,
      'kubetriage.incident.status': doc.status,
    });
    const p = this.#judge(doc, span).then((report) => {
      span.set({
        'kubetriage.report.engine': report.engine,
        'kubetriage.report.severity': report.severity,
        'kubetriage.report.fallbacks': report.fallbacks.length,
        'kubetriage.report.proposal': report.proposal !== null,
      });
      span.end();
      this.metrics.reports.inc({
        engine: report.engine === 'rules' ? 'rules' : 'llm',
        severity: report.severity,
      });
      if (!this.#seen.has(doc.id)) {
        this.#seen.set(doc.id, true);
        const first = Date.parse(doc.timings.firstSignal);
        if (Number.isFinite(first))
          this.metrics.timeToFirstTriage.observe(Math.max(0, (this.#timers.now() - first) / 1000));
      }
      return report;
    });
    p.catch((err: unknown) => {
      span.fail(String((err as Error)?.message ?? err).slice(0, 200));
      span.end();
      this.#cache.delete(key);
    });
    this.#cache.set(key, p);
    return p;
  }

  /** The rules engine's report, synchronously: deterministic, no I/O, no cache. */
  rules(doc: IncidentContextDoc): TriageReport {
    const parts = this.#rulesParts(doc, undefined);
    return this.#report(doc, this.#rulesDecision(parts));
  }

  #rulesParts(
    doc: IncidentContextDoc,
    timed: ((agent: AgentName, t0: number) => void) | undefined,
  ): RulesParts {
    let t0 = performance.now();
    const facts = contextFacts(doc, this.#rolloutWindowMs, this.#dependencyLeadMs);
    const triage = triageRules(facts, { defaultTeam: this.#defaultTeam, production: this.#production });
    timed?.('triage', t0);
    t0 = performance.now();
    const diagnosis = diagnosisRules(facts, this.#rolloutWindowMs, {
      canary:
        doc.scope.workload.kind === 'Deployment' && this.#policy.canaries.matches(doc.scope.workload.name),
    });
    timed?.('diagnosis', t0);
    t0 = performance.now();
    const executor = executorRules(facts, diagnosis, this.#policy);
    timed?.('executor', t0);
    return { facts, triage, diagnosis, executor };
  }

  #rulesDecision(p: RulesParts): Decision {
    const c = p.executor.choice;
    return {
      triage: p.triage,
      hypotheses: p.diagnosis.hypotheses,
      redHerrings: p.diagnosis.redHerrings,
      choice: c ? { candidate: c, toReplicas: c.toReplicas, reason: reasonFor(c, c.toReplicas) } : null,
      noProposalReason: p.executor.noProposalReason,
      engines: { triage: 'rules', diagnosis: 'rules', executor: 'rules' },
      fallbacks: [],
    };
  }

  async #judge(doc: IncidentContextDoc, root: TraceSpan): Promise<TriageReport> {
    const rulesMs: Partial<Record<AgentName, number>> = {};
    const parts = this.#rulesParts(doc, (agent, t0) => {
      rulesMs[agent] = performance.now() - t0;
    });
    const d = this.#rulesDecision(parts);
    // Resolved incidents need no judgement beyond the rules' (and no action): no model calls.
    const llm = doc.status === 'open' ? this.#llm : null;
    // One span per agent, under the report's; a model call's span is a child of its agent's.
    const agentSpans = new Map<AgentName, TraceSpan>();
    const agentSpan = (agent: AgentName): TraceSpan => {
      let s = agentSpans.get(agent);
      if (!s) {
        s = this.#tracing.span(`kubetriage.agent ${agent}`, doc.id, { 'kubetriage.agent': agent }, root);
        agentSpans.set(agent, s);
      }
      return s;
    };
    const observe = (agent: AgentName, extraMs: number) => {
      this.metrics.latency.observe(
        { agent, engine: d.engines[agent] === 'rules' ? 'rules' : 'llm' },
        ((rulesMs[agent] ?? 0) + extraMs) / 1000,
      );
      const s = agentSpan(agent);
      s.set({
        'kubetriage.agent.engine': d.engines[agent],
        'kubetriage.agent.fallback': d.fallbacks.find((f) => f.agent === agent)?.kind,
      });
      s.end();
    };
    if (!llm) {
      for (const a of ['triage', 'diagnosis', 'executor'] as const) observe(a, 0);
      return this.#report(doc, d);
    }

    let context: string | undefined;
    let skip = false;
    const ask = async <T>(
      agent: AgentName,
      build: (context: string) => [ChatMessage[], Record<string, unknown>],
      validate: (v: unknown) => Valid<T>,
    ): Promise<T | null> => {
      if (!llm.agents.has(agent)) return null;
      const fail = (kind: LlmFailureKind) => {
        d.fallbacks.push({ agent, kind });
        this.metrics.llmFailures.inc({ agent, kind });
        return null;
      };
      if (skip) return fail('skipped');
      context ??= renderContext(doc, this.#limits);
      const [messages, format] = build(context);
      const call = this.#tracing.span(
        `chat ${llm.model}`,
        doc.id,
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': llm.provider,
          'gen_ai.provider.name': llm.provider,
          'gen_ai.request.model': llm.model,
          'gen_ai.request.max_tokens': this.#llmConfig.maxOutputTokens,
          'gen_ai.request.temperature': this.#llmConfig.temperature,
          'gen_ai.output.type': 'json',
        },
        agentSpan(agent),
      );
      const out = await llm.ask(agent, messages, format);
      if (out.ok)
        call.set({
          'gen_ai.response.model': llm.model,
          'gen_ai.usage.input_tokens': out.usage?.inputTokens,
          'gen_ai.usage.output_tokens': out.usage?.outputTokens,
        });
      else {
        call.set({ 'error.type': out.kind });
        call.fail(out.message);
      }
      call.end();
      const v = out.ok ? validate(out.value) : out;
      if (!v.ok) {
        if (SKIP_REST.has(v.kind)) skip = true;
        return fail(v.kind);
      }
      d.engines[agent] = `llm:${llm.model}`;
      return v.value;
    };

    let t0 = performance.now();
    const t = await ask(
      'triage',
      (c) => [triageMessages(c, parts.triage), triageFormat()],
      (v) => validateTriage(v, parts.triage.severity),
    );
    // The measured facts stay; the model's reading of them is added, not substituted.
    if (t)
      d.triage = {
        ...d.triage,
        severity: t.severity,
        impact: {
          ...d.triage.impact,
          summary: `${d.triage.impact.summary}${t.impact ? `. Model: ${t.impact}` : ''}`,
        },
      };
    observe('triage', performance.now() - t0);

    t0 = performance.now();
    const evidenceIds = new Set(doc.evidence.map((e) => e.id));
    const h = await ask(
      'diagnosis',
      (c) => [diagnosisMessages(c, parts.diagnosis), diagnosisFormat([...evidenceIds])],
      (v) => validateDiagnosis(v, evidenceIds),
    );
    if (h) d.hypotheses = h;
    observe('diagnosis', performance.now() - t0);

    t0 = performance.now();
    const candidates = parts.executor.candidates;
    // With nothing policy allows, there is nothing for a model to choose: no call.
    if (candidates.length > 0) {
      const x = await ask(
        'executor',
        (c) => [executorMessages(c, d.hypotheses, candidates), executorFormat(candidates)],
        (v) => validateExecutor(v, candidates),
      );
      if (x?.choice) {
        const why = reasonFor(x.choice, x.toReplicas);
        d.choice = {
          candidate: x.choice,
          toReplicas: x.toReplicas,
          reason: x.reason ? `${why} (model: ${x.reason})` : why,
        };
        d.noProposalReason = null;
      } else if (x) {
        d.choice = null;
        d.noProposalReason = `the model judged no allowed action safe${x.reason ? `: ${x.reason}` : ''}`;
      }
    }
    observe('executor', performance.now() - t0);
    return this.#report(doc, d);
  }

  #report(doc: IncidentContextDoc, d: Decision): TriageReport {
    const { scope } = doc;
    const proposal: Proposal | null = d.choice
      ? draftProposal(doc, d.choice.candidate, d.choice.toReplicas, d.choice.reason, this.#policy.ttlMs)
      : null;
    const llmEngine = Object.values(d.engines).find((e) => e !== 'rules');
    return {
      schema: TRIAGE_REPORT_SCHEMA,
      incident: doc.id,
      revision: doc.revision,
      engine: llmEngine ?? 'rules',
      engines: d.engines,
      fallbacks: d.fallbacks,
      at: doc.timings.updated,
      status: doc.status,
      scope: { cluster: scope.cluster, namespace: scope.namespace, workload: { ...scope.workload } },
      severity: d.triage.severity,
      team: d.triage.team,
      teamSource: d.triage.teamSource,
      productionSource: d.triage.productionSource,
      impact: d.triage.impact,
      hypotheses: d.hypotheses,
      redHerrings: d.redHerrings,
      proposal,
      noProposalReason: proposal ? null : (d.noProposalReason ?? 'no action drafted'),
    };
  }
}
