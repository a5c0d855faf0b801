import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../core/config.ts';
import { KubetriageError } from '../core/errors.ts';
import { formatCaptureLine } from '../stream/capture.ts';
import { baseClientConfig } from '../stream/kafka/client-config.ts';
import { recordTopics } from '../stream/kafka/recorder.ts';
import { integerOption } from './numeric-options.ts';

export function registerRecord(program: Command): void {
  program
    .command('record')
    .description('capture records from Kafka topics into a capture file (NDJSON) for replay')
    .requiredOption('-t, --topics <list>', 'comma-separated topics, e.g. otlp_logs,otlp_metrics,otlp_spans')
    .requiredOption('-o, --output <capture>', 'capture file to write')
    .option('-c, --config <file>', 'config YAML (for brokers and security)')
    .option('-b, --brokers <list>', 'comma-separated brokers (overrides config and KAFKA_BROKERS)')
    .option('--from <where>', 'earliest or latest', 'earliest')
    .option(
      '--follow',
      'keep capturing new records until interrupted (default: stop at the end seen at start)',
    )
    .option('--max-records <n>', 'stop after this many records (an integer >= 1)', integerOption(1))
    .action(
      async (opts: {
        topics: string;
        output: string;
        config?: string;
        brokers?: string;
        from: string;
        follow?: boolean;
        maxRecords?: number;
      }) => {
        if (opts.from !== 'earliest' && opts.from !== 'latest') {
          throw new KubetriageError('CONFIG_INVALID', `--from must be earliest or latest, not ${opts.from}`);
        }
        const config = loadConfig(opts.config);
        if (opts.brokers)
          config.kafka.brokers = opts.brokers
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
        const out = createWriteStream(opts.output);
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        process.once('SIGTERM', () => abort.abort());
        const n = await recordTopics(baseClientConfig(config.kafka), {
          topics: opts.topics
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          from: opts.from,
          follow: Boolean(opts.follow),
          maxRecords: opts.maxRecords ?? Number.POSITIVE_INFINITY,
          signal: abort.signal,
          onRecord: (r) => out.write(`${formatCaptureLine(r)}\n`),
          onProgress: (done, total) =>
            process.stderr.write(`\rrecorded ${done}${total !== undefined ? ` / ${total}` : ''} records`),
        });
        await new Promise<void>((resolve, reject) =>
          out.end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
        process.stderr.write(`\nwrote ${n} records to ${opts.output}\n`);
      },
    );
}
