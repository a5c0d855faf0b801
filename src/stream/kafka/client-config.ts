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

/** Delivery that survives broker hiccups: acks from all in-sync replicas, idempotent, ordered. */
export function reliableProducerConfig(cfg: Config['kafka'], env?: NodeJS.ProcessEnv): RdKafkaConfig {
  return {
    ...baseClientConfig(cfg, env),
    'enable.idempotence': true,
    acks: 'all',
    'linger.ms': 5,
    'compression.codec': 'lz4',
    dr_cb: true,
  };
}
