// What the scale-out fault tests (a record that cannot be delivered, a changelog entry re-sent, a fatal
// producer error) share: the input that opens an incident, and readings of the service's log and metrics.
import { after, before } from 'node:test';
import type { Registry } from 'prom-client';
import type { Config } from '../../src/core/config.ts';
import type { CapturedRecord } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { type KafkaBroker, startKafkaBroker } from '../harness/kafka-broker.ts';
import { type ConsumedRecord, waitFor } from './kafka.ts';
import { logsRecord, nanos, POD_ATTRS } from './otlp.ts';

/** Six distinct ERROR lines of one pod: a burst that opens an incident on its own (floors: logs). */
export function errorLines(tag: string, at: number): Buffer {
  return logsRecord([
    {
      attrs: POD_ATTRS('shop', 'payments', 'payments-7d9f8c6b5-x2kqz'),
      records: Array.from({ length: 6 }, (_, i) => ({
        timeUnixNano: nanos(at + i),
        severityNumber: 17,
        severityText: 'ERROR',
        body: { stringValue: `charge ${tag}-${i} failed: upstream 503` },
      })),
    },
  ]);
}

/** A metric's value summed over its labels. */
export async function metric(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((a, v) => a + Number(v.value), 0);
}

/** Failed attempts the service logged for records of `topic`: the highest attempt number so far. */
export const attempts = (lines: Record<string, unknown>[], topic: string) =>
  Math.max(
    0,
    ...lines
      .filter((l) => l.topic === topic && typeof l.attempt === 'number')
      .map((l) => l.attempt as number),
  );

/** waitFor whose timeout says what the service logged last (its JSON lines in `lines`). */
export const untilLogging =
  (lines: Record<string, unknown>[]) =>
  (cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> =>
    waitFor(cond, ms, what).catch((err: Error) => {
      const tail = lines.slice(-20).map((l) => JSON.stringify(l));
      throw new Error(`${err.message}; service log:\n${tail.join('\n')}`);
    });

/**
 * A broker of this test file's own (it is killed or paused), started before its tests; the services
 * pushed to `services` are stopped before it. The file's helpers (topics, produce, consume, committed
 * offsets) talk to it.
 */
export function ownBroker(services: { stop(ms: number): Promise<unknown> }[]): {
  readonly broker: KafkaBroker;
} {
  let broker: KafkaBroker | undefined;
  before(async () => {
    broker = await startKafkaBroker();
    process.env.KAFKA_BROKERS = broker.brokers;
  });
  after(async () => {
    for (const s of services) await s.stop(10_000).catch(() => {});
    await broker?.stop();
  });
  return {
    get broker() {
      if (!broker) throw new Error('the broker is started in before()');
      return broker;
    },
  };
}

/**
 * The last context one process gives replaying the input records consumed back from Kafka (the first
 * record's time `firstMs`, one second apart): what every scale-out count must equal.
 */
export async function replayedLatest(
  input: ConsumedRecord[],
  config: Config,
  firstMs: number,
): Promise<IncidentContextDoc | undefined> {
  const capture: CapturedRecord[] = input.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: firstMs + 1000 * r.offset,
    key: null,
    headers: {},
    value: r.value!,
  }));
  let want: IncidentContextDoc | undefined;
  await replay({ input: capture, config, resolver: new NamePatternResolver(), onContext: (d) => (want = d) });
  return want;
}
