// The audit ledger under faults: a full disk (a real 64 KiB tmpfs, and a writer that fails after a
// short write), a read-only directory (a read-only bind mount: root ignores file modes), a torn tail
// left by a crash mid-write, and a ledger larger than the heap. Approvals fail closed with the reason,
// the process stays up, nothing already recorded is lost, and the chain stays verifiable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUDIT_SCHEMA, type AuditEntry, entryHash, GENESIS, verifyLedgerFile } from '../../src/exec/audit.ts';
import { auditWriter, type LedgerWriter } from '../../src/exec/audit-writer.ts';
import { type SlackFake, startSlackFake } from '../exec/slack-fake.ts';
import { execWorld, watchRejections } from './exec-world.ts';

/** Root mounts a tmpfs of `size`; the test fails (never skips) where that is not allowed. */
function mount(args: string[]): void {
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(
      `mount ${args.join(' ')} failed (${r.stderr.trim()}): these fault tests need root (CAP_SYS_ADMIN) to mount a tiny tmpfs`,
    );
}
const umount = (dir: string) => spawnSync('umount', ['-l', dir]);

/** Fills a filesystem to the last byte. */
function fill(dir: string): string {
  const f = join(dir, 'filler');
  const fd = openSync(f, 'w');
  const block = Buffer.alloc(4096, 0x61);
  try {
    for (;;) {
      try {
        if (writeSync(fd, block) < block.length) break;
      } catch {
        break;
      }
    }
    for (;;) {
      try {
        if (writeSync(fd, block, 0, 1) < 1) break;
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return f;
}

describe('exec: the audit ledger under faults', () => {
  let slack: SlackFake;
  const rejections = watchRejections();
  const mounts: string[] = [];
  before(async () => {
    slack = await startSlackFake();
  });
  after(async () => {
    rejections.stop();
    for (const m of mounts.reverse()) umount(m);
    await slack.close();
  });

  test('a full disk (64 KiB tmpfs): approvals refused with the reason, nothing torn, process alive; after space is freed the approval goes through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-full-'));
    mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    mounts.push(dir);
    const w = await execWorld({ slack, file: join(dir, 'audit.jsonl') });
    try {
      const id = await w.propose();
      const filler = fill(dir);
      // tmpfs allocates by page: the ledger's last page may still take an entry or two. Spend it on
      // clicks for an unknown proposal (refused, audited) until a write fails.
      for (let i = 0; i < 50 && (await w.metric('kubetriage_audit_write_failures_total')) === 0; i++)
        await w.click('no-such-proposal', { actionTs: `4.${i}` });
      assert.ok((await w.metric('kubetriage_audit_write_failures_total')) >= 1, 'the disk is full');
      const sizeBefore = readFileSync(w.file).length;
      const before = slack.responses.length;
      const t0 = performance.now();
      assert.equal(await w.click(id, { actionTs: '5.1' }), 200);
      assert.equal(w.service.state(id), 'pending', 'fail closed: not approved without its record');
      assert.match(
        JSON.stringify(slack.responses.slice(before)),
        /refused: the audit ledger cannot be written .*ENOSPC.*nothing was done, the proposal is still pending/,
      );
      assert.equal(readFileSync(w.file).length, sizeBefore, 'the failed batch was cut back: no torn line');
      assert.ok((await w.metric('kubetriage_audit_write_failures_total')) >= 1);
      assert.equal(await w.metric('kubetriage_audit_ledger_writable'), 0);
      assert.equal((await fetch(`${w.address}/healthz`)).status, 200, 'process alive');
      rmSync(filler);
      assert.equal(await w.click(id, { actionTs: '5.2' }), 200);
      const recoverMs = performance.now() - t0;
      const events = w
        .entries()
        .map((e) => e.event)
        .filter((e) => e !== 'refused');
      assert.deepEqual(events, ['proposed', 'posted', 'approved', 'failed'], 'approved once space was back');
      assert.equal(await w.metric('kubetriage_audit_ledger_writable'), 1);
      const v = await verifyLedgerFile(w.file);
      assert.ok(v.ok && v.head === w.ledger.head, JSON.stringify(v));
      assert.deepEqual(rejections.seen, []);
      process.stdout.write(
        `# figure: full disk: lost 0 entries already recorded, recovered ${recoverMs.toFixed(0)} ms after the refusal (first click after freeing space), process alive\n`,
      );
    } finally {
      await w.close();
    }
  });

  test('a read-only ledger directory: approvals refused (EROFS), process alive; writable again: approved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-ro-'));
    mkdirSync(join(dir, 'ledger'));
    const file = join(dir, 'ledger', 'audit.jsonl');
    // Something already recorded, then the directory goes read-only under the running service.
    const w0 = await execWorld({ slack, file });
    const id = await w0.propose();
    await w0.close();
    mount(['--bind', join(dir, 'ledger'), join(dir, 'ledger')]);
    mounts.push(join(dir, 'ledger'));
    mount(['-o', 'remount,bind,ro', join(dir, 'ledger')]);
    const w = await execWorld({ slack, file });
    try {
      assert.equal(w.service.state(id), 'pending', 'restored from the read-only ledger');
      const before = slack.responses.length;
      assert.equal(await w.click(id, { actionTs: '6.1' }), 200);
      assert.equal(w.service.state(id), 'pending');
      assert.match(JSON.stringify(slack.responses.slice(before)), /audit ledger cannot be written .*EROFS/);
      assert.equal((await fetch(`${w.address}/healthz`)).status, 200);
      umount(join(dir, 'ledger'));
      mounts.pop();
      assert.equal(await w.click(id, { actionTs: '6.2' }), 200);
      assert.deepEqual(
        w.entries().map((e) => e.event),
        ['proposed', 'posted', 'approved', 'failed'],
      );
      assert.ok((await verifyLedgerFile(file)).ok);
      assert.deepEqual(rejections.seen, []);
    } finally {
      await w.close();
    }
  });

  test('injected: a short write then ENOSPC (through the writer interface): refused, cut back, chain continues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-inject-'));
    const file = join(dir, 'audit.jsonl');
    const real = auditWriter(file);
    let failures = 0;
    const writer: LedgerWriter = {
      ...real,
      async write(data) {
        if (failures > 0) {
          failures--;
          await real.write(data.subarray(0, Math.floor(data.length / 2)));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        await real.write(data);
      },
    };
    const w = await execWorld({ slack, file, writer });
    try {
      const id = await w.propose();
      failures = 1;
      await w.click(id, { actionTs: '7.1' });
      assert.equal(w.service.state(id), 'pending');
      assert.ok(readFileSync(file, 'utf8').endsWith('\n'), 'the half-written batch was cut back');
      assert.ok((await verifyLedgerFile(file)).ok);
      await w.click(id, { actionTs: '7.2' });
      assert.deepEqual(
        w.entries().map((e) => e.event),
        ['proposed', 'posted', 'approved', 'failed'],
      );
      assert.ok((await verifyLedgerFile(file)).ok);
    } finally {
      await w.close();
    }
  });

  test('regression: a torn tail is quarantined at start, recorded as ledger_recovered, and the chain continues; audit verify names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-torn-'));
    const file = join(dir, 'audit.jsonl');
    const w0 = await execWorld({ slack, file });
    const id = await w0.propose();
    await w0.close();
    // A crash (or a full disk) mid-write: part of a line, no newline.
    const torn = '{"schema":"kubetriage.io/audit/v1","seq":3,"at":"2026-';
    appendFileSync(file, torn);
    const cli = (f: string) =>
      spawnSync(process.execPath, ['bin/kubetriage.js', 'audit', 'verify', '--file', f], {
        encoding: 'utf8',
      });
    const before = cli(file);
    assert.equal(before.status, 1);
    assert.match(before.stderr, /line 3: torn tail: 54 bytes after the last newline/);
    const w = await execWorld({ slack, file });
    try {
      assert.equal(w.service.state(id), 'pending', 'state restored from the intact entries');
      const rec = w.entries().at(-1)!;
      assert.equal(rec.event, 'ledger_recovered');
      assert.equal(rec.seq, 3);
      assert.equal(rec.detail.bytes, Buffer.byteLength(torn));
      assert.equal(rec.detail.sha256, createHash('sha256').update(torn).digest('hex'));
      assert.equal(
        readFileSync(String(rec.detail.quarantinedTo), 'utf8'),
        torn,
        'the torn bytes are kept aside',
      );
      assert.equal(await w.click(id, { actionTs: '8.1' }), 200);
      assert.equal(w.entries().at(-2)!.event, 'approved');
    } finally {
      await w.close();
    }
    const afterRun = cli(file);
    assert.equal(afterRun.status, 0, afterRun.stderr);
    assert.match(afterRun.stdout, /^ok: .*: 5 entries, head [0-9a-f]{64} \(1 torn tail recovered/);
    assert.ok(readdirSync(dir).some((n) => n.startsWith('audit.jsonl.torn-')));
  });

  test('an approval whose outcome never reached the ledger (a crash mid-execution) is failed at restart, never run later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-interrupted-'));
    const file = join(dir, 'audit.jsonl');
    const w0 = await execWorld({ slack, file });
    const id = await w0.propose();
    // What the process had written when it died: the approval, no outcome.
    const proposed = w0.entries()[0]!;
    await w0.ledger.append({
      actor: 'slack:U0APPROVER(alice)',
      event: 'approved',
      incident: proposed.incident,
      proposal: id,
      detail: { action: 'approve', via: 'slack' },
    });
    await w0.close();
    const w = await execWorld({ slack, file });
    try {
      assert.equal(w.service.state(id), 'failed');
      const last = w.entries().at(-1)!;
      assert.equal(last.event, 'failed');
      assert.match(String(last.detail.reason), /^interrupted/);
      await w.click(id, { actionTs: '10.1' });
      assert.equal(w.entries().at(-1)!.detail.reason, 'already failed');
    } finally {
      await w.close();
    }
  });

  test('regression: a ledger larger than the heap is verified and opened by streaming (128 MiB ledger, 96 MiB heap)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-big-'));
    const file = join(dir, 'audit.jsonl');
    // ~128 MiB of valid chain: 80,000 entries of ~1.6 KiB (what two days of forged requests made before).
    // The heap cap leaves room for the CLI's own modules (~50 MB with every command's dependencies)
    // and is still well below the file: loading it whole cannot fit.
    const fd = openSync(file, 'w');
    let prev = GENESIS;
    const pad = 'x'.repeat(1500);
    const lines: string[] = [];
    for (let seq = 1; seq <= 80_000; seq++) {
      const base: Omit<AuditEntry, 'hash'> = {
        schema: AUDIT_SCHEMA,
        seq,
        at: '2026-12-06T00:00:00.000Z',
        actor: 'unknown',
        event: 'refused',
        incident: null,
        proposal: null,
        detail: { reason: 'slack signature mismatch', untrusted: { user: pad } },
        prevHash: prev,
      };
      const e = { ...base, hash: entryHash(base) };
      prev = e.hash;
      lines.push(JSON.stringify(e));
      if (lines.length === 1000) {
        writeSync(fd, `${lines.join('\n')}\n`);
        lines.length = 0;
      }
    }
    closeSync(fd);
    const heap = ['--max-old-space-size=96'];
    const verify = spawnSync(
      process.execPath,
      [...heap, 'bin/kubetriage.js', 'audit', 'verify', '--file', file],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(verify.status, 0, verify.stderr.slice(-2000));
    assert.match(verify.stdout, /80000 entries/);
    const open = spawnSync(
      process.execPath,
      [
        ...heap,
        '--input-type=module',
        '-e',
        `import { AuditLedger } from './src/exec/audit.ts';
         const l = await new AuditLedger({ file: ${JSON.stringify(file)} }).open();
         await l.append({ actor: 'kubetriage', event: 'permissions_checked', incident: null, proposal: null, detail: {} });
         await l.close(); console.log('opened', l.restoredCount);`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(open.status, 0, open.stderr.slice(-2000));
    assert.match(open.stdout, /opened 80000/);
    rmSync(dir, { recursive: true, force: true });
    assert.ok(!existsSync(file));
  });
});
