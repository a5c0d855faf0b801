// `kubetriage run` with the agents wired in: a real broker, a real process, and the Ollama FAKE on a
// loopback socket. Contexts the broker acknowledged are triaged and land on the triage topic, keyed by
// incident id. Needs KAFKA_BROKERS (`npm test` starts a broker); fails without one.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { TRIAGE_REPORT_SCHEMA, type TriageReport } from '../../src/agents/report.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { freePort } from '../harness/ports.ts';
import {
  consumeAll,
  consumeUntil,
  createTopics,
  produce,
  type TestTopics,
  testTopics,
  unique,
  waitFor,
} from '../helpers/kafka.ts';
import { gauge, metricsRecord } from '../helpers/otlp.ts';
import { canaryCrashLoop, dependencyFailure } from './contexts.ts';
import { FakeOllama } from './fake-ollama.ts';
import { assertValidReport } from './report-schema.ts';

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

/** `kubetriage run` as a child process on the test's topics; stderr (the JSON log) is collected. */
async function startRun(
  t: TestTopics,
  triage: string,
  config: Record<string, unknown>,
): Promise<{ child: ChildProcess; port: number; stderr: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-run-agents-'));
  const cfg = join(dir, 'kubetriage.yaml');
  const topics = {
    logs: [t.logs],
    metrics: [t.metrics],
    traces: [t.traces],
    contexts: t.contexts,
    dlq: t.dlq,
    triage,
  };
  writeFileSync(cfg, stringify({ ...config, kafka: { groupId: t.group, topics } }));
  const port = await freePort();
  const stderr: string[] = [];
  const child = spawn(process.execPath, [BIN, 'run', '--config', cfg, '--port', String(port)], {
    env: { ...process.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  return { child, port, stderr };
}

// Never skips: without KAFKA_BROKERS the helpers throw (`npm test` starts a broker).
describe('kubetriage run: agents', () => {
  it('triages each acknowledged context with the model and produces the report to the triage topic', {
    timeout: 90_000,
  }, async () => {
    const fake = new FakeOllama();
    await fake.start();
    fake.handler = (r) => {
      if (r.agent === 'triage') return { content: { severity: 'SEV3', impact: 'canary crash-looping' } };
      if (r.agent === 'diagnosis') {
        const ids = (
          r.format as {
            properties: {
              hypotheses: { items: { properties: { evidence: { items: { enum: string[] } } } } };
            };
          }
        ).properties.hypotheses.items.properties.evidence.items.enum;
        return {
          content: {
            hypotheses: [
              { cause: 'crash_loop', confidence: 0.7, evidence: [ids[0]], explanation: 'crashing' },
            ],
          },
        };
      }
      return {
        content: {
          action: { namespace: 'shop', name: 'checkout-canary', toReplicas: 4 },
          reason: 'halve it',
        },
      };
    };
    const t = await testTopics(1);
    const triageTopic = unique('triage');
    await createTopics([triageTopic], 1);
    const now = Date.now();
    const pod = 'checkout-canary-6b7c8d9f4-q2zzz';
    const ev: K8sEvent = {
      namespace: 'shop',
      reason: 'BackOff',
      message: `Back-off restarting failed container app in pod ${pod}_shop`,
      type: 'Warning',
      object: { kind: 'Pod', name: pod },
      uid: 'bo-1',
      count: 3,
      atMs: now,
    };
    await produce(t.metrics, [
      {
        value: metricsRecord([
          {
            attrs: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout-canary' },
            metrics: [gauge('k8s.deployment.desired', 8, now), gauge('k8s.deployment.available', 5, now)],
          },
        ]),
      },
    ]);
    await produce(t.logs, [{ value: encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest([ev])) }]);

    const { child, port, stderr } = await startRun(t, triageTopic, {
      grouping: { groupWait: '1s', restore: false },
      agents: { llm: { url: fake.url, model: 'fake-model:1b' } },
    });
    try {
      const recs = await consumeUntil(triageTopic, (r) => r.length >= 1, 60_000);
      assert.ok(recs.length >= 1, `a triage report arrived (stderr: ${stderr.join('').slice(-2000)})`);
      const report = JSON.parse(recs[0]!.value!.toString()) as TriageReport;
      assertValidReport(report);
      assert.equal(recs[0]!.key?.toString(), report.incident);
      assert.equal(report.engine, 'llm:fake-model:1b');
      assert.equal(report.scope.workload.name, 'checkout-canary');
      assert.equal(report.proposal?.fromReplicas, 8);
      assert.equal(report.proposal?.toReplicas, 4);
      assert.equal(fake.calls(), 3);
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        async () =>
          /kubetriage_time_to_first_triage_seconds_count 1/.test(
            await (await fetch(`${base}/metrics`)).text(),
          ),
        10_000,
        'time to first triage observed',
      );
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /kubetriage_llm_calls_total\{agent="executor"\} 1/);
      assert.match(metrics, /kubetriage_triage_published_total\{result="sent"\} 1/);
      assert.match(metrics, /kubetriage_agent_latency_seconds_count\{agent="diagnosis",engine="llm"\} 1/);
    } finally {
      child.kill('SIGTERM');
      await fake.close();
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr.join('').slice(-2000));
  });

  it('after a restart, triages the restored open incidents whose latest revision has no report, and only those', {
    timeout: 90_000,
  }, async () => {
    const t = await testTopics(1);
    const triageTopic = unique('triage');
    await createTopics([triageTopic], 1);
    // What a previous instance left: two open incidents' latest contexts; only one got its report.
    const updated = new Date().toISOString();
    const unreported = { ...canaryCrashLoop(), timings: { ...canaryCrashLoop().timings, updated } };
    const reported = { ...dependencyFailure(), timings: { ...dependencyFailure().timings, updated } };
    assert.notEqual(unreported.id, reported.id);
    await produce(
      t.contexts,
      [unreported, reported].map((d) => ({ key: d.id, value: Buffer.from(JSON.stringify(d)) })),
    );
    const report = (id: string, revision: number) => ({
      key: id,
      value: Buffer.from(JSON.stringify({ schema: TRIAGE_REPORT_SCHEMA, incident: id, revision })),
    });
    await produce(triageTopic, [
      report(reported.id, reported.revision),
      ...(unreported.revision > 1 ? [report(unreported.id, unreported.revision - 1)] : []),
    ]);

    const { child, port, stderr } = await startRun(t, triageTopic, {
      grouping: { restore: true, resolveTimeout: '1h' },
    });
    const parse = (v: Buffer | null) => JSON.parse(v?.toString() ?? '{}') as TriageReport;
    try {
      const recs = await consumeUntil(
        triageTopic,
        (r) =>
          r.some(
            (x) => x.key?.toString() === unreported.id && parse(x.value).revision === unreported.revision,
          ),
        60_000,
      );
      const caughtUp = recs.find(
        (x) => x.key?.toString() === unreported.id && parse(x.value).revision === unreported.revision,
      );
      assert.ok(caughtUp, `the unreported revision was triaged (stderr: ${stderr.join('').slice(-2000)})`);
      assertValidReport(parse(caughtUp.value));
      assert.equal(parse(caughtUp.value).engine, 'rules');
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        async () =>
          /kubetriage_triage_published_total\{result="sent"\} 1/.test(
            await (await fetch(`${base}/metrics`)).text(),
          ),
        10_000,
        'one report sent',
      );
      const log = stderr.join('');
      assert.match(log, /triage catch-up/);
      assert.match(log, /"queued":1/);
      // The incident whose latest revision was already reported got nothing new.
      // All the topic holds: a 2 s read could miss the one report and count 0.
      const again = await consumeAll(triageTopic);
      assert.equal(again.filter((x) => x.key?.toString() === reported.id).length, 1);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr.join('').slice(-2000));
  });
});
