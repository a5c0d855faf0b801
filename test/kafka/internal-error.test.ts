// A bug inside the pipeline (a stage that throws on a record that decoded fine) is an internal error:
// counted by stage in kubetriage_internal_errors_total and logged with its stack; the record is still
// dead-lettered (not lost) but as INTERNAL_ERROR with its stage, never as a decode error.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { newRegistry } from '../../src/core/metrics.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { DLQ_HEADERS, StreamService } from '../../src/stream/service.ts';
import type { WorkloadRef } from '../../src/stream/signals.ts';
import type { WorkloadDetails } from '../../src/stream/workload.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import {
  committedOffsets,
  consumeUntil,
  produce,
  serviceConfig,
  testTopics,
  waitFor,
} from '../helpers/kafka.ts';

const T0 = Date.now() - 60_000;

/** A resolver with bugs on purpose: resolving pods of `boom` throws (normalise), describing `bang` too (grouping). */
class BuggyResolver extends NamePatternResolver {
  override resolve(...args: Parameters<NamePatternResolver['resolve']>): WorkloadRef | undefined {
    if (args[2].startsWith('boom-'))
      throw new TypeError("Cannot read properties of undefined (reading 'kind')");
    return super.resolve(...args);
  }

  describe(_namespace: string, workload: WorkloadRef): WorkloadDetails | undefined {
    if (workload.name === 'bang') throw new RangeError('index out of range');
    return undefined;
  }
}

function event(pod: string) {
  return encodeOtlp(
    'ExportLogsServiceRequest',
    k8sEventsRequest([
      {
        namespace: 'shop',
        reason: 'BackOff',
        message: `Back-off restarting failed container app in pod ${pod}`,
        type: 'Warning',
        object: { kind: 'Pod', name: pod, fieldPath: 'spec.containers{app}' },
        uid: `ev-${pod}`,
        count: 1,
        atMs: T0,
      },
    ]),
  );
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((a, v) => a + v.value, 0);
}

const services: StreamService[] = [];
after(async () => {
  for (const s of services) await s.stop().catch(() => {});
});

describe('internal errors in the pipeline', () => {
  it('regression: a throwing stage is reported as an internal error by stage, not filed as a decode error', async () => {
    const t = await testTopics(1);
    await produce(t.logs, [
      { value: event('boom-7d9f8c6b5-x2kqz'), partition: 0 },
      { value: event('bang-7d9f8c6b5-x2kqz'), partition: 0 },
      { value: event('api-7d9f8c6b5-x2kqz'), partition: 0 },
    ]);
    const registry = newRegistry();
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const service = new StreamService({
      config: serviceConfig(t, { grouping: { groupWait: '500ms', groupInterval: '500ms' } }),
      log,
      registry,
      resolver: new BuggyResolver(),
    });
    services.push(service);
    await service.start();

    const dlq = await consumeUntil(t.dlq, (r) => r.length >= 2);
    assert.equal(dlq.length, 2);
    const byOffset = new Map(dlq.map((r) => [r.headers[DLQ_HEADERS.offset]?.toString(), r]));
    for (const [offset, stage] of [
      ['0', 'normalise'],
      ['1', 'group'],
    ] as const) {
      const r = byOffset.get(offset);
      assert.ok(r, `record ${offset} dead-lettered, not lost`);
      assert.equal(r.headers[DLQ_HEADERS.code]?.toString(), 'INTERNAL_ERROR');
      assert.equal(r.headers[DLQ_HEADERS.stage]?.toString(), stage);
    }
    assert.match(byOffset.get('0')!.headers[DLQ_HEADERS.error]!.toString(), /Cannot read properties/);
    assert.equal(await metric(registry, 'kubetriage_internal_errors_total', { stage: 'normalise' }), 1);
    assert.equal(await metric(registry, 'kubetriage_internal_errors_total', { stage: 'group' }), 1);
    assert.equal(await metric(registry, 'kubetriage_decode_errors_total'), 0, 'no decode error counted');
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => /internal error/.test(l.msg));
    assert.equal(errors.length, 2);
    for (const e of errors) {
      assert.equal(e.level, 50, 'logged as an error');
      assert.match(e.stack, /at BuggyResolver\./, 'with the stack');
    }
    // The stream goes on: the healthy workload's record becomes an incident, everything is committed.
    const ctx = await consumeUntil(t.contexts, (r) => r.length >= 1);
    const doc = JSON.parse(ctx[0]!.value!.toString()) as IncidentContextDoc;
    assert.equal(doc.scope.workload.name, 'api');
    await waitFor(async () => (await committedOffsets(t.group, t.logs, 1)).get(0) === 3, 15_000, 'commit');
    await service.stop();
  });

  it('regression: a throw in the pipeline timers is counted and logged once a minute, not a crash', async () => {
    const t = await testTopics(1);
    await produce(t.logs, [{ value: event('api-7d9f8c6b5-x2kqz'), partition: 0 }]);
    const registry = newRegistry();
    const lines: string[] = [];
    const service = new StreamService({
      // The incident goes quiet at once: every tick asks the resolver whether its fault still shows.
      config: serviceConfig(t, {
        grouping: { groupWait: '200ms', groupInterval: '200ms', resolveTimeout: '1s' },
      }),
      log: pino({ level: 'info' }, { write: (s: string) => lines.push(s) }),
      registry,
      resolver: new (class extends NamePatternResolver {
        currentFault(): undefined {
          throw new Error('currentFault is broken');
        }
      })(),
    });
    services.push(service);
    await service.start();
    await waitFor(
      async () => (await metric(registry, 'kubetriage_internal_errors_total', { stage: 'tick' })) >= 3,
      30_000,
      'the timers to fail a few times',
    );
    assert.equal(service.health().ok, true, 'the process goes on');
    const logged = lines
      .map((l) => JSON.parse(l))
      .filter((l) => /internal error in the pipeline timers/.test(l.msg));
    assert.equal(logged.length, 1, 'the stack once, not every tick');
    assert.match(logged[0].stack, /currentFault is broken/);
    await service.stop();
  });
});
