// The Block Kit proposal message posted through the incoming webhook. Limits (Slack): at most 50 blocks,
// section text ≤ 3000 chars, button value ≤ 2000 chars. The button value is the proposal id.
import type { TriageReport } from '../agents/report.ts';
import { pageLink } from '../page/links.ts';

export const ACTION_APPROVE = 'kubetriage_approve';
export const ACTION_REJECT = 'kubetriage_reject';
export const ACTION_ROLLBACK = 'kubetriage_rollback';
export const SECTION_MAX = 3000;

type Block = Record<string, unknown>;

function clip(text: string, max = SECTION_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack mrkdwn escaping: only &, < and > are special. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** ` · <url|incident page>` when page.externalUrl is set (Slack's link syntax; the URL is ours). */
function pageLinkText(incident: string): string {
  const url = pageLink(incident);
  return url ? ` · <${url}|incident page>` : '';
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text) } };
}

export function kubectlLine(
  p: NonNullable<TriageReport['proposal']>,
  to = p.toReplicas,
  from = p.fromReplicas,
) {
  return `kubectl scale deployment/${p.target.name} -n ${p.target.namespace} --current-replicas=${from} --replicas=${to}`;
}

export function proposalMessage(
  report: TriageReport & { proposal: NonNullable<TriageReport['proposal']> },
  mode: 'dry-run' | 'execute',
  /** GitOps policy `warn`: who else manages the workload, shown above the buttons. */
  warning?: string,
): { text: string; blocks: Block[] } {
  const p = report.proposal;
  const w = report.scope.workload;
  const title = `${report.severity} · ${w.kind} ${report.scope.namespace}/${w.name} · team ${report.team}`;
  const hyps = report.hypotheses
    .slice(0, 3)
    .map(
      (h, i) =>
        `${i + 1}. *${h.cause}* (${Math.round(h.confidence * 100)}%) ${esc(h.explanation)}\n     evidence: ${h.evidence.map((e) => `\`${esc(e)}\``).join(', ') || '—'}`,
    )
    .join('\n');
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150) } },
    section(
      `*Scope* cluster \`${esc(report.scope.cluster)}\`, namespace \`${esc(report.scope.namespace)}\`, ${esc(w.kind)} \`${esc(w.name)}\`\n*Impact* ${esc(report.impact.summary)}`,
    ),
    section(`*Top hypotheses* (engine ${esc(report.engine)})\n${hyps || '—'}`),
    section(
      `*Proposed action*: scale ${p.target.kind} \`${esc(p.target.namespace)}/${esc(p.target.name)}\` from *${p.fromReplicas}* to *${p.toReplicas}*\n\`\`\`${kubectlLine(p)}\`\`\`\n*Rollback*: back to ${p.rollback.toReplicas} replicas (approval needed)\n*Why*: ${esc(p.reason)}`,
    ),
    ...(warning ? [section(`:warning: *Managed elsewhere*: ${esc(warning)}`)] : []),
    {
      type: 'actions',
      block_id: `kubetriage:${p.id}`.slice(0, 255),
      elements: [
        {
          type: 'button',
          action_id: ACTION_APPROVE,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: p.id,
        },
        {
          type: 'button',
          action_id: ACTION_REJECT,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: p.id,
        },
      ],
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: clip(
            `proposal \`${p.id}\` · incident \`${esc(report.incident)}\` revision ${report.revision} · expires ${p.expiresAt} · mode *${mode}*${pageLinkText(report.incident)}`,
          ),
        },
      ],
    },
  ];
  return {
    text: clip(
      `${title}: proposal to scale ${p.target.namespace}/${p.target.name} ${p.fromReplicas} → ${p.toReplicas}`,
    ),
    blocks,
  };
}

/** The follow-up after an execution: the outcome and, when it changed something, a Roll back button. */
export function outcomeMessage(text: string, rollbackOf?: string): { text: string; blocks?: Block[] } {
  if (!rollbackOf) return { text: clip(text) };
  return {
    text: clip(text),
    blocks: [
      section(text),
      {
        type: 'actions',
        block_id: `kubetriage-rollback:${rollbackOf}`.slice(0, 255),
        elements: [
          {
            type: 'button',
            action_id: ACTION_ROLLBACK,
            text: { type: 'plain_text', text: 'Roll back' },
            value: rollbackOf,
          },
        ],
      },
    ],
  };
}

/**
 * The posted proposal with its state in place of the buttons (bot mode, chat.update): once decided,
 * nothing is left to click on the original message; the state line is what people see first.
 */
export function stateMessage(
  original: { text: string; blocks?: Block[] },
  state: string,
): { text: string; blocks: Block[] } {
  const kept = (original.blocks ?? []).filter((b) => b.type !== 'actions');
  return {
    text: clip(`${state} · ${original.text}`),
    blocks: [...kept, { type: 'context', elements: [{ type: 'mrkdwn', text: clip(esc(state)) }] }].slice(
      0,
      50,
    ),
  };
}
