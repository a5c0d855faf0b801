// A world for the exec stage's fault tests: the approval service with its ledger and HTTP routes on a
// real loopback socket (with /healthz, as `run` serves it), the FAKE Slack of test/exec/slack-fake.ts,
// and unhandled rejections collected (each one is a process exit in `run`).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { execConfig } from '../../src/core/config-exec.ts';
import { createHttpServer } from '../../src/core/http.ts';
import type { LedgerWriter } from '../../src/exec/audit-writer.ts';
import {
  ApprovalService,
  type AuditEntry,
  AuditLedger,
  type ExecKube,
  registerExecRoutes,
} from '../../src/exec/index.ts';
import { ACTION_APPROVE } from '../../src/exec/slack-message.ts';
import { reportWith } from '../exec/helpers.ts';
import { interaction, type SlackFake, signed } from '../exec/slack-fake.ts';

export const SECRET = 'fault-signing-secret-1c9e';
export const APPROVER = { id: 'U0APPROVER', username: 'alice' };

/** Unhandled rejections seen while `fn` ran (in `run` each one exits the process). */
export function watchRejections(): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const on = (r: unknown) => seen.push(r);
  process.on('unhandledRejection', on);
  return { seen, stop: () => process.off('unhandledRejection', on) };
}

export interface ExecWorld {
  service: ApprovalService;
  ledger: AuditLedger;
  registry: Registry;
  address: string;
  file: string;
  /** A signed Approve click (or another action) on `value` (any JSON: the shape is the test's). */
  click(value: unknown, o?: { actionTs?: string; actionId?: string }): Promise<number>;
  post(body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }>;
  entries(): AuditEntry[];
  propose(o?: { from?: number; to?: number }): Promise<string>;
  metric(name: string): Promise<number>;
  close(): Promise<void>;
}

export async function execWorld(o: {
  slack: SlackFake;
  kube?: ExecKube | null;
  file?: string;
  writer?: LedgerWriter;
  slackConfig?: Record<string, unknown>;
  forgedMax?: number;
  /** Default 0: the test flushes the forged-requests summary itself. */
  forgedSummaryIntervalMs?: number;
}): Promise<ExecWorld> {
  const file = o.file ?? join(mkdtempSync(join(tmpdir(), 'kt-fault-')), 'audit.jsonl');
  const registry = new Registry();
  const ledger = new AuditLedger({ file, registry, ...(o.writer ? { writer: o.writer } : {}) });
  const config = execConfig({
    mode: 'dry-run',
    approvers: [APPROVER.id],
    policy: { cooldown: '0s' },
    slack: { timeout: '2s', ...o.slackConfig },
  });
  const service = new ApprovalService({
    config,
    ledger,
    kube: o.kube ?? null,
    webhookUrl: o.slack.webhookUrl,
    delay: async () => {},
    registry,
    forgedSummaryIntervalMs: o.forgedSummaryIntervalMs ?? 0,
  });
  await service.start();
  const app = createHttpServer(registry, {
    healthy: () => ({ ok: true, detail: {} }),
    ready: () => ({ ok: true, detail: {} }),
  });
  await registerExecRoutes(app, {
    service,
    signingSecret: SECRET,
    identity: undefined,
    toleranceMs: config.slack.signatureTolerance,
    maxBodyBytes: config.slack.maxBodyBytes,
    forgedMax: o.forgedMax ?? config.slack.forgedRateLimit,
    forgedWindowMs: config.slack.forgedRateWindow,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = async (body: string | Buffer, headers: Record<string, string>) => {
    const res = await fetch(`${address}/slack/interactions`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  };
  return {
    service,
    ledger,
    registry,
    address,
    file,
    post,
    async click(value, c = {}) {
      const base = interaction({
        secret: SECRET,
        userId: APPROVER.id,
        username: APPROVER.username,
        actionId: c.actionId ?? ACTION_APPROVE,
        value: 'placeholder',
        responseUrl: o.slack.responseUrl,
        actionTs: c.actionTs ?? `${Date.now() / 1000}`,
      });
      const payload = JSON.parse(new URLSearchParams(base.body).get('payload')!) as {
        actions: { value: unknown }[];
      };
      payload.actions[0]!.value = value;
      const req = signed(SECRET, `payload=${encodeURIComponent(JSON.stringify(payload))}`);
      const r = await post(req.body, req.headers);
      await service.idle();
      return r.status;
    },
    entries: () =>
      (existsSync(file) ? readFileSync(file, 'utf8') : '')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry),
    async propose(p = {}) {
      const tag = randomBytes(3).toString('hex');
      const report = reportWith({
        incident: `inc-${tag}`,
        namespace: 'shop',
        name: `web-${tag}`,
        from: p.from ?? 5,
        to: p.to ?? 3,
      });
      await service.onReport(report);
      return report.proposal.id;
    },
    async metric(name) {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      return (m?.values ?? []).reduce((a, v) => a + Number(v.value), 0);
    },
    async close() {
      await app.close();
      await service.close();
    },
  };
}
