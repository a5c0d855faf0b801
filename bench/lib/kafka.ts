// Kafka for benchmarks: the cluster in KAFKA_BROKERS, or a real single-node broker started for the run.
import { startKafkaBroker } from '../../test/harness/kafka-broker.ts';

export async function withBroker<T>(
  log: (l: string) => void,
  fn: (brokers: string) => Promise<T>,
): Promise<T> {
  if (process.env.KAFKA_BROKERS) return fn(process.env.KAFKA_BROKERS);
  log('starting a Kafka broker for the end-to-end benchmark');
  const broker = await startKafkaBroker({ log: (l) => log(l) });
  const prev = process.env.KAFKA_BROKERS;
  process.env.KAFKA_BROKERS = broker.brokers;
  try {
    return await fn(broker.brokers);
  } finally {
    // Assigning undefined would leave the string "undefined" in the environment.
    if (prev === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = prev;
    await broker.stop();
  }
}
