import type { Command } from 'commander';
import { TriageChain, TriagePublisher } from '../agents/index.ts';
import { loadConfig } from '../core/config.ts';
import { createHttpServer } from '../core/http.ts';
import { createLogger } from '../core/logger.ts';
import { newRegistry } from '../core/metrics.ts';
import { installRedactor } from '../core/redact.ts';
import { settledWithin } from '../core/settle.ts';
import { startTracing, traceContextEmitted } from '../core/tracing.ts';
import { createEnrichment, kubeConfigFrom, registerEnrichMetrics, watchCluster } from '../enrich/index.ts';
import { wireNotify } from '../notify/index.ts';
import {
  IncidentStore,
  pageFeedFor,
  pageSourceOf,
  parseReport,
  registerPageRoutes,
  setPageLinks,
} from '../page/index.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import { baseClientConfig, reliableProducerConfig } from '../stream/kafka/client-config.ts';
import { AckedProducer } from '../stream/kafka/producer.ts';
import { ScaleOutService } from '../stream/scaleout/service.ts';
import { StreamService } from '../stream/service.ts';
import { wireExec } from './exec-wiring.ts';
import { youngGenerationWarning } from './heap-sizing.ts';
import { integerOption } from './numeric-options.ts';
import { catchUpTriage } from './triage-catch-up.ts';

