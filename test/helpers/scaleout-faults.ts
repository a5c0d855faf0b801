// What the scale-out fault tests (a record that cannot be delivered, a changelog entry re-sent, a fatal
// producer error) share: the input that opens an incident, and readings of the service's log and metrics.
import type { Registry } from 'prom-client';
import { waitFor } from './kafka.ts';
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
