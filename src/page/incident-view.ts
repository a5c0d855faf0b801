// /incidents/<id>: the answer first (severity, what is wrong, the likely cause, what is proposed and
// its state), then the timeline, hypotheses, evidence, scope and the proposal's audit history.
import type { TriageReport } from '../agents/report.ts';
import type { AuditEntry } from '../exec/audit.ts';
import { kubectlLine } from '../exec/slack-message.ts';
import type { EvidenceDoc } from '../stream/incidents/document.ts';
import type { WorkloadState } from '../stream/workload-state.ts';
import { duration, percent, when } from './format.ts';
import { type Html, html, u } from './html.ts';
import type { PageIncident } from './store.ts';
import { legend, timelineSvg } from './timeline-svg.ts';

export interface ProposalView {
  /** Current state (the approval service's, else the last one in the audit history), or null: unknown. */
  state: string | null;
  /** What to say when the state is unknown; default: the approval stage is off here. */
  unknownState?: string | undefined;
  history: AuditEntry[];
  /** The viewer may press buttons (signed in); the form's CSRF token. */
  signedIn: boolean;
  /**
   * Signed in: may the viewer take the next action (SubjectAccessReview, as the click would be)? A
   * reason when not; the buttons are shown only to those who may press them.
   */
  refusal?: string | undefined;
  canSignIn: boolean;
  csrf: string;
}

/** Why the severity is what it is, from the report's impact (the triage agent's inputs). */
export function severityReasons(r: TriageReport): string[] {
  const i = r.impact;
  const out = [
    i.production ? `production (${r.productionSource})` : `not production (${r.productionSource})`,
    i.userFacing ? 'user-facing: server spans fail or are slow' : 'not user-facing',
  ];
  if (i.allReplicasDown) out.push('all replicas down');
  if (i.desiredReplicas !== null || i.availableReplicas !== null)
    out.push(`${i.availableReplicas ?? '?'} of ${i.desiredReplicas ?? '?'} replicas available`);
  if (i.affectedPods) out.push(`${i.affectedPods} pod(s) affected`);
  if (i.peers.length) out.push(`failing peers: ${i.peers.join(', ')}`);
  return out;
}

function replicasText(w: WorkloadState): string {
  const hpa = w.hpa
    ? `; HPA ${w.hpa.min ?? '?'}–${w.hpa.max ?? '?'}, current ${w.hpa.current ?? '?'}, desired ${w.hpa.desired ?? '?'}`
    : '';
  return `${w.availableReplicas ?? '?'} of ${w.desiredReplicas ?? '?'} available${hpa} (as of ${when(w.at)})`;
}

function managedText(m: object): string {
  return Object.entries(m)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ');
}

function citedBy(r: TriageReport | undefined): Map<string, number[]> {
  const m = new Map<string, number[]>();
  r?.hypotheses.forEach((h, i) => {
    for (const e of h.evidence) m.set(e, [...(m.get(e) ?? []), i + 1]);
  });
  return m;
}

function evidenceRow(e: EvidenceDoc, cites: number[] | undefined): Html {
  const msgs = e.messages ?? [];
  return html`<li id="${e.id}" class="evidence kind-${e.kind}${e.context ? ' context' : ''}">
<p class="ev-head"><span class="kind">${e.kind}</span> <span class="ev-count">×${e.count}</span> ${e.summary}</p>
<p class="ev-meta"><code>${e.id}</code> · first ${when(e.at)} · last ${when(e.lastAt)}${e.context ? ' · background (below its noise floor)' : ''}${
    cites?.length
      ? html` · cited by ${cites.map((n, k) => html`${k ? ', ' : ''}<a href="#hyp-${n}">hypothesis ${n}</a>`)}`
      : ''
  }</p>
${
  msgs.length
    ? html`<details><summary>${msgs.length} distinct message(s)</summary><ol class="messages">${msgs.map((m) => html`<li><pre>${m}</pre></li>`)}</ol></details>`
    : ''
}
</li>`;
}

function auditLine(e: AuditEntry): Html {
  const d = e.detail as Record<string, unknown>;
  const why = typeof d.reason === 'string' ? d.reason : typeof d.message === 'string' ? d.message : '';
  const via = typeof d.via === 'string' ? ` via ${d.via}` : '';
  return html`<tr><td>${when(e.at)}</td><td>${e.event}</td><td>${e.actor}${via}</td><td>${why}</td></tr>`;
}

