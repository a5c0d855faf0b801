// Regression (issue 14, defect 4): secrets left the process. Evidence summaries quote log bodies and
// event messages, and went unredacted into contexts (Kafka and replay), triage reports, Slack messages,
// audit entries and log lines. Here log lines and Kubernetes events carrying every kind of credential in
// test/core/redact-cases.ts go through the real outputs, and every byte that comes out is searched for
// every secret: none may appear.
//   - `kubetriage replay` (a real process): stdout, --output file, stderr;
//   - `kubetriage run` (a real process, a real broker): the contexts topic, the triage topic, stderr;
//   - a Slack message built from a report quoting them, as the fake Slack receives it on the wire;
//   - the audit ledger file (and its hash chain still verifies);
//   - the logger, in a child process (its stderr).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { AuditLedger, verifyLedgerFile } from '../../src/exec/audit.ts';
import { proposalMessage } from '../../src/exec/slack-message.ts';
import { postJson } from '../../src/exec/slack-webhook.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { formatCaptureLine } from '../../src/stream/capture.ts';
import { CREDENTIAL_CASES } from '../core/redact-cases.ts';
import { reportWith } from '../exec/helpers.ts';
import { startSlackFake } from '../exec/slack-fake.ts';
import { freePort } from '../harness/ports.ts';
import { consumeUntil, produce, testTopics, waitFor } from '../helpers/kafka.ts';
import { logsRecord, POD_ATTRS } from '../helpers/otlp.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
const SECRETS = [...new Set(CREDENTIAL_CASES.flatMap((c) => c.secrets))];
const WORKLOADS = ['checkout', 'orders', 'payments', 'inventory'];

/** Every string in a JSON value (keys too), so an escaped secret is found as well as a raw one. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      strings(x, out);
    }
  return out;
}

/** Raw bytes, and the decoded strings of every JSON line in them. */
function searchable(bytes: string): string {
  const decoded: string[] = [];
  for (const line of bytes.split('\n')) {
    try {
      strings(JSON.parse(line), decoded);
    } catch {}
  }
  return `${bytes}\n${decoded.join('\n')}`;
}

function assertNoSecret(where: string, bytes: string): void {
  const text = searchable(bytes);
  const leaked = SECRETS.filter((s) => text.includes(s));
  assert.deepEqual(leaked, [], `${where} leaks ${leaked.length} secret(s)`);
}

const nanos = (ms: number) => BigInt(ms) * 1_000_000n;

/** One ERROR log record and one Warning event per credential case, spread over four workloads. */
function recordsAt(t0: number): Buffer[] {
  const out: Buffer[] = [];
  CREDENTIAL_CASES.forEach((c, i) => {
    const name = WORKLOADS[i % WORKLOADS.length]!;
    const pod = `${name}-7d9f8c6b5-x${'bcdf'[i % 4]}kz${'ghjk'[Math.floor(i / 4) % 4]}`;
    const at = t0 + i * 1000;
    out.push(
      logsRecord([
        {
          attrs: POD_ATTRS('shop', name, pod),
          records: [
            {
              timeUnixNano: nanos(at),
              severityNumber: 17,
              severityText: 'ERROR',
              body: { stringValue: c.text },
            },
          ],
        },
      ]),
    );
    const ev: K8sEvent = {
      namespace: 'shop',
      reason: 'Failed',
      message: c.text,
      type: 'Warning',
      object: { kind: 'Pod', name: pod },
      uid: `ev-${i}`,
      count: 1,
      atMs: at,
    };
    out.push(encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest([ev])));
  });
  return out;
}

