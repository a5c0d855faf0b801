// `kubetriage approve|reject|rollback <proposal-id>`: for teams without Slack. An authenticated call to
// the running service (bearer token from env KUBETRIAGE_API_TOKEN, the same value the service has);
// the decision goes through the same state machine, approver list and audit ledger as a Slack click.
import type { Command } from 'commander';
import { KubetriageError } from '../core/errors.ts';

async function decide(action: string, id: string, opts: { url: string; as?: string }): Promise<void> {
  const token = process.env.KUBETRIAGE_API_TOKEN;
  if (!token) throw new KubetriageError('CONFIG_INVALID', 'KUBETRIAGE_API_TOKEN is not set');
  const actor = opts.as ?? process.env.KUBETRIAGE_APPROVER ?? process.env.USER;
  if (!actor)
    throw new KubetriageError('CONFIG_INVALID', 'who is deciding? pass --as NAME (an exec.approvers entry)');
  const res = await fetch(
    `${opts.url.replace(/\/$/, '')}/api/proposals/${encodeURIComponent(id)}/${action}`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor }),
    },
  );
  const body = (await res.json().catch(() => ({}))) as { message?: string; error?: string; state?: string };
  const line = body.message ?? body.error ?? `HTTP ${res.status}`;
  if (res.ok) process.stdout.write(`${line}\n`);
  else {
    process.stderr.write(`kubetriage ${action}: ${line}${body.state ? ` (state ${body.state})` : ''}\n`);
    process.exitCode = 1;
  }
}

export function registerApprove(program: Command): void {
  for (const [action, what] of [
    ['approve', 'approve a pending proposal (it is executed at once, under exec.mode)'],
    ['reject', 'reject a pending proposal'],
    ['rollback', 'roll back an executed proposal (restores its fromReplicas)'],
  ] as const) {
    program
      .command(`${action} <proposal-id>`)
      .description(`${what}; calls the running service with env KUBETRIAGE_API_TOKEN`)
      .option('--url <url>', 'the service', process.env.KUBETRIAGE_URL ?? 'http://127.0.0.1:9464')
      .option(
        '--as <name>',
        'the approver (must be in exec.approvers); default $KUBETRIAGE_APPROVER or $USER',
      )
      .action((id: string, opts: { url: string; as?: string }) => decide(action, id, opts));
  }
}
