import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { KubetriageError } from '../core/errors.ts';
import { redactor } from '../core/redact.ts';
import { USAGE_EXIT_CODE } from './numeric-options.ts';

type Register = (program: Command) => unknown;

/**
 * Each command's module, loaded only when that command runs (all of them for the top-level help or an
 * unknown command): a command's imports (the stream, Kafka, Kubernetes, Slack, page modules) are most
 * of start-up, and `replay` or `audit` need a fraction of what `run` loads. In help order.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./run-command.ts')).registerRun,
  replay: async () => (await import('./replay-command.ts')).registerReplay,
  record: async () => (await import('./record-command.ts')).registerRecord,
  simulate: async () => (await import('./simulate-command.ts')).registerSimulate,
  demo: async () => (await import('./demo-command.ts')).registerDemo,
  eval: async () => (await import('./eval-command.ts')).registerEval,
  approve: async () => (await import('./approve-command.ts')).registerApprove,
  audit: async () => (await import('./audit-command.ts')).registerAudit,
};

/** The commands to register for argv: the one named, or all (help, version, a typo to suggest for). */
function commandsFor(argv: string[]): string[] {
  const name = argv[2];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS);
}

/** The version in package.json (read at start: the image ships package.json beside src/). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String((pkg as { version?: unknown }).version ?? '0.0.0');
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('kubetriage')
    .version(packageVersion(), '-V, --version', 'print the version')
    .description('Turns Kubernetes telemetry from the OpenTelemetry Collector into explainable incidents.')
    // The reason and a hint, not the whole help: the reason must stay the line one reads.
    .showHelpAfterError('(add --help for the options)')
    .exitOverride();
  const registers = await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version exit 0; every usage error (a bad option value included) exits 2.
      process.exitCode = err.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
      return;
    }
    if (err instanceof KubetriageError) {
      // Bad input files and config: one readable line (or block, for config), no stack.
      process.stderr.write(`kubetriage: ${redactor().text(err.message, 'stdout')}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
