// The documented memory bound, checked on every test run: 10,000 pods and their owners (1,000
// Deployments × 3 ReplicaSets, Services, nodes, namespaces) in the cache under BOUND_MB_10K of heap,
// through both the snapshot path and the informers (bench/enrich-memory.ts, one size, fresh process).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BOUND_MB_10K } from '../../bench/enrich-memory.ts';

describe('enrich: memory bound', () => {
  it(`holds 10,000 pods and their owners in under ${BOUND_MB_10K} MB of heap`, {
    timeout: 120_000,
  }, async () => {
    const bench = new URL('../../bench/enrich-memory.ts', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--expose-gc',
      bench,
      '--child',
      '10000',
    ]);
    const p = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      snapshotMB: number;
      informersMB: number;
      bytesPerPod: number;
    };
    assert.ok(p.snapshotMB < BOUND_MB_10K, `snapshot path: ${p.snapshotMB} MB`);
    assert.ok(p.informersMB < BOUND_MB_10K, `informer path: ${p.informersMB} MB`);
  });
});
