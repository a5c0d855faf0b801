// `kubetriage simulate --scenario NAME`: a scenario's telemetry as a capture file (default: stdout)
// or produced to Kafka (--brokers), optionally with its cluster snapshot.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig, validateConfig } from '../core/config.ts';
import { KubetriageError } from '../core/errors.ts';
import type { CollectorOptions } from '../sim/collector.ts';
import { type CapturedRecord, formatCaptureLine } from '../stream/capture.ts';
import { baseClientConfig } from '../stream/kafka/client-config.ts';
import { integerOption, numberOption } from './numeric-options.ts';

interface SimulateOptions {
  scenario?: string;
  list?: boolean;
  output?: string;
  brokers?: string;
  config?: string;
  topicsLogs?: string;
  topicsMetrics?: string;
  topicsTraces?: string;
  speed: number;
  seed: number;
  start?: string;
  snapshot?: string;
  partitions: number;
  partitionByResource?: boolean;
  partitionTracesById?: boolean;
  noise?: boolean;
}

function bad(message: string): KubetriageError {
  return new KubetriageError('CONFIG_INVALID', message);
}

/** `--speed N` (> 0), or 0 / max for no pacing. */
export const parseSpeed = numberOption(0, { max: 0 });

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('realistic telemetry for a named scenario, as a capture file or produced to Kafka')
    .option('-s, --scenario <name>', 'scenario to run (see --list)')
    .option('-l, --list', 'list the scenarios with a one-line description')
    .option('-o, --output <capture>', 'write the capture here ("-" or omitted: stdout)')
    .option('-b, --brokers <list>', 'produce to these Kafka brokers instead of writing a capture')
    .option('-c, --config <file>', 'config YAML: input topic names (and Kafka security for --brokers)')
    .option('--topics-logs <topic>', 'logs topic (default otlp_logs, or the config file’s first)')
    .option('--topics-metrics <topic>', 'metrics topic (default otlp_metrics)')
    .option('--topics-traces <topic>', 'traces topic (default otlp_spans)')
    .option(
      '--speed <n>',
      'Kafka pacing: real time divided by n; 0 or max = as fast as possible',
      parseSpeed,
      1,
    )
    .option('--seed <n>', 'noise seed (same seed, same bytes; an integer >= 0)', integerOption(0), 1)
    .option(
      '--noise',
      'lay the background of a healthy cluster over the scenario (5xx, restarts, rollouts, HPA, logs, node events); default for the quiet family',
    )
    .option('--no-noise', 'no background layer, even for the quiet family')
    .option('--start <iso>', 'base time (default: 2026-11-28T09:00:00Z for captures, now for --brokers)')
    .option('--snapshot <file>', 'also write the cluster snapshot (kubectl get … -A -o json) here')
    .option('--partitions <n>', 'partitions per topic recorded in the capture', integerOption(1, 100_000), 3)
    .option(
      '--partition-by-resource',
      'one record per resource with a 16-byte key (partition_*_by_resource_attributes)',
    )
    .option('--partition-traces-by-id', 'one record per trace, keyed by trace id (partition_traces_by_id)')
    .action(async (opts: SimulateOptions) => {
      // Imported here: the simulator is ~50 modules that `run` and `--help` never use (bench/startup.ts).
      const { getScenario, listScenarios } = await import('../sim/scenarios/index.ts');
      const { produceRecords } = await import('../sim/produce.ts');
      if (opts.list) {
        const scenarios = listScenarios();
        const width = Math.max(...scenarios.map((s) => s.name.length));
        for (const s of scenarios) process.stdout.write(`${s.name.padEnd(width)}  ${s.description}\n`);
        return;
      }
      if (!opts.scenario) throw bad('simulate needs --scenario NAME (or --list)');
      const scenario = getScenario(opts.scenario);
      const { seed, speed } = opts;
      const config = opts.config ? loadConfig(opts.config, {}) : validateConfig({});
      // Brokers reject CreateTimes far from their clock (log.message.timestamp.after.max.ms, 1 h by default
      // in Kafka 4) and retention would drop far-past ones at once: to Kafka, the scenario starts now
      // unless --start says otherwise. Captures keep the fixed default epoch (byte-stable).
      const start =
        opts.start ??
        (opts.brokers ? new Date(Math.floor(Date.now() / 1000) * 1000).toISOString() : undefined);
      const topics: CollectorOptions['topics'] = {
        logs: opts.topicsLogs ?? config.kafka.topics.logs[0] ?? 'otlp_logs',
        metrics: opts.topicsMetrics ?? config.kafka.topics.metrics[0] ?? 'otlp_metrics',
        traces: opts.topicsTraces ?? config.kafka.topics.traces[0] ?? 'otlp_spans',
      };
      const run = scenario.generate({
        seed,
        start,
        noise: opts.noise,
        collector: {
          topics,
          partitions: opts.partitions,
          partitionLogsByResource: Boolean(opts.partitionByResource),
          partitionMetricsByResource: Boolean(opts.partitionByResource),
          partitionTracesById: Boolean(opts.partitionTracesById),
        },
      });
      if (opts.snapshot) await writeFile(opts.snapshot, `${JSON.stringify(run.snapshot, null, 4)}\n`);

      if (opts.brokers) {
        if (opts.output)
          throw bad('--output and --brokers are exclusive: write a capture or produce to Kafka');
        config.kafka.brokers = opts.brokers
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const total = run.records.length;
        const span = ((run.end - run.start) / 60_000).toFixed(0);
        process.stderr.write(
          `simulate ${scenario.name} (--seed ${seed} --start ${new Date(run.start).toISOString()}): ${total} records ` +
            `over ${span} min of scenario time to ${config.kafka.brokers.join(',')}` +
            `${speed > 0 ? ` at ${speed}× speed` : ' as fast as possible'}\n`,
        );
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const n = await produceRecords(run.records, {
            client: baseClientConfig(config.kafka),
            speed,
            signal: abort.signal,
            onProgress: (done) => {
              if (done === total || done % 25 === 0)
                process.stderr.write(`\rproduced ${done} / ${total} records`);
            },
          });
          process.stderr.write(
            `\n${n} records acknowledged (${topics.logs}, ${topics.metrics}, ${topics.traces})\n`,
          );
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
        return;
      }
      await writeCapture(run.records, opts.output);
    });
}

async function writeCapture(records: readonly CapturedRecord[], output: string | undefined): Promise<void> {
  const text = records.length ? `${records.map(formatCaptureLine).join('\n')}\n` : '';
  if (output && output !== '-') {
    await writeFile(output, text);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
