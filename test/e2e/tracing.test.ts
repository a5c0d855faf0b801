// Traces of kubetriage itself, exported over OTLP/HTTP (protobuf) to the REAL Collector
// (test/harness/otelcol.ts; otlp receiver → `debug` exporter at detailed verbosity, whose output this
// test reads back from the Collector's log) for ONE incident from context to execution: the context
// emitted, the triage report with a span per agent and a gen_ai.* span for the model call (the REAL
// Ollama /v1 with SmolLM2 through the OpenAI-compatible backend), the approval, and the scale executed
// on a REAL kube-apiserver. All spans share the incident's trace and carry kubetriage.incident.id.
// The build's components (scripts/otelcol/builder-config.yaml) have no file exporter; `debug` is there.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { TriageChain } from '../../src/agents/chain.ts';
import { validateConfig } from '../../src/core/config.ts';
import { execConfig } from '../../src/core/config-exec.ts';
import {
  INCIDENT_ATTR,
  incidentTraceIds,
  NO_TRACING,
  startTracing,
  traceContextEmitted,
} from '../../src/core/tracing.ts';
import { ApprovalService, AuditLedger, ExecKubeClient } from '../../src/exec/index.ts';
import { canaryCrashLoop } from '../agents/contexts.ts';
import {
  applyRbac,
  createDeployment,
  replicasOf,
  scalerToken,
  tolerateTextReadyz,
  uniqueNs,
} from '../exec/kube-world.ts';
import { type SlackFake, startSlackFake } from '../exec/slack-fake.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { type OllamaServer, startOllama } from '../harness/ollama.ts';
import { type Collector, startCollector } from '../harness/otelcol.ts';

// Never skips: throws (failing this file with the build command) when the part is missing.
requireKubeBinaries();

const say = (s: string) => process.stderr.write(`[tracing-e2e] ${s}\n`);

/** One span as the debug exporter prints it (detailed verbosity). */
interface PrintedSpan {
  traceId: string;
  parentId: string;
  id: string;
  name: string;
  status: string;
  attrs: Record<string, string>;
}

/** Parses the debug exporter's detailed span listing out of the Collector's log. */
export function printedSpans(log: string): PrintedSpan[] {
  const out: PrintedSpan[] = [];
  for (const block of log.split(/\nSpan #\d+\n/).slice(1)) {
    const field = (k: string) => new RegExp(`^\\s*${k}\\s*: ?(.*)$`, 'm').exec(block)?.[1]?.trim() ?? '';
    const attrs: Record<string, string> = {};
    const attrPart = block.split(/\nAttributes:\n/)[1] ?? '';
    for (const line of attrPart.split('\n')) {
      const m = /^\s*-> ([^:]+): \w+\((.*)\)$/.exec(line);
      if (!m) break;
      attrs[m[1]!] = m[2]!;
    }
    out.push({
      traceId: field('Trace ID'),
      parentId: field('Parent ID'),
      id: field('ID'),
      name: field('Name'),
      status: field('Status code'),
      attrs,
    });
  }
  return out;
}

const collectorConfig = stringify({
  receivers: { otlp: { protocols: { http: {} } } },
  exporters: { debug: { verbosity: 'detailed' } },
  service: { pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } } },
});

