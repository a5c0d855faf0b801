import { createWriteStream, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import { TriageChain } from '../agents/index.ts';
import { loadConfig } from '../core/config.ts';
import { KubetriageError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { installRedactor } from '../core/redact.ts';
import { createEnrichment, loadSnapshot } from '../enrich/index.ts';
import { contextJson } from '../stream/incidents/context-json.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import { replay } from '../stream/replay.ts';
import { integerOption } from './numeric-options.ts';
import { writeLine } from './output.ts';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('run captured Kafka records through the pipeline offline; writes documents as NDJSON')
    .requiredOption('-i, --input <capture>', 'capture file (NDJSON, one Kafka record a line)')
    .option('-c, --config <file>', 'config YAML (defaults when omitted)')
    .option('-o, --output <file>', 'write documents here instead of stdout')
    .option(
      '-s, --snapshot <file>',
      'cluster snapshot for the joins (team, rollouts): what `kubectl get pods,replicasets,deployments,statefulsets,daemonsets,services,nodes -A -o json` prints',
    )
    .option('--ollama <url>', 'also ask this Ollama for triage (output is then not deterministic)')
    .option('--model <name>', 'model for --ollama (default: agents.llm.model)')
    .option('--serve', 'then serve the incident page for the capture (read-only) until Ctrl-C')
    .option('--port <port>', 'port for --serve (0: any free port)', integerOption(0, 65535), 9464)
    .option('--host <host>', 'bind address for --serve', '127.0.0.1')
    .action(
      async (opts: {
        input: string;
        config?: string;
        output?: string;
        snapshot?: string;
        ollama?: string;
        model?: string;
        serve?: boolean;
        port: number;
        host: string;
      }) => {
        const config = loadConfig(opts.config, {});
        // Every document written is redacted (deterministic: same input, same bytes).
        const redactor = installRedactor(config.redact);
        // The enrichment cache, filled from the snapshot exactly as informers fill it in `run`;
        // without one it answers from name patterns (and enrich.rules still apply).
        const enrichment = createEnrichment(config.enrich);
        const snapshot = opts.snapshot ? loadSnapshot(enrichment, opts.snapshot) : undefined;
        // Replay is deterministic: rules only, whatever the config says, unless --ollama asks otherwise.
        if (opts.ollama !== undefined && !URL.canParse(opts.ollama))
          throw new KubetriageError('CONFIG_INVALID', `--ollama ${opts.ollama} is not a URL`);
        config.agents.llm.url = opts.ollama ?? null;
        if (opts.model) config.agents.llm.model = opts.model;
        const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level);
        const out: NodeJS.WritableStream | WriteStream = opts.output
          ? createWriteStream(opts.output)
          : process.stdout;
        // Latest context per incident, in first-seen order (a Map keeps insertion order on update).
        const latest = new Map<string, IncidentContextDoc>();
        // The page (fastify and its plugins) is loaded only for --serve: a plain replay's start-up
        // does not pay for it.
        const page = opts.serve ? await import('../page/index.ts') : undefined;
        const store = page ? new page.IncidentStore({ maxIncidents: config.page.maxIncidents }) : undefined;
        const result = await replay({
          input: opts.input,
          config,
          resolver: enrichment.resolver,
          onContext: (doc) => {
            writeLine(out, contextJson(doc, redactor));
            latest.set(doc.id, doc);
            store?.onContext(doc);
          },
          onDeadLetter: (d) => log.warn({ deadLetter: d }, `dead letter: ${d.error}`),
        });
        // The end of input flushed every incident's latest state above; its triage report follows.
        const chain = new TriageChain({ config: config.agents });
        const reports = await Promise.all([...latest.values()].map((doc) => chain.triage(doc)));
        for (const r of reports) writeLine(out, redactor.json(r, 'report'));
        if (out !== process.stdout)
          await new Promise<void>((resolve, reject) =>
            (out as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())),
          );
        log.info(
          {
            records: result.records,
            contexts: result.contexts,
            reports: reports.length,
            deadLetters: result.deadLetters.length,
            ...(snapshot ? { snapshot: snapshot.loaded } : {}),
          },
          'replay finished',
        );
        if (!store || !page) return;
        for (const r of reports) store.onReport(r);
        const { app, url } = await page.servePage({
          store,
          config: config.page,
          host: opts.host,
          port: opts.port,
        });
        process.stderr.write(`incident page: ${url} (read-only; Ctrl-C stops)\n`);
        await page.untilSignal(app);
      },
    );
}
