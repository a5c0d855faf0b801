// `kubetriage audit verify [--file F]`: checks the hash chain of an audit ledger; exit 1 and the first
// bad line when any line was edited, removed or reordered, or when the file ends in a torn write.
import type { Command } from 'commander';
import { loadConfig } from '../core/config.ts';
import { KubetriageError } from '../core/errors.ts';
import { verifyLedgerFile } from '../exec/audit.ts';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit ledger of approvals and executions');
  audit
    .command('verify')
    .description('verify the hash chain; names the first bad line')
    .option('-f, --file <file>', 'ledger file (default: exec.audit.file of the config)')
    .option('-c, --config <file>', 'config YAML')
    .action(async (opts: { file?: string; config?: string }) => {
      const file = opts.file ?? loadConfig(opts.config).exec.audit.file;
      let r: Awaited<ReturnType<typeof verifyLedgerFile>>;
      try {
        // Streamed: a ledger of any size is checked in constant memory.
        r = await verifyLedgerFile(file);
      } catch (err) {
        throw new KubetriageError('CAPTURE_INVALID', `cannot read ${file}: ${(err as Error).message}`);
      }
      if (r.ok) {
        const recovered = r.recovered
          ? ` (${r.recovered} torn tail${r.recovered > 1 ? 's' : ''} recovered: see its ledger_recovered entries)`
          : '';
        process.stdout.write(`ok: ${file}: ${r.entries} entries, head ${r.head}${recovered}\n`);
      } else {
        process.stderr.write(
          `audit verify: ${file}: line ${r.line}: ${r.reason} (${r.entries} lines before it are intact)\n`,
        );
        process.exitCode = 1;
      }
    });
}
