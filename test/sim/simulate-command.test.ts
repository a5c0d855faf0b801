// `kubetriage simulate`: deterministic captures, --list, errors, snapshot output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseSpeed } from '../../src/cli/simulate-command.ts';
import { pacingSchedule } from '../../src/sim/produce.ts';
import { getScenario, listScenarios } from '../../src/sim/scenarios/index.ts';
import { type CapturedRecord, formatCaptureLine, parseCaptureLine } from '../../src/stream/capture.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kt-simulate-'));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('simulate command', () => {
  it('writes byte-identical captures for the same seed, different noise for another seed', async () => {
    const a = join(dir, 'a.ndjson');
    const b = join(dir, 'b.ndjson');
    const c = join(dir, 'c.ndjson');
    for (const [file, seed] of [
      [a, '7'],
      [b, '7'],
      [c, '8'],
    ] as const) {
      const r = await cli('simulate', '--scenario', 'probe-latency', '--seed', seed, '--output', file);
      assert.equal(r.code, 0, r.stderr);
    }
    const [ta, tb, tc] = [a, b, c].map((f) => readFileSync(f));
    assert.ok(ta!.equals(tb!), 'same seed, same bytes');
    assert.ok(!ta!.equals(tc!), 'another seed, other noise');
    const lines = ta!.toString().trimEnd().split('\n');
    const records = lines.map((l, i) => parseCaptureLine(l, 'a.ndjson', i + 1));
    assert.ok(records.length > 50);
    assert.deepEqual(
      records.map(formatCaptureLine),
      getScenario('probe-latency').records({ seed: 7 }).map(formatCaptureLine),
      'the CLI writes exactly what the API generates',
    );
  });

  it('writes to stdout by default and with -o -', async () => {
    const file = join(dir, 'f.ndjson');
    await cli('simulate', '-s', 'unschedulable', '-o', file);
    const out1 = await cli('simulate', '-s', 'unschedulable');
    const out2 = await cli('simulate', '-s', 'unschedulable', '-o', '-');
    assert.equal(out1.code, 0);
    assert.equal(out1.stdout, readFileSync(file, 'utf8'));
    assert.equal(out2.stdout, out1.stdout);
  });

  it('--noise lays the background over any scenario, --no-noise takes it off the quiet family', async () => {
    const capture = (records: CapturedRecord[]) => `${records.map(formatCaptureLine).join('\n')}\n`;
    const plain = await cli('simulate', '-s', 'noise-only', '--seed', '2');
    const noisy = await cli('simulate', '-s', 'noise-only', '--seed', '2', '--noise');
    assert.equal(noisy.code, 0, noisy.stderr);
    assert.notEqual(noisy.stdout, plain.stdout);
    assert.equal(noisy.stdout, capture(getScenario('noise-only').records({ seed: 2, noise: true })));
    assert.equal(plain.stdout, capture(getScenario('noise-only').records({ seed: 2 })));
    const quiet = await cli('simulate', '-s', 'quiet-small', '--seed', '2', '--no-noise');
    assert.equal(quiet.stdout, capture(getScenario('quiet-small').records({ seed: 2, noise: false })));
    assert.notEqual(quiet.stdout, capture(getScenario('quiet-small').records({ seed: 2 })));
  });

  it('writes the cluster snapshot with --snapshot', async () => {
    const snap = join(dir, 'snap.json');
    const r = await cli(
      'simulate',
      '-s',
      'canary',
      '--seed',
      '3',
      '-o',
      join(dir, 'canary.ndjson'),
      '--snapshot',
      snap,
    );
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(readFileSync(snap, 'utf8'));
    assert.deepEqual(list, getScenario('canary').snapshot({ seed: 3 }));
    assert.equal(list.kind, 'List');
  });

  it('--list shows every scenario with its description', async () => {
    const r = await cli('simulate', '--list');
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, listScenarios().length);
    for (const s of listScenarios())
      assert.ok(lines.some((l) => l.startsWith(`${s.name} `) && l.endsWith(s.description)));
  });

  it('exits 2 with one line listing the valid names for an unknown scenario', async () => {
    const r = await cli('simulate', '--scenario', 'oom');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /unknown scenario "oom"; valid scenarios: oom-rollout, bad-image, .*\bcanary\b/);
  });

  it('exits 2 on bad options', async () => {
    for (const args of [
      ['--scenario', 'canary', '--seed', 'x'],
      ['--scenario', 'canary', '--speed', 'fast'],
      ['--scenario', 'canary', '--start', 'yesterday'],
      [],
    ]) {
      const r = await cli('simulate', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      // The reason, and for commander's usage errors a one-line hint.
      const lines = r.stderr.trimEnd().split('\n');
      assert.ok(lines.length <= 2, r.stderr);
      assert.match(lines[0]!, /seed|speed|start|scenario/);
    }
  });

  it('uses the topic names of a config file and of --topics-*', async () => {
    const cfg = join(dir, 'kt.yaml');
    await import('node:fs').then((fs) =>
      fs.writeFileSync(
        cfg,
        'kafka:\n  topics:\n    logs: otel-logs\n    metrics: otel-metrics\n    traces: otel-traces\n',
      ),
    );
    const r = await cli('simulate', '-s', 'noise-only', '--config', cfg, '--topics-traces', 'my-spans');
    assert.equal(r.code, 0, r.stderr);
    const topics = new Set(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).topic),
    );
    assert.deepEqual(topics, new Set(['otel-logs', 'otel-metrics', 'my-spans']));
  });
});

describe('determinism of the library', () => {
  for (const s of listScenarios()) {
    it(`${s.name}: same seed and start → identical records and snapshot`, () => {
      const a = s.generate({ seed: 11 });
      const b = s.generate({ seed: 11 });
      assert.equal(a.records.length, b.records.length);
      for (let i = 0; i < a.records.length; i++)
        assert.equal(formatCaptureLine(a.records[i]!), formatCaptureLine(b.records[i]!));
      assert.deepEqual(a.snapshot, b.snapshot);
    });
  }

  it('different seeds change the noise, not the story', () => {
    const a = getScenario('oom-rollout').generate({ seed: 1 });
    const b = getScenario('oom-rollout').generate({ seed: 2 });
    assert.notDeepEqual(
      a.records.map((r) => r.value.toString('base64')),
      b.records.map((r) => r.value.toString('base64')),
    );
    assert.deepEqual(a.truth, b.truth);
    const names = (run: typeof a) =>
      (run.snapshot.items as { kind: string; metadata: { name: string } }[])
        .filter((i) => i.kind !== 'Pod')
        .map((i) => `${i.kind}/${i.metadata.name}`);
    assert.deepEqual(names(a), names(b), 'same Deployments, ReplicaSets, Services and Nodes');
  });
});

describe('pacing', () => {
  it('divides the gaps between record timestamps by the speed; 0 means no pacing', () => {
    const recs = [0, 1000, 61_000].map((t) => ({
      topic: 't',
      partition: 0,
      offset: 0,
      timestamp: 1_000_000 + t,
      key: null,
      headers: {},
      value: Buffer.alloc(1),
    }));
    assert.deepEqual(pacingSchedule(recs, 1), [0, 1000, 61_000]);
    assert.deepEqual(pacingSchedule(recs, 10), [0, 100, 6100]);
    assert.deepEqual(pacingSchedule(recs, 0), [0, 0, 0]);
    assert.equal(parseSpeed('max'), 0);
    assert.equal(parseSpeed('0'), 0);
    assert.equal(parseSpeed('2.5'), 2.5);
    assert.throws(() => parseSpeed('-1'));
  });
});
