// The agents' LLM path through the OpenAI-compatible backend (`agents.llm.provider: openai`, the
// official `openai` npm client) against the REAL Ollama v0.11.4's `/v1` endpoint running the REAL
// SmolLM2-135M, started by test/harness/ollama.ts like ollama.test.ts. Ollama v0.11.4 honours
// `response_format: {type: 'json_schema'}` (openai/openai.go passes json_schema.schema on as `format`,
// so the grammar constrains the model) and `max_tokens` (→ num_predict).
//
// Same guardrails as the native path, so the same checks, on fewer calls (each is 10-30 s on a loaded
// 2-core box): the whole chain for one incident, the cache, a 1 ms deadline, and the forced-failure
// kinds (malformed JSON, wrong shape, unknown evidence, policy violation) forced out of the real model
// by swapping the request's json_schema on the wire. It never skips.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { TriageChain } from '../../src/agents/chain.ts';
import type { AgentName, TriageReport } from '../../src/agents/report.ts';
import { type ConfigInput, validateConfig } from '../../src/core/config.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { canaryCrashLoop } from '../agents/contexts.ts';
import { type OllamaServer, startOllama } from '../harness/ollama.ts';
import { candidatesFor, checkReport, counterSum, failureCounts } from './ollama-oracle.ts';
import { type ChatRequestBody, OllamaRecorder, type RecorderOptions } from './ollama-recorder.ts';

type LlmInput = NonNullable<NonNullable<ConfigInput['agents']>['llm']>;
const LONG = { timeout: 10 * 60_000 };
const say = (s: string) => process.stderr.write(`[openai-e2e] ${s}\n`);

