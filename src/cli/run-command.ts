import type { Command } from 'commander';
import { loadConfig } from '../core/config.ts';
import { createHttpServer } from '../core/http.ts';
import { createLogger } from '../core/logger.ts';
import { newRegistry } from '../core/metrics.ts';
import { StreamService } from '../stream/service.ts';
import { NamePatternResolver } from '../stream/workload.ts';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'the service: consume OTLP from Kafka, emit incident contexts, serve /metrics, /healthz, /readyz',
    )
    .option(
      '-c, --config <file>',
      'config YAML (see config/kubetriage.yaml); env KAFKA_BROKERS, INCIDENT_TOPIC, OUTPUT_TOPIC override it',
    )
    .option('--port <port>', 'HTTP port (overrides http.port)', (v) => Number.parseInt(v, 10))
    .action(async (opts: { config?: string; port?: number }) => {
      const config = loadConfig(opts.config);
      if (opts.port !== undefined) config.http.port = opts.port;
      const log = createLogger(config.log.level);
      const registry = newRegistry();
      const service = new StreamService({ config, log, registry, resolver: new NamePatternResolver() });
      const http = createHttpServer(registry, {
        healthy: () => service.health(),
        ready: () => service.readiness(),
      });
      const address = await http.listen({ host: config.http.host, port: config.http.port });
      log.info({ address }, 'http listening');
      await service.start();

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            log.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          stopping = true;
          log.info({ signal }, 'shutting down: flushing and committing');
          service
            .stop()
            .catch((err: Error) => log.error({ err: err.message }, 'error during shutdown'))
            .finally(() => http.close().finally(resolve));
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
