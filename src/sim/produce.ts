// Produces a scenario's records to Kafka as the Collector's exporter would have: same values, keys
// (nil unless a partition_* option made one), headers and CreateTime timestamps (the scenario's
// clock, not the wall clock). Pacing replays the gaps between records divided by `speed`
// (0 = as fast as the broker takes them). Partitions are left to the producer's partitioner
// (nil key: sticky/random; keyed: hash), since the target topics may have any partition count.
import kafka from '@confluentinc/kafka-javascript';
import { KubetriageError } from '../core/errors.ts';
import type { CapturedRecord } from '../stream/capture.ts';
import type { RdKafkaConfig } from '../stream/kafka/client-config.ts';

const { Producer } = kafka;

export interface ProduceOptions {
  /** librdkafka properties (bootstrap.servers, security…). */
  client: RdKafkaConfig;
  /** Time compression: 1 = real time, 10 = ten times faster, 0 = no pacing. */
  speed: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Injected for tests: monotonic ms clock and sleep. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const QUEUE_FULL = -184;

/** The wall-clock offset (ms from the first record) at which each record is due. */
export function pacingSchedule(records: readonly CapturedRecord[], speed: number): number[] {
  const first = records[0]?.timestamp ?? 0;
  return records.map((r) => (speed > 0 ? Math.max(0, (r.timestamp - first) / speed) : 0));
}

export async function produceRecords(
  records: readonly CapturedRecord[],
  opts: ProduceOptions,
): Promise<number> {
  const now = opts.now ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const producer = new Producer({
    'linger.ms': 5,
    'message.max.bytes': 16 * 1024 * 1024,
    dr_cb: true,
    log_level: 3,
    ...opts.client,
  } as never);
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 30_000 } as never, (err) =>
      err
        ? reject(
            new KubetriageError('KAFKA_FATAL', `cannot connect to Kafka: ${err.message}`, { cause: err }),
          )
        : resolve(),
    ),
  );
  let delivered = 0;
  let failed: Error | undefined;
  producer.on('delivery-report', (err) => {
    if (err) failed = err as unknown as Error;
    else delivered++;
  });
  producer.setPollInterval(20);
  const due = pacingSchedule(records, opts.speed);
  const t0 = now();
  let sent = 0;
  try {
    for (let i = 0; i < records.length; i++) {
      if (opts.signal?.aborted) break;
      if (failed) throw failed;
      const wait = t0 + (due[i] ?? 0) - now();
      if (wait > 0) await sleep(wait);
      const r = records[i]!;
      const headers = Object.entries(r.headers).map(([k, v]) => ({ [k]: v }));
      for (;;) {
        try {
          producer.produce(
            r.topic,
            null,
            r.value,
            r.key,
            r.timestamp,
            undefined,
            headers.length ? headers : undefined,
          );
          break;
        } catch (err) {
          if ((err as { code?: number }).code !== QUEUE_FULL) throw err;
          await sleep(20);
        }
      }
      sent++;
      opts.onProgress?.(sent, records.length);
    }
    await new Promise<void>((resolve, reject) =>
      producer.flush(60_000, (err) => (err ? reject(err) : resolve())),
    );
    const deadline = now() + 30_000;
    while (delivered < sent && !failed && now() < deadline) await sleep(10);
    if (failed) throw failed;
    if (delivered < sent)
      throw new KubetriageError('KAFKA_TRANSIENT', `only ${delivered} of ${sent} records were acknowledged`);
    return delivered;
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
