// What a triage report made with a real model must satisfy, whatever the model said. A 135M model is
// often wrong, so this checks the plumbing and the guardrails, not its wisdom:
//  - the report validates against config/triage-report.schema.json and cites only the context's evidence;
//  - an agent whose part came from the model (`llm:<model>`) answered exactly once, its raw answer passes
//    the validators, and the part stays within what rules and policy allow (checked here independently:
//    severity within one level, causes from the closed set, evidence that exists, a proposal only for a
//    policy candidate, within its replica range, with the cluster's fromReplicas and rollback);
//  - an agent whose part is `rules` has exactly the rules engine's part, and when the model was asked,
//    `fallbacks` names the reason the raw answer (as recorded on the wire) was rejected.
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import { diagnosisRules } from '../../src/agents/diagnosis.ts';
import { executorRules } from '../../src/agents/executor.ts';
import { contextFacts } from '../../src/agents/facts.ts';
import { validateDiagnosis, validateExecutor, validateTriage } from '../../src/agents/llm/validate.ts';
import { PatternSet } from '../../src/agents/patterns.ts';
import { compilePolicy, type ScaleCandidate } from '../../src/agents/policy.ts';
import { AGENTS, type AgentName, CAUSES, SEVERITIES, type TriageReport } from '../../src/agents/report.ts';
import type { AgentsConfig } from '../../src/core/config.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { assertValidReport } from '../agents/report-schema.ts';
import type { RecordedCall } from './ollama-recorder.ts';

/** The actions policy allows for this context: all a model may choose from. */
export function candidatesFor(doc: IncidentContextDoc, config: AgentsConfig): ScaleCandidate[] {
  const facts = contextFacts(doc, config.rolloutWindow);
  return executorRules(facts, diagnosisRules(facts, config.rolloutWindow), compilePolicy(config.policy))
    .candidates;
}

export type Verdict = { ok: true } | { ok: false; kind: string; message: string };

/** Whether a recorded raw answer should have been used, by the same validators the chain runs. */
export function verdictOf(
  call: RecordedCall,
  doc: IncidentContextDoc,
  rules: TriageReport,
  candidates: readonly ScaleCandidate[],
): Verdict {
  if (call.error !== undefined)
    return { ok: false, kind: call.error === 'AbortError' ? 'timeout' : 'unreachable', message: call.error };
  if (call.status !== 200) return { ok: false, kind: 'http_error', message: `HTTP ${call.status}` };
  if (call.content === undefined) return { ok: false, kind: 'bad_response', message: 'no content' };
  let value: unknown;
  try {
    value = JSON.parse(call.content);
  } catch (err) {
    return { ok: false, kind: 'malformed_json', message: (err as Error).message };
  }
  const v =
    call.agent === 'triage'
      ? validateTriage(value, rules.severity)
      : call.agent === 'diagnosis'
        ? validateDiagnosis(value, new Set(doc.evidence.map((e) => e.id)))
        : validateExecutor(value, candidates);
  return v.ok ? { ok: true } : { ok: false, kind: v.kind, message: v.message };
}

export interface CheckInput {
  report: TriageReport;
  doc: IncidentContextDoc;
  /** The rules engine's report for the same context (TriageChain#rules). */
  rules: TriageReport;
  config: AgentsConfig;
  model: string;
  /** Every call recorded on the wire for this incident revision. */
  calls: RecordedCall[];
}

/** One line per agent: engine, and the failure kind when the rules stood. */
export interface CheckSummary {
  incident: string;
  workload: string;
  engines: Record<AgentName, string>;
  fallbacks: string[];
  calls: number;
}