function decisionForm(incident: string, proposal: string, action: string, label: string, csrf: string): Html {
  return html`<form method="post" action="/incidents/${u(incident)}/proposals/${u(proposal)}/${action}" class="decide"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="btn-${action}" aria-label="${label} proposal ${proposal}">${label}</button></form>`;
}

function proposalSection(inc: PageIncident, pv: ProposalView): Html {
  const r = inc.report;
  if (!r) return html`<p>Not triaged yet.</p>`;
  const p = r.proposal;
  if (!p) return html`<p>No action proposed: ${r.noProposalReason ?? 'none'}.</p>`;
  const state = pv.state ?? pv.unknownState ?? 'not posted (the approval stage is off here)';
  let buttons: Html | string = '';
  if (pv.state === 'pending' || pv.state === 'executed') {
    if (pv.signedIn && pv.refusal)
      buttons = html`<p class="warning">You may not act on this proposal: ${pv.refusal}.</p>`;
    else if (pv.signedIn)
      buttons =
        pv.state === 'pending'
          ? html`<div class="buttons">${decisionForm(inc.id, p.id, 'approve', 'Approve', pv.csrf)}${decisionForm(inc.id, p.id, 'reject', 'Reject', pv.csrf)}</div>`
          : html`<div class="buttons">${decisionForm(inc.id, p.id, 'rollback', 'Roll back', pv.csrf)}</div>`;
    else if (pv.canSignIn)
      buttons = html`<p><a href="/incidents/-/login?next=${u(`/incidents/${inc.id}`)}">Sign in</a> with your Kubernetes token to approve or reject.</p>`;
  }
  return html`<p class="proposal-line">Scale ${p.target.kind} <strong>${p.target.namespace}/${p.target.name}</strong> from <strong>${p.fromReplicas}</strong> to <strong>${p.toReplicas}</strong> replicas. State: <strong class="state state-${pv.state ?? 'none'}" id="proposal-state">${state}</strong></p>
<p>${p.reason}</p>
${p.blockedBy ? html`<p class="warning">Managed elsewhere: ${p.blockedBy}</p>` : ''}
<pre class="kubectl">${kubectlLine(p)}</pre>
<p class="meta">proposal <code>${p.id}</code> · expires ${when(p.expiresAt)} · rollback to ${p.rollback.toReplicas} replicas</p>
${buttons}
<h3>History</h3>
${
  pv.history.length
    ? html`<table class="audit"><caption class="visually-hidden">Audit history of proposal ${p.id}</caption><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">Detail</th></tr></thead><tbody>${pv.history.map(auditLine)}</tbody></table>`
    : html`<p>No audit entry for this proposal here.</p>`
}`;
}

export function incidentView(inc: PageIncident, pv: ProposalView, now: number, flash?: string): Html {
  const c = inc.context;
  const r = inc.report;
  const w = c.scope.workload;
  const end = c.status === 'open' ? now : Date.parse(c.timings.resolved ?? c.timings.updated);
  const top = r?.hypotheses[0];
  const cites = citedBy(r);
  const evidence = [...c.evidence].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return html`<p class="crumbs"><a href="/incidents">← all incidents</a></p>
