import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { TriageChain } from '../../src/agents/chain.ts';
import { TriagePublisher } from '../../src/agents/publisher.ts';
import type { TriageReport } from '../../src/agents/report.ts';
import { validateConfig } from '../../src/core/config.ts';
import { canaryCrashLoop } from './contexts.ts';

const log = pino({ level: 'silent' });

describe('agents: triage publisher (the run wiring, without Kafka)', () => {
  it('sends one report per context keyed by incident id, and drops a report older than one already sent', async () => {
    const chain = new TriageChain({ config: validateConfig({}).agents });
    const sent: { key: string; report: TriageReport }[] = [];
    const registry = new Registry();
    const publisher = new TriagePublisher({
      chain,
      send: async (key, value) => {
        sent.push({ key, report: JSON.parse(value.toString()) });
      },
      log,
      registry,
    });
    const doc = canaryCrashLoop();
    const newer = { ...structuredClone(doc), revision: doc.revision + 1 };
    publisher.onContext(newer);
    assert.ok(await publisher.drain(1000));
    publisher.onContext(doc); // finishes after its successor was sent
    assert.ok(await publisher.drain(1000));
    assert.deepEqual(
      sent.map((s) => [s.key, s.report.revision]),
      [[doc.id, doc.revision + 1]],
    );
    const m = await registry.getSingleMetric('kubetriage_triage_published_total')!.get();
    assert.deepEqual(Object.fromEntries(m.values.map((v) => [v.labels.result, v.value])), {
      sent: 1,
      stale: 1,
    });
  });

  it('bounds the backlog: beyond maxPending a context is skipped and counted, never queued', async () => {
    const chain = new TriageChain({ config: validateConfig({}).agents });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const registry = new Registry();
    const publisher = new TriagePublisher({ chain, send: () => gate, log, registry, maxPending: 1 });
    const doc = canaryCrashLoop();
    publisher.onContext(doc);
    publisher.onContext({ ...structuredClone(doc), revision: doc.revision + 1 });
    assert.equal(publisher.pending, 1);
    assert.equal(await publisher.drain(10), false, 'a send still in flight');
    release();
    assert.ok(await publisher.drain(1000));
    const m = await registry.getSingleMetric('kubetriage_triage_published_total')!.get();
    assert.deepEqual(Object.fromEntries(m.values.map((v) => [v.labels.result, v.value])), {
      sent: 1,
      skipped: 1,
    });
  });
});