describe('traces of kubetriage itself, read back from a real Collector', () => {
  let col: Collector;
  let ollama: OllamaServer;
  let kube: KubeApiServer;
  let slack: SlackFake;
  let dir: string;
  const scaler = scalerToken();

  before(
    async () => {
      tolerateTextReadyz();
      [col, ollama, kube, slack] = await Promise.all([
        startCollector({ configYaml: collectorConfig, log: say }),
        startOllama({ log: say }),
        startKubeApiServer({ tokens: [scaler] }),
        startSlackFake(),
      ]);
      await applyRbac(kube.client);
      dir = mkdtempSync(join(tmpdir(), 'kubetriage-tracing-'));
    },
    { timeout: 20 * 60_000 },
  );
  after(async () => {
    await col?.stop();
    await ollama?.stop();
    await kube?.stop();
    await slack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('off by default, and with OTEL_SDK_DISABLED=true: the no-op tracer (the SDK is only imported past this check)', async () => {
    assert.equal(await startTracing(validateConfig({}).tracing), NO_TRACING);
    assert.equal(
      await startTracing({ enabled: true, endpoint: null, serviceName: 'x' }, { OTEL_SDK_DISABLED: 'true' }),
      NO_TRACING,
    );
  });

  it('one incident from context to execution: context, triage report, a span per agent, a gen_ai chat span with tokens, approval and execution, all in the incident trace', {
    timeout: 10 * 60_000,
  }, async () => {
    const ns = uniqueNs('traced');
    const doc = canaryCrashLoop({ ns });
    await createDeployment(kube.client, ns, 'checkout-canary', 10);
    const tracing = await startTracing(
      { enabled: true, endpoint: `${col.otlpHttp}/v1/traces`, serviceName: 'kubetriage-e2e' },
      {},
    );
    assert.equal(tracing.enabled, true);

    traceContextEmitted(tracing, doc);
    const agents = validateConfig({
      agents: {
        llm: {
          url: `${ollama.url}/v1`,
          provider: 'openai',
          model: ollama.model,
          agents: ['triage'],
          timeout: '10m',
        },
      },
    }).agents;
    const chain = new TriageChain({ config: agents, tracing });
    const report = await chain.triage(doc);
    assert.ok(report.proposal, 'the rules executor proposes a scale of the canary');

    const at = Date.parse(report.at);
    const service = new ApprovalService({
      config: execConfig({ mode: 'execute', approvers: ['U0APPROVER'], policy: { cooldown: '0s' } }),
      ledger: new AuditLedger({ file: join(dir, 'audit.jsonl'), now: () => at }),
      kube: new ExecKubeClient(kube.kubeConfig(scaler.token)),
      webhookUrl: slack.webhookUrl,
      now: () => at,
      delay: async () => {},
      forgedSummaryIntervalMs: 0,
      tracing,
    });
    await service.start();
    await service.onReport(report);
    const out = await service.decide({
      proposalId: report.proposal.id,
      action: 'approve',
      actor: { id: 'U0APPROVER', name: 'alice' },
      via: 'slack',
    });
    assert.equal(out.state, 'executed', out.message);
    assert.equal(await replicasOf(kube.client, ns, 'checkout-canary'), report.proposal.toReplicas);
    await service.close();
    // A second incident whose model server is not there: its chat span says why it failed.
    const down = canaryCrashLoop({ ns: uniqueNs('untraced') });
    const unreachable = new TriageChain({
      config: validateConfig({
        agents: { llm: { url: 'http://127.0.0.1:1/v1', provider: 'openai', agents: ['triage'] } },
      }).agents,
      tracing,
    });
    assert.deepEqual((await unreachable.triage(down)).fallbacks, [{ agent: 'triage', kind: 'unreachable' }]);
    await tracing.shutdown();

    // Read back what the Collector received (its debug exporter prints after each batch).
    const { traceId } = incidentTraceIds(doc.id);
    let spans: PrintedSpan[] = [];
    for (let i = 0; i < 100; i++) {
      spans = printedSpans(readFileSync(col.logFile, 'utf8')).filter((s) => s.traceId === traceId);
      if (spans.length >= 8) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const names = spans.map((s) => s.name).sort();
    say(`spans in trace ${traceId}: ${names.join(', ')}`);
    assert.deepEqual(names, [
      `chat ${ollama.model}`,
      'kubetriage.agent diagnosis',
      'kubetriage.agent executor',
      'kubetriage.agent triage',
      'kubetriage.approval',
      'kubetriage.context',
      'kubetriage.execution',
      'kubetriage.triage',
    ]);
    for (const s of spans) assert.equal(s.attrs[INCIDENT_ATTR], doc.id, `${s.name}: incident id`);
    const by = (n: string) => spans.find((s) => s.name === n)!;
    // Parent links: agents under the report, the model call under the triage agent.
    for (const a of ['triage', 'diagnosis', 'executor'])
      assert.equal(by(`kubetriage.agent ${a}`).parentId, by('kubetriage.triage').id);
    const chat = by(`chat ${ollama.model}`);
    assert.equal(chat.parentId, by('kubetriage.agent triage').id);
    assert.equal(chat.attrs['gen_ai.operation.name'], 'chat');
    assert.equal(chat.attrs['gen_ai.provider.name'], 'openai');
    assert.equal(chat.attrs['gen_ai.request.model'], ollama.model);
    assert.ok(Number(chat.attrs['gen_ai.usage.input_tokens']) > 0, 'input tokens');
    assert.ok(Number(chat.attrs['gen_ai.usage.output_tokens']) > 0, 'output tokens');
    assert.equal(by('kubetriage.approval').attrs['kubetriage.decision.action'], 'approve');
    assert.equal(by('kubetriage.approval').attrs['kubetriage.proposal.state'], 'executed');
    assert.equal(
      by('kubetriage.execution').attrs['kubetriage.execution.to_replicas'],
      String(report.proposal.toReplicas),
    );
    assert.equal(by('kubetriage.execution').status, 'Unset');
    const failed = printedSpans(readFileSync(col.logFile, 'utf8')).filter(
      (s) => s.traceId === incidentTraceIds(down.id).traceId && s.name.startsWith('chat '),
    );
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.attrs['error.type'], 'unreachable');
    assert.equal(failed[0]!.status, 'Error');
    assert.equal(failed[0]!.attrs['gen_ai.usage.input_tokens'], undefined);
    // The resource says who sent them.
    assert.match(readFileSync(col.logFile, 'utf8'), /service\.name: Str\(kubetriage-e2e\)/);
  });
});
