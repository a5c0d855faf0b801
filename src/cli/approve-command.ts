// `kubetriage approve|reject|rollback <proposal-id>`: for teams without Slack. Calls the running service
// with the user's OWN Kubernetes bearer token; the service asks the API server who that is (TokenReview)
// and whether they may (SubjectAccessReview, verb = the action on proposals.kubetriage.io in the
// proposal's namespace), then runs the same state machine and audit ledger as a Slack click. The
// ledger records the identity the API server vouched for; no name is sent.
//
// Token, first found: --token, env KUBETRIAGE_TOKEN, env KUBETRIAGE_API_TOKEN (the opt-in static token
// for local use), the kubeconfig's user (--kubeconfig/--context or KUBECONFIG, ~/.kube/config; token,
// token file, exec credential plugin or OIDC, through @kubernetes/client-node).
import type { Command } from 'commander';
import { KubetriageError } from '../core/errors.ts';
import { kubeClientLib } from '../core/kube-lib.ts';

interface ApproveOptions {
  url: string;
  token?: string;
  kubeconfig?: string;
  context?: string;
}

/** The bearer token to send, and where it came from (for the error message). */
export async function callerToken(
  o: Pick<ApproveOptions, 'token' | 'kubeconfig' | 'context'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ token: string; from: string }> {
  if (o.token) return { token: o.token, from: '--token' };
  if (env.KUBETRIAGE_TOKEN) return { token: env.KUBETRIAGE_TOKEN, from: 'KUBETRIAGE_TOKEN' };
  if (env.KUBETRIAGE_API_TOKEN) return { token: env.KUBETRIAGE_API_TOKEN, from: 'KUBETRIAGE_API_TOKEN' };
  const kc = new (kubeClientLib().KubeConfig)();
  let from = o.kubeconfig ?? 'the default kubeconfig';
  try {
    if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
    if (o.context) {
      if (!kc.getContextObject(o.context)) throw new Error(`no context ${o.context}`);
      kc.setCurrentContext(o.context);
    }
    from = `${from} (context ${kc.getCurrentContext()}, user ${kc.getCurrentUser()?.name ?? '?'})`;
    const opts: { headers?: Record<string, unknown> } = {};
    await kc.applyToHTTPSOptions(opts);
    const auth = opts.headers?.Authorization;
    const m = typeof auth === 'string' ? /^Bearer (\S+)$/.exec(auth) : null;
    if (m) return { token: m[1]!, from };
  } catch (err) {
    throw new KubetriageError(
      'CONFIG_INVALID',
      `cannot read your credentials from ${from}: ${(err as Error).message}`,
    );
  }
  throw new KubetriageError(
    'CONFIG_INVALID',
    `no bearer token in ${from} (client certificates cannot be forwarded): pass --token, e.g. --token "$(kubectl create token <serviceaccount>)", or set KUBETRIAGE_TOKEN`,
  );
}

async function decide(action: string, id: string, opts: ApproveOptions): Promise<void> {
  const { token, from } = await callerToken(opts);
  const res = await fetch(
    `${opts.url.replace(/\/$/, '')}/api/proposals/${encodeURIComponent(id)}/${action}`,
    { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) },
  );
  const body = (await res.json().catch(() => ({}))) as { message?: string; error?: string; state?: string };
  const line = body.message ?? body.error ?? `HTTP ${res.status}`;
  if (res.ok) process.stdout.write(`${line}\n`);
  else {
    const hint =
      res.status === 401
        ? ` (the service's API server did not accept the token from ${from})`
        : res.status === 403
          ? ' (needs the kubetriage-approver ClusterRole bound in the proposal namespace: config/rbac/approval-api.yaml)'
          : '';
    process.stderr.write(
      `kubetriage ${action}: ${line}${body.state ? ` (state ${body.state})` : ''}${hint}\n`,
    );
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
      .description(
        `${what}; authenticates as you with your Kubernetes token (RBAC verb ${action} on proposals.kubetriage.io)`,
      )
      .option('--url <url>', 'the service', process.env.KUBETRIAGE_URL ?? 'http://127.0.0.1:9464')
      .option('--token <token>', 'your bearer token (default: $KUBETRIAGE_TOKEN, then your kubeconfig user)')
      .option(
        '--kubeconfig <file>',
        'kubeconfig to take your credentials from (default: $KUBECONFIG, ~/.kube/config)',
      )
      .option('--context <name>', 'kubeconfig context (default: its current-context)')
      .action((id: string, opts: ApproveOptions) => decide(action, id, opts));
  }
}
