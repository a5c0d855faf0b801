// Fault: Ollama dies in the middle of a call (SIGKILL to its process group while the model is
// generating) under `kubetriage run` with agents.llm on. A real Ollama (test/harness/ollama.ts) behind
// a byte-for-byte TCP relay that only tells the test when a request has started. The report falls back
// to the rules with the failure named in `fallbacks` and counted; the process stays up and stops cleanly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { TriageReport } from '../../src/agents/report.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { type OllamaServer, startOllama } from '../harness/ollama.ts';
import { brokers, consumeUntil, createTopics, produce, testTopics, unique } from '../helpers/kafka.ts';
import { metricSum, type RunChild, startRun, withLog } from './run-child.ts';

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validReport = ajv.compile(
  JSON.parse(readFileSync(new URL('../../config/triage-report.schema.json', import.meta.url), 'utf8')),
);

/** Relays TCP to `port` unchanged; `requestStarted` resolves when the first request bytes pass. */
function relay(port: number): Promise<{ port: number; requestStarted: Promise<void>; close(): void }> {
  let started: () => void = () => {};
  const requestStarted = new Promise<void>((r) => {
    started = r;
  });
  const server: Server = createServer((client) => {
    const upstream = createConnection(port, '127.0.0.1');
    client.once('data', () => started());
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : 0,
        requestStarted,
        close: () => server.close(),
      });
    }),
  );
}

describe('fault: Ollama killed in the middle of a call', { timeout: 300_000 }, () => {
  let ollama: OllamaServer;
  const children: RunChild[] = [];
  const relays: { close(): void }[] = [];
  before(async () => {
    ollama = await startOllama();
  });
  after(async () => {
    for (const c of children) if (c.alive()) c.child.kill('SIGKILL');
    for (const r of relays) r.close();
    await ollama?.stop();
  });

  it('falls back to the rules with the failure counted; the process stays up', {
    timeout: 240_000,
  }, async (t) => {
    const topics = await testTopics(1);
    const triageTopic = unique('triage');
    await createTopics([triageTopic], 1);
    const { port } = new URL(ollama.url);
    const proxy = await relay(Number(port));
    relays.push(proxy);
    const run = await startRun({
      grouping: { groupWait: '500ms', groupInterval: '500ms', resolveTimeout: '1h' },
      kafka: {
        brokers: brokers().split(','),
        groupId: topics.group,
        topics: {
          logs: [topics.logs],
          metrics: [topics.metrics],
          traces: [topics.traces],
          contexts: topics.contexts,
          dlq: topics.dlq,
          triage: triageTopic,
        },
      },
      // A long deadline: what ends the call is the dropped connection, not the timeout.
      agents: { llm: { url: `http://127.0.0.1:${proxy.port}`, model: ollama.model, timeout: '120s' } },
    });
    children.push(run);
    await produce(topics.logs, [
      {
        value: encodeOtlp(
          'ExportLogsServiceRequest',
          k8sEventsRequest([
            {
              namespace: 'shop',
              reason: 'BackOff',
              message: 'Back-off restarting failed container app in pod checkout-7d9f8c6b5-x2kqz',
              type: 'Warning',
              object: { kind: 'Pod', name: 'checkout-7d9f8c6b5-x2kqz', fieldPath: 'spec.containers{app}' },
              uid: 'ev-1',
              count: 5,
              atMs: Date.now(),
            },
          ]),
        ),
      },
    ]);
    await withLog(
      run,
      Promise.race([
        proxy.requestStarted,
        new Promise((_, rej) => setTimeout(() => rej(new Error('no model call within 60 s')), 60_000)),
      ]),
    );
    // Mid-call: the model is generating on CPU (seconds for a report) when its process group dies.
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = Date.now();
    process.kill(-ollama.pid, 'SIGKILL');

    const reports = await withLog(
      run,
      consumeUntil(triageTopic, (rs) => rs.length >= 1, 90_000).then((rs) => {
        if (rs.length === 0) throw new Error('no triage report within 90 s of the kill');
        return rs;
      }),
    );
    const reportAfterMs = Date.now() - killedAt;
    const report = JSON.parse(reports[0]!.value!.toString()) as TriageReport;
    assert.ok(validReport(report), ajv.errorsText(validReport.errors));
    const fallbacks =
      (report as unknown as { fallbacks?: { agent: string; kind: string }[] }).fallbacks ?? [];
    const failures = await metricSum(run.port, 'kubetriage_llm_failures_total');
    t.diagnostic(
      `ollama killed mid-call: report ${reportAfterMs} ms after the kill, engines ${JSON.stringify(report.engines)}, fallbacks ${JSON.stringify(fallbacks)}, kubetriage_llm_failures_total ${failures}`,
    );
    assert.equal(report.engines.triage, 'rules', 'the agent whose call died kept the rules result');
    assert.ok(
      fallbacks.some(
        (f) => f.agent === 'triage' && ['unreachable', 'http_error', 'bad_response'].includes(f.kind),
      ),
      JSON.stringify(fallbacks),
    );
    assert.ok(failures >= 1);
    assert.ok(run.alive(), 'the process is still up');
    assert.equal((await fetch(`http://127.0.0.1:${run.port}/healthz`)).status, 200);

    run.child.kill('SIGTERM');
    assert.equal((await run.exited).code, 0, run.log().slice(-2000));
  });
});