describe('no credential leaves the process (issue 14, defect 4)', () => {
  it('the cases carry their secrets into the pipeline (the check below is not vacuous)', () => {
    const raw = recordsAt(Date.UTC(2026, 10, 28, 10))
      .map((b) => b.toString('latin1'))
      .join('');
    for (const c of CREDENTIAL_CASES) assert.ok(raw.includes(c.secrets[0]!.slice(0, 8)), c.text);
  });

  it('replay: contexts and triage reports on stdout and in --output, and stderr', {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-redact-replay-'));
    const t0 = Date.UTC(2026, 10, 28, 10);
    const lines = recordsAt(t0).map((value, offset) =>
      formatCaptureLine({
        topic: 'otlp_logs',
        partition: 0,
        offset,
        timestamp: t0 + offset * 500,
        key: null,
        headers: {},
        value,
      }),
    );
    const input = join(dir, 'capture.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const cfg = join(dir, 'kt.yaml');
    writeFileSync(cfg, stringify({ log: { level: 'debug' } }));
    const a = await run(process.execPath, [BIN, 'replay', '--input', input, '--config', cfg], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const file = join(dir, 'out.ndjson');
    const b = await run(process.execPath, [BIN, 'replay', '--input', input, '--output', file]);
    const docs = a.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const contexts = docs.filter((d) => d.schema === 'kubetriage.io/incident-context/v1');
    const reports = docs.filter((d) => d.schema === 'kubetriage.io/triage/v1');
    assert.ok(
      contexts.length >= WORKLOADS.length && reports.length >= WORKLOADS.length,
      a.stdout.slice(0, 500),
    );
    assertNoSecret('replay stdout', a.stdout);
    assertNoSecret('replay stderr', a.stderr);
    assertNoSecret('replay --output', readFileSync(file, 'utf8'));
    assertNoSecret('replay --output stderr', b.stderr);
    // The telemetry text is there, redacted: markers in the evidence, not an empty output.
    const summaries = contexts
      .flatMap((d) => d.evidence.map((e: { summary: string }) => e.summary))
      .join('\n');
    assert.ok((summaries.match(/\[REDACTED/g) ?? []).length >= CREDENTIAL_CASES.length / 2, summaries);
    // Still deterministic: the same capture, the same bytes.
    assert.equal(readFileSync(file, 'utf8'), a.stdout);
  });

  it('run: the contexts topic, the triage topic and the log lines', { timeout: 120_000 }, async () => {
    const t = await testTopics(1);
    const triage = `${t.contexts}-triage`;
    const dir = mkdtempSync(join(tmpdir(), 'kt-redact-run-'));
    const cfg = join(dir, 'kubetriage.yaml');
    writeFileSync(
      cfg,
      stringify({
        grouping: { groupWait: '1s', groupInterval: '1s' },
        log: { level: 'debug' },
        kafka: {
          groupId: t.group,
          topics: {
            logs: [t.logs],
            metrics: [t.metrics],
            traces: [t.traces],
            contexts: t.contexts,
            dlq: t.dlq,
            triage,
          },
        },
      }),
    );
    await produce(
      t.logs,
      recordsAt(Date.now() - 60_000).map((value) => ({ value })),
    );
    const port = await freePort();
    const stderr: string[] = [];
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'run', '--config', cfg, '--port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    child.stdout?.on('data', (d: Buffer) => stderr.push(d.toString()));
    let contexts: string[] = [];
    let reports: string[] = [];
    let metrics = '';
    try {
      await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/metrics`).then(
            (x) => x.text(),
            () => '',
          );
          return (
            /kubetriage_records_total\{signal="logs"\} (\d+)/.exec(r)?.[1] ===
            String(CREDENTIAL_CASES.length * 2)
          );
        },
        60_000,
        'every record consumed',
      );
      const values = (rs: { value: Buffer | null }[]) => rs.map((r) => r.value?.toString('utf8') ?? '');
      contexts = values(await consumeUntil(t.contexts, (rs) => rs.length >= WORKLOADS.length, 30_000));
      reports = values(await consumeUntil(triage, (rs) => rs.length >= WORKLOADS.length, 30_000));
      metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((x) => x.text());
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
    assert.ok(contexts.length >= WORKLOADS.length, `contexts: ${contexts.length}`);
    assert.ok(reports.length >= WORKLOADS.length, `reports: ${reports.length}`);
    assert.match(contexts.join('\n'), /\[REDACTED/);
    assertNoSecret('contexts topic', contexts.join('\n'));
    assertNoSecret('triage topic', reports.join('\n'));
    assertNoSecret('run stderr', stderr.join(''));
    assert.match(metrics, /kubetriage_redactions_total\{output="context",pattern="[a-z-]+"\} [1-9]/);
  });

  it('Slack: proposal messages quoting every case, as Slack receives them', async () => {
    const slack = await startSlackFake();
    try {
      for (const c of CREDENTIAL_CASES) {
        const report = reportWith({ incident: 'inc-1', namespace: 'shop', name: 'checkout', from: 2, to: 4 });
        report.impact.summary = c.text;
        report.hypotheses = [{ cause: 'unknown', confidence: 0.5, explanation: c.text, evidence: ['ev-1'] }];
        report.proposal.reason = c.text;
        const msg = proposalMessage(report, 'dry-run');
        // Sanity: the builder quotes the text as it is (the boundary is what must redact).
        assert.ok(JSON.stringify(msg).includes(JSON.stringify(c.secrets[0]).slice(1, -1)), c.text);
        const r = await postJson(slack.webhookUrl, msg, {
          timeoutMs: 5000,
          maxAttempts: 1,
          maxRetryAfterMs: 0,
        });
        assert.ok(r.ok, JSON.stringify(r));
      }
      assert.equal(slack.messages.length, CREDENTIAL_CASES.length);
      assertNoSecret('Slack messages', slack.messages.map((m) => JSON.stringify(m)).join('\n'));
      assert.match(JSON.stringify(slack.messages), /password=\[REDACTED\]/);
    } finally {
      await slack.close();
    }
  });

  it('audit: entries quoting them are redacted before hashing; the chain verifies', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kt-redact-audit-')), 'audit.jsonl');
    const ledger = await new AuditLedger({ file }).open();
    for (const c of CREDENTIAL_CASES)
      await ledger.append({
        actor: `api:${c.text.slice(0, 60)}`,
        event: 'post_failed',
        incident: 'inc-1',
        proposal: 'p-1',
        detail: { error: c.text, nested: { reason: [c.text] } },
      });
    await ledger.close();
    const bytes = readFileSync(file, 'utf8');
    assertNoSecret('audit ledger', bytes);
    assert.equal((await verifyLedgerFile(file)).ok, true);
  });

  it('logs: messages, objects, nested values and errors', async () => {
    const child = new URL('./redaction-log-child.ts', import.meta.url).pathname;
    const r = await run(process.execPath, [child], { maxBuffer: 16 * 1024 * 1024 });
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.length >= CREDENTIAL_CASES.length * 3, `${lines.length} log lines`);
    assertNoSecret('log lines', r.stderr);
  });
});