${flash ? html`<p class="flash" role="alert">${flash}</p>` : ''}
<div id="live" data-live="incident" data-incident="${inc.id}" data-version="${inc.version}">
<section class="answer" aria-labelledby="answer-title">
<h1 id="answer-title"><span class="sev sev-${r?.severity ?? 'none'}">${r?.severity ?? 'untriaged'}</span> ${w.kind} ${c.scope.namespace}/${w.name} <span class="status status-${c.status}">${c.status}</span></h1>
<p class="impact">${r?.impact.summary ?? 'Not triaged yet.'}</p>
${top ? html`<p class="cause">Likely cause: <strong>${top.cause}</strong> (${percent(top.confidence)}): ${top.explanation} <a href="#hyp-1">why</a></p>` : ''}
<p class="meta">team <strong>${r?.team ?? c.scope.team ?? 'unassigned'}</strong> · started ${when(c.timings.firstSignal)} · ${c.status === 'open' ? 'open for' : 'lasted'} ${duration(end - Date.parse(c.timings.firstSignal))} · revision <span id="revision">${c.revision}</span> · <code>${inc.id}</code></p>
</section>
<section aria-labelledby="proposal-title" id="proposal"><h2 id="proposal-title">Proposed action</h2>${proposalSection(inc, pv)}</section>
<section aria-labelledby="timeline-title"><h2 id="timeline-title">Timeline</h2>${timelineSvg(c, inc.revisions)}${legend(c)}</section>
<section aria-labelledby="hyp-title"><h2 id="hyp-title">Hypotheses</h2>
${
  r?.hypotheses.length
    ? html`<ol class="hypotheses">${r.hypotheses.map(
        (h, i) =>
          html`<li id="hyp-${i + 1}"><p><strong>${h.cause}</strong> (${percent(h.confidence)}): ${h.explanation}</p><p class="meta">evidence: ${h.evidence.length ? h.evidence.map((e, k) => html`${k ? ', ' : ''}<a href="#${e}">${e}</a>`) : '—'}</p></li>`,
      )}</ol>`
    : html`<p>None yet.</p>`
}
${
  r?.redHerrings.length
    ? html`<h3>Red herrings</h3><ul>${r.redHerrings.map((h) => html`<li>${h.explanation} (${h.evidence.map((e, k) => html`${k ? ', ' : ''}<a href="#${e}">${e}</a>`)})</li>`)}</ul>`
    : ''
}
<p class="meta">engine ${r?.engine ?? '—'}</p>
</section>
<section aria-labelledby="ev-title"><h2 id="ev-title">Evidence (${c.evidence.length}${c.stats.droppedEvidence ? `, ${c.stats.droppedEvidence} more dropped` : ''})</h2>
<ol class="evidence-list">${evidence.map((e) => evidenceRow(e, cites.get(e.id)))}</ol></section>
<section aria-labelledby="scope-title"><h2 id="scope-title">Scope</h2>
<dl class="scope">
<dt>Cluster</dt><dd>${c.scope.cluster}</dd>
<dt>Namespace</dt><dd>${c.scope.namespace}</dd>
<dt>Workload</dt><dd>${w.kind} ${w.name}</dd>
<dt>Team</dt><dd>${r?.team ?? c.scope.team ?? 'unassigned'} <span class="source">(source: ${r?.teamSource ?? c.scope.teamSource ?? 'none'})</span></dd>
${c.scope.environment ? html`<dt>Environment</dt><dd>${c.scope.environment} <span class="source">(source: ${c.scope.environmentSource ?? 'none'})</span></dd>` : ''}
${c.scope.managedBy ? html`<dt>Managed by</dt><dd>${managedText(c.scope.managedBy)}</dd>` : ''}
<dt>Severity</dt><dd>${r ? html`${r.severity}<ul class="reasons">${severityReasons(r).map((s) => html`<li>${s}</li>`)}</ul>` : 'not triaged yet'}</dd>
<dt>Window</dt><dd>${when(c.window.start)} → ${when(c.window.end)}</dd>
${c.workloadState ? html`<dt>Replicas</dt><dd>${replicasText(c.workloadState)}</dd>` : ''}
${c.persisting ? html`<dt>Still showing</dt><dd>${c.persisting.reason}: ${c.persisting.detail}</dd>` : ''}
</dl>
${
  c.related?.length
    ? html`<h3>Related incidents</h3><ul class="related">${c.related.map((x) => html`<li>${x.relation === 'upstream' ? 'upstream (likely cause)' : 'impact (caller failing here)'}: <a href="/incidents/${u(x.incident)}">${x.workload.kind} ${x.namespace}/${x.workload.name}</a> since ${when(x.since)}</li>`)}</ul>`
    : ''
}
${
  c.rollouts.length
    ? html`<h3>Rollouts</h3><ul>${c.rollouts.map((ro) => html`<li>revision ${ro.revision ?? '?'} at ${when(ro.at)}: ${ro.images.join(', ')}${ro.changeCause ? ` (${ro.changeCause})` : ''}</li>`)}</ul>`
    : ''
}
</section>
<section aria-labelledby="rev-title"><h2 id="rev-title">Revisions</h2>
<ol class="revisions">${inc.revisions.map((x) => html`<li>revision ${x.revision} at ${when(x.at)}: ${x.status}, ${x.evidence} evidence item(s)</li>`)}</ol>
</section>
</div>`;
}
