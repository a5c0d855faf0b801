// The incident page's proposal history as `run` wires it (wireExec onAudit): what the ledger already
// held at start-up, then each entry written, reach the page store, and the exec stage hands the page
// its approval service and identity check.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { wireExec } from '../../src/cli/exec-wiring.ts';
import { validateConfig } from '../../src/core/config.ts';
import type { AuditEntry } from '../../src/exec/audit.ts';
import { reportWith } from '../exec/helpers.ts';

describe('proposal history for the page (exec wiring)', () => {
  it('restored ledger entries, then new ones, reach onAudit in order; approvals are exposed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kt-page-audit-')), 'audit.jsonl');
    const config = validateConfig({
      exec: { audit: { file }, policy: { namespaces: ['shop'] }, api: { staticToken: { enabled: true } } },
    });
    const start = async (seen: AuditEntry[]) => {
      const app = Fastify();
      const w = await wireExec({
        config,
        log: pino({ level: 'silent' }),
        registry: new Registry(),
        http: app,
        env: { KUBETRIAGE_API_TOKEN: 'local-token' },
        onAudit: (e) => seen.push(e),
      });
      return { w, app };
    };
    const first: AuditEntry[] = [];
    const a = await start(first);
    assert.ok(a.w.approvals, 'the page gets the approval service and identity');
    assert.equal(a.w.approvals.identity.enabled, true);
    const r1 = reportWith({ incident: 'inc-1', namespace: 'shop', name: 'cart', from: 6, to: 3 });
    a.w.onReport(r1);
    assert.equal(await a.w.close(5_000), true);
    await a.app.close();
    assert.deepEqual(
      first.map((e) => [e.event, e.proposal]),
      [
        ['proposed', r1.proposal.id],
        ['post_failed', r1.proposal.id],
      ],
    );
    // A restart: the page's history starts with what is on disk, then goes on.
    const second: AuditEntry[] = [];
    const b = await start(second);
    const r2 = reportWith({ incident: 'inc-2', namespace: 'shop', name: 'web', from: 4, to: 2 });
    b.w.onReport(r2);
    assert.equal(await b.w.close(5_000), true);
    await b.app.close();
    assert.deepEqual(
      second.map((e) => e.seq),
      [1, 2, 3, 4],
    );
    assert.deepEqual(second.slice(0, 2), first);
    assert.equal(second[2]!.proposal, r2.proposal.id);
  });
});