export function checkReport(c: CheckInput): CheckSummary {
  const { report: r, doc, rules, config, model } = c;
  const where = `${doc.scope.namespace}/${doc.scope.workload.name}@${doc.revision}`;
  assertValidReport(r, doc);
  const llm = `llm:${model}`;
  const usedModel = AGENTS.filter((a) => r.engines[a] !== 'rules');
  for (const a of usedModel) assert.equal(r.engines[a], llm, `${where}: ${a} engine`);
  assert.equal(r.engine, usedModel.length ? llm : 'rules', `${where}: report engine`);
  const candidates = candidatesFor(doc, config);
  const pol = config.policy;

  for (const a of AGENTS) {
    const calls = c.calls.filter((k) => k.agent === a);
    assert.ok(calls.length <= 1, `${where}: ${a} asked ${calls.length} times for one revision`);
    const call = calls[0];
    const fb = r.fallbacks.filter((f) => f.agent === a);
    assert.ok(fb.length <= 1, `${where}: ${a} has ${fb.length} fallbacks`);
    if (r.engines[a] === llm) {
      assert.ok(call, `${where}: ${a} is llm but no call went out`);
      assert.deepEqual(verdictOf(call, doc, rules, candidates), { ok: true }, `${where}: ${a} raw answer`);
      assert.equal(fb.length, 0, `${where}: ${a} used and fell back`);
      continue;
    }
    // The rules result stands for this agent...
    if (a === 'triage') {
      assert.equal(r.severity, rules.severity, `${where}: rules severity stands`);
      assert.deepEqual(r.impact, rules.impact, `${where}: rules impact stands`);
    } else if (a === 'diagnosis') {
      assert.deepEqual(r.hypotheses, rules.hypotheses, `${where}: rules hypotheses stand`);
    } else {
      assert.deepEqual(r.proposal, rules.proposal, `${where}: rules proposal stands`);
      assert.equal(r.noProposalReason, rules.noProposalReason, `${where}: rules reason stands`);
    }
    // ...and when the model was asked, fallbacks say why its answer was not used.
    if (call) {
      const v = verdictOf(call, doc, rules, candidates);
      assert.equal(v.ok, false, `${where}: ${a} answered validly but the rules stood`);
      if (!v.ok) assert.deepEqual(fb, [{ agent: a, kind: v.kind }], `${where}: ${a} fallback (${v.message})`);
    } else if (fb.length) {
      // Refused before a request went out.
      assert.ok(
        ['skipped', 'circuit_open', 'rate_limited', 'overloaded', 'timeout'].includes(fb[0]!.kind),
        `${where}: ${a} fell back with ${fb[0]!.kind} without a call`,
      );
    }
  }

  // Independently of the validators: what a model-made part may be.
  assert.deepEqual(r.redHerrings, rules.redHerrings, `${where}: red herrings are the rules' facts`);
  if (r.engines.triage === llm) {
    const d = Math.abs(SEVERITIES.indexOf(r.severity) - SEVERITIES.indexOf(rules.severity));
    assert.ok(d <= 1, `${where}: severity ${r.severity} vs rules ${rules.severity}`);
    const { summary, ...facts } = r.impact;
    const { summary: rulesSummary, ...rulesFacts } = rules.impact;
    assert.deepEqual(facts, rulesFacts, `${where}: measured impact facts are kept`);
    assert.ok(summary.startsWith(rulesSummary), `${where}: the rules summary is kept, the model's appended`);
    assert.equal(r.team, rules.team);
    assert.equal(r.teamSource, rules.teamSource);
  }
  if (r.engines.diagnosis === llm) {
    const ids = new Set(doc.evidence.map((e) => e.id));
    assert.ok(r.hypotheses.length >= 1 && r.hypotheses.length <= 5, `${where}: 1..5 hypotheses`);
    assert.equal(new Set(r.hypotheses.map((h) => h.cause)).size, r.hypotheses.length, 'distinct causes');
    for (const h of r.hypotheses) {
      assert.ok((CAUSES as readonly string[]).includes(h.cause), `${where}: cause ${h.cause}`);
      assert.ok(h.confidence >= 0 && h.confidence <= 1, `${where}: confidence ${h.confidence}`);
      for (const id of h.evidence) assert.ok(ids.has(id), `${where}: evidence ${id} exists`);
      if (h.cause !== 'unknown') assert.ok(h.evidence.length > 0, `${where}: ${h.cause} cites evidence`);
    }
  }
  if (r.engines.executor === llm) {
    if (r.proposal) {
      const p = r.proposal;
      const cand = candidates.find(
        (k) => k.target.namespace === p.target.namespace && k.target.name === p.target.name,
      );
      assert.ok(cand, `${where}: ${p.target.namespace}/${p.target.name} is a policy candidate`);
      assert.equal(p.target.kind, 'Deployment');
      assert.equal(p.target.namespace, doc.scope.namespace, `${where}: only the incident's own workload`);
      assert.equal(p.target.name, doc.scope.workload.name, `${where}: only the incident's own workload`);
      assert.ok(new PatternSet(pol.allowedNamespaces).matches(p.target.namespace), 'allowed namespace');
      assert.ok(!new PatternSet(pol.forbiddenWorkloads).matches(`${p.target.namespace}/${p.target.name}`));
      assert.equal(p.fromReplicas, doc.workloadState?.desiredReplicas, `${where}: from the cluster`);
      assert.deepEqual(p.rollback, { toReplicas: p.fromReplicas }, `${where}: rollback restores`);
      assert.ok(p.toReplicas >= cand.minTo && p.toReplicas <= cand.maxTo, `${where}: within the range`);
      assert.ok(p.toReplicas >= pol.minReplicas && p.toReplicas <= pol.maxReplicas, 'policy bounds');
      assert.ok(Math.abs(p.toReplicas - p.fromReplicas) <= pol.maxStep, `${where}: maxStep`);
      assert.equal(p.expiresAt, new Date(Date.parse(doc.timings.updated) + pol.proposalTtl).toISOString());
    } else {
      assert.match(r.noProposalReason ?? '', /^the model judged no allowed action safe/);
    }
  } else if (!c.calls.some((k) => k.agent === 'executor')) {
    assert.deepEqual(r.proposal, rules.proposal);
  }
  return {
    incident: doc.id,
    workload: `${doc.scope.namespace}/${doc.scope.workload.name}`,
    engines: r.engines,
    fallbacks: r.fallbacks.map((f) => `${f.agent}/${f.kind}`),
    calls: c.calls.length,
  };
}

/** kubetriage_llm_failures_total as `agent/kind` → count. */
export async function failureCounts(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('kubetriage_llm_failures_total')?.get();
  return Object.fromEntries((m?.values ?? []).map((v) => [`${v.labels.agent}/${v.labels.kind}`, v.value]));
}

/** Sum of a counter over all its series. */
export async function counterSum(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

/** What the failure counter must read after these reports: their fallbacks, tallied. */
export function tallyFallbacks(reports: readonly TriageReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reports)
    for (const f of r.fallbacks) out[`${f.agent}/${f.kind}`] = (out[`${f.agent}/${f.kind}`] ?? 0) + 1;
  return out;
}
