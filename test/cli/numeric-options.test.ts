// Regression (issue 14, defect 8): numeric options accepted garbage — `demo --seed abc` and
// `eval --seed abc` ran with NaN, `record --max-records abc` exited 1 with no message. Every numeric
// option of every command goes through one parser (src/cli/numeric-options.ts): exit 2, and a message
// naming the option and the value, before anything runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { integerOption, numberOption } from '../../src/cli/numeric-options.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('numeric CLI options: one parser, exit 2 with the option named', () => {
  // Each command's numeric options, with garbage; the other arguments are valid, so only the number
  // can be the reason. None of them may get as far as running (no Kafka is reachable at port 1).
  const cases: { args: string[]; option: string; value: string }[] = [
    { args: ['demo', '--seed', 'abc'], option: '--seed', value: 'abc' },
    { args: ['demo', '--seed', '1.5'], option: '--seed', value: '1.5' },
    { args: ['eval', '--scenarios', 'canary', '--seed', 'abc'], option: '--seed', value: 'abc' },
    { args: ['eval', '--seed', '-3'], option: '--seed', value: '-3' },
    {
      args: [
        'record',
        '--topics',
        'x',
        '--output',
        '/dev/null',
        '--brokers',
        '127.0.0.1:1',
        '--max-records',
        'abc',
      ],
      option: '--max-records',
      value: 'abc',
    },
    {
      args: [
        'record',
        '--topics',
        'x',
        '--output',
        '/dev/null',
        '--brokers',
        '127.0.0.1:1',
        '--max-records',
        '0',
      ],
      option: '--max-records',
      value: '0',
    },
    { args: ['run', '--port', 'http'], option: '--port', value: 'http' },
    { args: ['run', '--port', '70000'], option: '--port', value: '70000' },
    { args: ['simulate', '--scenario', 'canary', '--seed', 'abc'], option: '--seed', value: 'abc' },
    { args: ['simulate', '--scenario', 'canary', '--speed', 'fast'], option: '--speed', value: 'fast' },
    { args: ['simulate', '--scenario', 'canary', '--partitions', '2x'], option: '--partitions', value: '2x' },
  ];
  for (const c of cases) {
    it(`${c.args[0]} ${c.option} ${c.value}: exit 2, the option and the value named`, async () => {
      const r = await cli(...c.args);
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
      assert.equal(r.stdout, '', 'nothing ran');
      const first = r.stderr.split('\n')[0] ?? '';
      assert.ok(first.includes(c.option) && first.includes(`'${c.value}'`), first);
      assert.match(first, /is invalid\. expected (an integer|a number)/);
    });
  }

  it('the parser accepts what it should and nothing else', () => {
    const seed = integerOption(0);
    assert.equal(seed('0'), 0);
    assert.equal(seed(' 42 '), 42);
    for (const bad of ['', 'abc', '1.5', '1e3', '0x10', '-1', 'NaN', 'Infinity', '99999999999999999999'])
      assert.throws(() => seed(bad), /expected an integer >= 0/, bad);
    const port = integerOption(0, 65535);
    assert.equal(port('65535'), 65535);
    assert.throws(() => port('65536'), /from 0 to 65535/);
    const speed = numberOption(0, { max: 0 });
    assert.equal(speed('max'), 0);
    assert.equal(speed('2.5'), 2.5);
    for (const bad of ['', 'fast', '-1', 'NaN', 'Infinity'])
      assert.throws(() => speed(bad), /expected a number/, bad);
  });

  it('a valid seed still runs (demo --seed 2)', async () => {
    const r = await cli('demo', '--seed', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kubetriage demo — scenario oom-rollout/);
  });
});
