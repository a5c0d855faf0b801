import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { KubetriageError } from '../core/errors.ts';
import { redactor } from '../core/redact.ts';
import { registerApprove } from './approve-command.ts';
import { registerAudit } from './audit-command.ts';
import { registerDemo } from './demo-command.ts';
import { registerEval } from './eval-command.ts';
import { USAGE_EXIT_CODE } from './numeric-options.ts';
import { registerRecord } from './record-command.ts';
import { registerReplay } from './replay-command.ts';
import { registerRun } from './run-command.ts';
import { registerSimulate } from './simulate-command.ts';

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
  registerRun(program);
  registerReplay(program);
  registerRecord(program);
  registerSimulate(program);
  registerDemo(program);
  registerEval(program);
  registerApprove(program);
  registerAudit(program);
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