describe('agents, LLM mode through the OpenAI-compatible backend against the real Ollama /v1', () => {
  let ollama: OllamaServer;
  before(
    async () => {
      ollama = await startOllama({ log: say });
    },
    { timeout: 20 * 60_000 },
  );
  after(() => ollama?.stop());

  function setup(llm: LlmInput = {}, rec: RecorderOptions = {}) {
    const registry = new Registry();
    const recorder = new OllamaRecorder(rec);
    const config = validateConfig({
      agents: {
        llm: {
          url: `${ollama.url}/v1`,
          provider: 'openai',
          model: ollama.model,
          timeout: '10m',
          ratePerMinute: 100_000,
          burst: 1000,
          ...llm,
        },
      },
    }).agents;
    const chain = new TriageChain({ config, registry, fetch: recorder.fetch });
    const check = (doc: IncidentContextDoc, report: TriageReport) =>
      checkReport({
        report,
        doc,
        rules: chain.rules(doc),
        config,
        model: ollama.model,
        calls: recorder.calls.filter((c) => c.incident === doc.id && c.revision === doc.revision),
      });
    return { registry, recorder, config, chain, check };
  }

  it(
    'the whole chain for one incident: OpenAI-shaped requests to /v1/chat/completions with response_format json_schema, the report validates, the same revision costs no second call',
    LONG,
    async (t) => {
      const d = canaryCrashLoop();
      const { chain, recorder, registry, check, config } = setup();
      const r = await chain.triage(d);
      for (const c of recorder.calls)
        t.diagnostic(
          `${c.agent}: ${Math.round(c.end - c.start)} ms, ${c.promptTokens} + ${c.outputTokens} tokens: ${(c.content ?? '').slice(0, 200)}`,
        );
      const s = check(d, r);
      t.diagnostic(`engines ${JSON.stringify(s.engines)} fallbacks ${JSON.stringify(s.fallbacks)}`);
      const want: AgentName[] = ['triage', 'diagnosis'];
      if (candidatesFor(d, config).length) want.push('executor');
      assert.deepEqual(
        recorder.calls.map((c) => c.agent),
        want,
      );
      for (const c of recorder.calls) {
        assert.equal(c.status, 200, 'the server answered');
        // The wire is the OpenAI chat-completions shape, not Ollama's native one.
        assert.equal(c.request.format, undefined);
        assert.equal(c.request.response_format?.type, 'json_schema');
        assert.equal(c.request.response_format?.json_schema?.name, `kubetriage_${c.agent}`);
        assert.equal(c.request.max_tokens, config.llm.maxOutputTokens);
        assert.ok((c.promptTokens ?? 0) > 0, 'usage.prompt_tokens reported');
      }
      assert.equal(await counterSum(registry, 'kubetriage_llm_calls_total'), recorder.calls.length);
      // Every rejection is about the answer, never a transport failure.
      for (const f of r.fallbacks)
        assert.ok(
          !['timeout', 'unreachable', 'http_error', 'bad_response'].includes(f.kind),
          JSON.stringify(f),
        );
      const n = recorder.calls.length;
      assert.equal(await chain.triage(structuredClone(d)), r);
      assert.equal(recorder.calls.length, n, 'no second call for the same revision');
    },
  );

  it(
    '`kubetriage eval --openai URL` scores the chain through the OpenAI-compatible backend beside rules (a model the server lacks: every call a 404, rules stand)',
    LONG,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kt-eval-openai-'));
      try {
        const json = join(dir, 'eval.json');
        const bin = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
        const r = await promisify(execFile)(process.execPath, [
          bin,
          'eval',
          '--scenarios',
          'canary',
          '--no-noise',
          '--openai',
          `${ollama.url}/v1`,
          '--model',
          'no-such-model',
          '--json',
          json,
        ]);
        assert.match(r.stdout, /engine: rules;/);
        assert.match(r.stdout, /engine: llm:openai:no-such-model;/);
        const out = JSON.parse(readFileSync(json, 'utf8')) as { results: Record<string, unknown[]> };
        assert.deepEqual(Object.keys(out.results), ['rules', 'llm:openai:no-such-model']);
        // The same scores: every model call failed (HTTP 404 from the real server), so rules stood.
        assert.deepEqual(out.results['llm:openai:no-such-model'], out.results.rules);
        const served = readFileSync(ollama.logFile, 'utf8');
        assert.match(served, /\| 404 \|.*POST +"\/v1\/chat\/completions"/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('a 1 ms deadline: rules stand, fallbacks say timeout', LONG, async () => {
    const d = canaryCrashLoop();
    const { chain, recorder, registry } = setup({ timeout: '1ms' });
    const r = await chain.triage(d);
    assert.equal(r.engine, 'rules');
    assert.deepEqual(r.fallbacks, [
      { agent: 'triage', kind: 'timeout' },
      { agent: 'diagnosis', kind: 'skipped' },
      { agent: 'executor', kind: 'skipped' },
    ]);
    assert.deepEqual(await failureCounts(registry), {
      'triage/timeout': 1,
      'diagnosis/skipped': 1,
      'executor/skipped': 1,
    });
    assert.ok(recorder.calls.length <= 1);
  });

  it('a server that is not there: unreachable, rules stand', LONG, async () => {
    const d = canaryCrashLoop();
    const registry = new Registry();
    const config = validateConfig({
      agents: { llm: { url: 'http://127.0.0.1:1/v1', provider: 'openai', agents: ['triage'] } },
    }).agents;
    const chain = new TriageChain({ config, registry });
    const r = await chain.triage(d);
    assert.equal(r.engine, 'rules');
    assert.deepEqual(r.fallbacks, [{ agent: 'triage', kind: 'unreachable' }]);
  });

  const obj = (properties: Record<string, unknown>) => ({
    type: 'object',
    properties,
    required: Object.keys(properties),
  });
  const withSchema = (b: ChatRequestBody, schema: Record<string, unknown>): ChatRequestBody => ({
    ...b,
    response_format: { type: 'json_schema', json_schema: { name: 'forced', schema, strict: false } },
  });
  const forced: {
    name: string;
    agent: AgentName;
    kind: string;
    rewrite: (b: ChatRequestBody, d: IncidentContextDoc) => ChatRequestBody;
  }[] = [
    {
      name: 'output cut off (max_tokens 4): not JSON',
      agent: 'triage',
      kind: 'malformed_json',
      rewrite: (b) => ({ ...b, max_tokens: 4 }),
    },
    {
      name: 'the wrong shape',
      agent: 'triage',
      kind: 'schema',
      rewrite: (b) => withSchema(b, obj({ sev: { enum: ['SEV3'] } })),
    },
    {
      name: 'an evidence id the context does not have',
      agent: 'diagnosis',
      kind: 'unknown_evidence',
      rewrite: (b) =>
        withSchema(
          b,
          obj({
            hypotheses: {
              type: 'array',
              minItems: 1,
              maxItems: 1,
              items: obj({
                cause: { enum: ['crash_loop'] },
                confidence: { enum: [0.5] },
                evidence: { type: 'array', minItems: 1, maxItems: 1, items: { enum: ['ev-000000000000'] } },
                explanation: { type: 'string', maxLength: 40 },
              }),
            },
          }),
        ),
    },
    {
      name: 'scaling another workload to 0',
      agent: 'executor',
      kind: 'policy_violation',
      rewrite: (b) =>
        withSchema(
          b,
          obj({
            action: obj({
              namespace: { enum: ['shop'] },
              name: { enum: ['payments'] },
              toReplicas: { enum: [0] },
            }),
            reason: { type: 'string', maxLength: 40 },
          }),
        ),
    },
  ];
  for (const f of forced)
    it(
      `rejects ${f.name}, forced out of the real model through /v1 (${f.agent}: ${f.kind})`,
      LONG,
      async (t) => {
        const d = canaryCrashLoop();
        const { chain, recorder, registry, check } = setup(
          { agents: [f.agent] },
          { rewrite: (b) => f.rewrite(b, d) },
        );
        const rules = chain.rules(d);
        const r = await chain.triage(d);
        for (const c of recorder.calls)
          t.diagnostic(`${c.agent}: ${(c.content ?? c.error ?? '').slice(0, 200)}`);
        check(d, r);
        assert.equal(recorder.calls.length, 1);
        assert.equal(recorder.calls[0]!.status, 200, 'the real server answered');
        assert.equal(r.engine, 'rules');
        assert.deepEqual(r.fallbacks, [{ agent: f.agent, kind: f.kind }]);
        assert.deepEqual(await failureCounts(registry), { [`${f.agent}/${f.kind}`]: 1 });
        assert.deepEqual({ ...r, fallbacks: [] }, { ...rules, fallbacks: [] }, 'exactly the rules report');
      },
    );
});
