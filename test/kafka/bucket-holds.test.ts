// An open span bucket (latency and error rate per workload, closed on a timer) is output its records
// still owe: on shutdown it is dropped, not waited for, and its records stay uncommitted so that the
// next start re-reads them and rebuilds the bucket. Committing them would lose the bucket.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { createLogger } from '../../src/core/logger.ts';
import { newRegistry } from '../../src/core/metrics.ts';
import { StreamService } from '../../src/stream/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  committedOffsets,
  produce,
  serviceConfig,
  type TestTopics,
  testTopics,
  waitFor,
} from '../helpers/kafka.ts';
import { POD_ATTRS, span, tracesRecord } from '../helpers/otlp.ts';

const services: StreamService[] = [];
after(async () => {
  for (const s of services) await s.stop().catch(() => {});
});

function start(t: TestTopics): { service: StreamService; registry: Registry } {
  const registry = newRegistry();
  const service = new StreamService({
    // An hour-long bucket: it cannot close on its own while the test runs.
    config: serviceConfig(t, { spanBucket: '1h' }),
    log: createLogger('silent'),
    registry,
    resolver: new NamePatternResolver(),
  });
  services.push(service);
  return { service, registry };
}

async function tracesRead(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('kubetriage_records_total')?.get();
  return m?.values.find((v) => v.labels.signal === 'traces')?.value ?? 0;
}

describe('span buckets against a real broker', () => {
  it('regression: records in an open bucket are not committed at shutdown, and the next start re-reads them', async () => {
    const t = await testTopics(1);
    const now = Date.now();
    const spans = Array.from({ length: 20 }, (_, i) =>
      span({ name: 'GET /search', kind: 2, startMs: now + i, durationMs: 100 }),
    );
    // One record of healthy server spans: its only output is the open bucket.
    await produce(t.traces, [
      {
        value: tracesRecord([{ attrs: POD_ATTRS('shop', 'search', 'search-7d9f8c6b5-x2kqz'), spans }]),
        partition: 0,
      },
    ]);
    const first = start(t);
    await first.service.start();
    await waitFor(async () => (await tracesRead(first.registry)) === 1, 30_000, 'the record to be processed');
    const report = await first.service.stop();
    assert.deepEqual(
      report.uncommitted.map((u) => [u.topic, u.partition, u.processed]),
      [[t.traces, 0, 1]],
      'reported as processed but not committed',
    );
    const committed = (await committedOffsets(t.group, t.traces, 1)).get(0) ?? -1;
    assert.ok(committed < 1, `the bucket's record is not committed (committed ${committed})`);

    const second = start(t);
    await second.service.start();
    await waitFor(async () => (await tracesRead(second.registry)) === 1, 30_000, 'the record to be re-read');
    await second.service.stop();
  });
});
