// librdkafka properties shared by our consumer and producers. Secrets come from the environment only.
import type { Config } from '../../core/config.ts';
import { KubetriageError } from '../../core/errors.ts';

export type RdKafkaConfig = Record<string, string | number | boolean | ((...args: never[]) => unknown)>;

export function baseClientConfig(cfg: Config['kafka'], env: NodeJS.ProcessEnv = process.env): RdKafkaConfig {
  const c: RdKafkaConfig = {
    'bootstrap.servers': cfg.brokers.join(','),
    'client.id': cfg.clientId,
    'security.protocol': cfg.security.protocol,
    // Keep librdkafka's own logging quiet; errors surface through callbacks and our metrics.
    log_level: 3,
  };
  if (cfg.security.protocol.startsWith('sasl')) {
    const user = env.KAFKA_SASL_USERNAME;
    const pass = env.KAFKA_SASL_PASSWORD;
    if (!user || !pass) {
      throw new KubetriageError(
        'CONFIG_INVALID',
        `kafka.security.protocol is ${cfg.security.protocol}: set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD in the environment`,
      );
    }
    c['sasl.mechanisms'] = cfg.security.saslMechanism ?? 'PLAIN';
    c['sasl.username'] = user;
    c['sasl.password'] = pass;
  }
  if (cfg.security.caFile) c['ssl.ca.location'] = cfg.security.caFile;
  for (const [k, v] of Object.entries(cfg.librdkafka)) c[k] = v;
  return c;
}

/**
 * Room above kafka.maxRecordBytes for what a dead-letter copy adds (our headers, the record's own
 * headers, batch framing): the copy of the largest record we accept must fit the producer's limit.
 */
export const RECORD_OVERHEAD_BYTES = 64 * 1024;

/** librdkafka's defaults, kept as floors: a smaller maxRecordBytes never shrinks what the client takes. */
const RDKAFKA_MESSAGE_MAX_BYTES = 1_000_000;
const RDKAFKA_FETCH_MAX_BYTES = 52_428_800;

/**
 * Bytes fetched per partition per request (librdkafka's default is 1 MiB). A Collector batch of 1000
 * log records is ~750 KB, so the default fetched about one record per partition per round trip, and
 * once decode got fast the consume loop waited on fetches: main thread on CPU 0.55 of the time it
 * could run, 1.4 s for 150k records; with 16 MiB 0.85–0.93, 0.8–1.0 s (bench/e2e.ts, 5 rounds each).
 * Memory stays bounded by queued.max.messages.kbytes (64 MiB). kafka.librdkafka can override it.
 */
const PARTITION_FETCH_BYTES = 16 * 1024 * 1024;

/** The producer's message.max.bytes: every record we accept (plus dead-letter headers) can be produced. */
export function producerMaxBytes(cfg: Config['kafka']): number {
  return Math.max(RDKAFKA_MESSAGE_MAX_BYTES, cfg.maxRecordBytes + RECORD_OVERHEAD_BYTES);
}

/** Delivery that survives broker hiccups: acks from all in-sync replicas, idempotent, ordered. */
export function reliableProducerConfig(cfg: Config['kafka'], env?: NodeJS.ProcessEnv): RdKafkaConfig {
  return {
    ...baseClientConfig(cfg, env),
    'enable.idempotence': true,
    acks: 'all',
    'linger.ms': 5,
    'compression.codec': 'lz4',
    dr_cb: true,
    // librdkafka's default (1,000,000) is below the 16 MiB default maxRecordBytes: the dead-letter copy
    // of an oversized record failed locally and was retried forever (issue 14, defect 2).
    'message.max.bytes': cfg.librdkafka['message.max.bytes'] ?? producerMaxBytes(cfg),
  };
}

/**
 * The group consumer's sizes: a response must hold one whole record of maxRecordBytes (the broker
 * returns a batch larger than fetch.max.bytes alone, but a response above receive.message.max.bytes
 * breaks the connection); librdkafka wants receive.message.max.bytes >= fetch.max.bytes + 512.
 */
export function consumerConfig(cfg: Config['kafka'], env?: NodeJS.ProcessEnv): RdKafkaConfig {
  const fetchMax = Math.max(RDKAFKA_FETCH_MAX_BYTES, cfg.maxRecordBytes + RECORD_OVERHEAD_BYTES);
  return {
    'fetch.max.bytes': fetchMax,
    'max.partition.fetch.bytes': Math.min(PARTITION_FETCH_BYTES, fetchMax),
    'receive.message.max.bytes': fetchMax + RECORD_OVERHEAD_BYTES,
    ...baseClientConfig(cfg, env),
  };
}