/** How long shutdown waits for Slack posts and executions in flight. */
const EXEC_DRAIN_MS = 20_000;
/** Of the shutdown grace, what the stages after the stream (triage, exec, their producer) keep. */
const GRACE_AFTER_STREAM_MS = 7000;

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
    .option('--port <port>', 'HTTP port (overrides http.port; 0: any free port)', integerOption(0, 65535))
    .option('--host <host>', 'HTTP bind address (overrides http.host, default loopback)')
    .action(async (opts: { config?: string; port?: number; host?: string }) => {
      const config = loadConfig(opts.config);
      if (opts.port !== undefined) config.http.port = opts.port;
      if (opts.host !== undefined) config.http.host = opts.host;
      const log = createLogger(config.log.level);
      const heapWarning = youngGenerationWarning(
        process.constrainedMemory(),
        process.execArgv,
        process.env.NODE_OPTIONS,
      );
      if (heapWarning) log.warn({ memoryLimitBytes: process.constrainedMemory() }, heapWarning);
      const registry = newRegistry();
      // Before anything can log or emit: every output is redacted with the configured patterns.
      installRedactor(config.redact, registry);
      // Off by default: then no OpenTelemetry SDK is loaded at all.
      const tracing = await startTracing(config.tracing, process.env, (err) =>
        log.warn({ err: err.message }, 'tracing: final span export failed'),
      );
      // The incident page (src/page): what the pipeline emits, held for /incidents; links point there.
      const page = config.page.enabled
        ? new IncidentStore({ maxIncidents: config.page.maxIncidents })
        : undefined;
      setPageLinks(config.page.externalUrl);
      // page.source kafka (several replicas): every replica reads every incident (and, with replicated
      // approvals, every proposal chain) from the topics; what this process produces is added at once too.
      const pageFeed = page ? pageFeedFor(config, page, log, registry) : undefined;
      const chainsFromTopic = pageFeed !== undefined && config.exec.replicated.commandsTopic !== null;
      // Agents: every acknowledged context is triaged and its report sent to the triage topic.
      const triageProducer = new AckedProducer(reliableProducerConfig(config.kafka));
      triageProducer.onError = (err, topic, attempt) =>
        log.error({ err: err.message, topic, attempt }, 'triage report produce failed; retrying');
      const triage = new TriagePublisher({
        chain: new TriageChain({ config: config.agents, registry, tracing }),
        send: (key, value) =>
          triageProducer.send({ topic: config.kafka.topics.triage, key, value }).then(() => {
            exec.onReport(value);
            notify.onReport(value);
            const report = page && parseReport(value);
            if (report) page.onReport(report);
          }),
        log,
        registry,
      });
      // Alertmanager (src/notify, off by default): every durable report also goes out as an alert.
      const notify = wireNotify({ config: config.notify, log, registry });
      // Enrichment (src/enrich): with enrich.enabled, informers keep a slim cache of the cluster;
      // otherwise the same resolver answers from name patterns (enrich.rules apply either way).
      const enrichment = createEnrichment(config.enrich);
      const cluster = config.enrich.enabled
        ? watchCluster(enrichment, config.enrich, kubeConfigFrom(config.enrich), {
            log: log.child({ stage: 'enrich' }),
          })
        : undefined;
      if (cluster) registerEnrichMetrics(registry, cluster);
      // scaleOut.enabled: replicas share ingest and own incident scopes (src/stream/scaleout).
      const onContext = (doc: IncidentContextDoc) => {
        traceContextEmitted(tracing, doc);
        page?.onContext(doc);
        triage.onContext(doc);
      };
      const service = config.scaleOut.enabled
        ? new ScaleOutService({ config, log, registry, resolver: enrichment.resolver, onContext })
        : new StreamService({
            config,
            log,
            registry,
            resolver: enrichment.resolver,
            onContext,
            onRestored: (docs) => {
              for (const d of docs) page?.onContext(d);
              return catchUpTriage({
                docs,
                kafka: baseClientConfig(config.kafka),
                topic: config.kafka.topics.triage,
                sinceMs: Date.now() - config.grouping.restoreLookback,
                publisher: triage,
                log,
              });
            },
          });
      const http = createHttpServer(registry, {
        healthy: () => service.health(),
        ready: () => {
          const r = service.readiness();
          if (!cluster) return r;
          const e = cluster.readiness();
          return { ok: r.ok && e.ok, detail: { ...r.detail, ...e.detail } };
        },
      });
      // Exec stage (src/exec): Slack proposals, approvals, scale, audit; routes must exist before listen.
      const exec = await wireExec({
        config,
        log,
        registry,
        http,
        send: (topic, key, value) => triageProducer.send({ topic, key, value }),
        tracing,
        // Replicated with the page feed: histories are the chains on the proposals topic, not this file.
        ...(page && !chainsFromTopic ? { onAudit: (e) => page.onAudit(e) } : {}),
      });
      if (page)
        await registerPageRoutes(http, {
          store: page,
          config: config.page,
          approvals: exec.approvals,
          registry,
        });
      const address = await http.listen({ host: config.http.host, port: config.http.port });
      log.info({ address, page: page ? pageSourceOf(config) : 'off' }, 'http listening');
      pageFeed?.start();
      await triageProducer.connect();
      log.info(
        { topic: config.kafka.topics.triage, llm: config.agents.llm.url ? config.agents.llm.model : null },
        'agents ready',
      );
      if (cluster) {
        cluster.start();
        // Signals before the first list resolve by name patterns; wait a bounded time for the cache.
        const synced = await cluster.waitForSync(config.enrich.syncTimeout);
        if (synced)
          log.info(
            { informers: cluster.informers.length, objects: enrichment.store.stats.objects },
            'cluster cache synced',
          );
        else
          log.warn(
            { readiness: cluster.readiness().detail },
            'cluster cache not synced yet; consuming anyway',
          );
      }
      await service.start();

      // SIGTERM: everything below finishes within shutdown.grace whatever Kafka, Slack or Ollama do.
      const code = await new Promise<number>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            log.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          stopping = true;
          const grace = config.shutdown.grace;
          const deadline = Date.now() + grace;
          const left = (reserveMs: number) => Math.max(0, deadline - reserveMs - Date.now());
          log.info({ signal, graceMs: grace }, 'shutting down: flushing and committing');
          // The backstop: a step that ignores its own bound still cannot keep the process past grace.
          setTimeout(() => {
            log.error({ graceMs: grace }, 'shutdown grace period ran out: exiting now');
            process.exit(1);
          }, grace).unref();
          let complete = false;
          service
            // The stream gets most of the grace; the later stages the rest (each bounded below).
            .stop(left(GRACE_AFTER_STREAM_MS))
            .then((report) => {
              complete = report.complete;
              return cluster?.stop();
            })
            // Contexts flushed by stop() are triaged too; their reports get a bounded wait.
            .then(() =>
              triage.drain(
                Math.min(15_000 + (config.agents.llm.url ? config.agents.llm.timeout : 0), left(4000)),
              ),
            )
            .then((done) => {
              if (!done) log.warn({ pending: triage.pending }, 'triage reports still pending at shutdown');
              // Slack posts and executions in flight finish (and are audited) before the producer that
              // mirrors the audit goes away.
              return exec.close(Math.min(EXEC_DRAIN_MS, left(3000)));
            })
            .then((closed) => {
              if (!closed)
                log.warn(
                  { waitedMs: EXEC_DRAIN_MS },
                  'exec: Slack posts or executions still in flight at shutdown',
                );
            })
            .then(() => notify.close(Math.min(5_000, left(7_000))))
            .then(() => pageFeed?.close(Math.min(3_000, left(6_500))))
            // librdkafka's close itself may take up to 5 s more when the broker is away.
            .then(() => triageProducer.disconnect(left(6000)))
            // The last spans (this shutdown's approvals and reports) are flushed, bounded.
            .then(() => settledWithin(tracing.shutdown(), Math.max(500, left(1_000))))
            .catch((err: Error) => log.error({ err: err.message }, 'error during shutdown'))
            .finally(() => http.close().finally(() => resolve(complete ? 0 : 1)));
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      // Exit now: a Kafka client left open while brokers are away would keep the process alive.
      // 1 = something was not committed (it is re-read after a restart), 0 = a clean stop.
      process.exit(code);
    });
}
