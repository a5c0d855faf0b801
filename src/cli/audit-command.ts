// `kubetriage audit verify [--file F]`: checks the hash chain of an audit ledger; exit 1 and the first
// bad line when any line was edited, removed or reordered, or when the file ends in a torn write.
import type { Command } from 'commander';
import { loadConfig } from '../core/config.ts';
import { KubetriageError } from '../core/errors.ts';
import { readAllProposalRecords } from '../exec/approval-topics.ts';
import { verifyLedgerFile } from '../exec/audit.ts';
import { verifyProposalRecords } from '../exec/proposal-record.ts';
import { consumerConfig } from '../stream/kafka/client-config.ts';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit ledger of approvals and executions');
  audit
    .command('verify')
    .description('verify the hash chain; names the first bad line')
    .option('-f, --file <file>', 'ledger file (default: exec.audit.file of the config)')
    .option('-c, --config <file>', 'config YAML')
    .option(
      '--kafka',
      'verify the proposals topic instead (exec.replicated.proposalsTopic): every proposal chain, and that each record extends the previous one',
    )
    .action(async (opts: { file?: string; config?: string; kafka?: boolean }) => {
      if (opts.kafka) return verifyTopic(opts.config);
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

/** Replicated mode: the proposals topic holds one hash chain per proposal (src/exec/README.md). */
async function verifyTopic(configFile: string | undefined): Promise<void> {
  const config = loadConfig(configFile);
  const topic = config.exec.replicated.proposalsTopic;
  let records: Awaited<ReturnType<typeof readAllProposalRecords>>;
  try {
    records = await readAllProposalRecords(consumerConfig(config.kafka), topic);
  } catch (err) {
    throw new KubetriageError('CAPTURE_INVALID', `cannot read ${topic}: ${(err as Error).message}`);
  }
  const r = verifyProposalRecords(records);
  if (r.ok) {
    process.stdout.write(
      `ok: ${topic}: ${r.proposals} proposals, ${r.entries} entries in ${r.records} records\n`,
    );
    return;
  }
  for (const p of r.problems)
    process.stderr.write(
      `audit verify: ${topic}: partition ${p.partition} offset ${p.offset}: ${p.reason}\n`,
    );
  process.stderr.write(
    `audit verify: ${topic}: ${r.problems.length} bad records; ${r.proposals} proposals verify\n`,
  );
  process.exitCode = 1;
}
