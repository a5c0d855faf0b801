import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOW_MEMORY_LIMIT_BYTES, youngGenerationWarning } from '../../src/cli/heap-sizing.ts';

const MIB = 2 ** 20;

test('a memory limit at or below 512 MiB without --max-semi-space-size is warned about', () => {
  const w = youngGenerationWarning(512 * MIB, [], undefined);
  assert.match(w ?? '', /memory limit 512 MiB/);
  assert.match(w ?? '', /NODE_OPTIONS=--max-semi-space-size=16/);
  assert.ok(youngGenerationWarning(256 * MIB, ['--enable-source-maps'], '--stack-trace-limit=50'));
});

test('no warning without a limit, above the low-memory limit, or with the flag in argv or NODE_OPTIONS', () => {
  assert.equal(youngGenerationWarning(0, [], undefined), undefined);
  assert.equal(youngGenerationWarning(2 ** 64, [], undefined), undefined);
  assert.equal(youngGenerationWarning(LOW_MEMORY_LIMIT_BYTES + MIB, [], undefined), undefined);
  assert.equal(youngGenerationWarning(512 * MIB, ['--max-semi-space-size=16'], undefined), undefined);
  assert.equal(youngGenerationWarning(512 * MIB, [], '--max-semi-space-size=32 --trace-warnings'), undefined);
  assert.equal(youngGenerationWarning(512 * MIB, ['--max_semi_space_size=8'], undefined), undefined);
});
