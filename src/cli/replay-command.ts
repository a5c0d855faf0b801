import { createWriteStream, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { replay } from '../stream/replay.ts';
import { NamePatternResolver } from '../stream/workload.ts';
import { writeLine } from './output.ts';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('run captured Kafka records through the pipeline offline; writes documents as NDJSON')
    .requiredOption('-i, --input <capture>', 'capture file (NDJSON, one Kafka record a line)')
    .option('-c, --config <file>', 'config YAML (defaults when omitted)')
    .option('-o, --output <file>', 'write documents here instead of stdout')
    .action(async (opts: { input: string; config?: string; output?: string }) => {
      const config = loadConfig(opts.config, {});
      const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level);
      const out: NodeJS.WritableStream | WriteStream = opts.output
        ? createWriteStream(opts.output)
        : process.stdout;
      const result = await replay({
        input: opts.input,
        config,
        resolver: new NamePatternResolver(),
        onContext: (doc) => writeLine(out, JSON.stringify(doc)),
        onDeadLetter: (d) => log.warn({ deadLetter: d }, `dead letter: ${d.error}`),
      });
      if (out !== process.stdout)
        await new Promise<void>((resolve, reject) =>
          (out as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
      log.info(
        { records: result.records, contexts: result.contexts, deadLetters: result.deadLetters.length },
        'replay finished',
      );
    });
}
