// The demo's readable report: an incident, its timeline, evidence, hypotheses, and the proposal as the
// approval message would show it. Plain text, 100 columns, no colours (it is often piped).
import type { TriageReport } from '../agents/index.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';

const KIND_LABEL: Record<string, string> = {
  k8s_event: 'event',
  restart: 'restart',
  metric_anomaly: 'metric',
  span_errors: 'spans',
  rollout: 'rollout',
  log: 'log',
  pod_status: 'status',
};

function hhmmss(iso: string): string {
  return iso.slice(11, 19);
}

/** Time of day on the incident's day; the date too for anything from another day (old revisions). */
function when(iso: string, day: string): string {
  return iso.slice(0, 10) === day ? hhmmss(iso) : `${iso.slice(0, 10)} ${hhmmss(iso)}`;
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join('\n');
}

export function renderIncident(doc: IncidentContextDoc, report: TriageReport | undefined): string {
  const w = doc.scope.workload;
  const out: string[] = [];
  const team = report
    ? `team ${report.team}${report.teamSource ? ` (${report.teamSource})` : ''}`
    : `team ${doc.scope.team ?? '?'}`;
  out.push(`━━ ${report?.severity ?? '—'} · ${w.kind} ${doc.scope.namespace}/${w.name} · ${team}`);
  out.push(
    `   incident ${doc.id}, revision ${doc.revision}, ${doc.status}; window ${doc.window.start} → ${doc.window.end}`,
  );
  if (report)
    out.push(`   ${report.impact.production ? 'production' : 'not production'} (${report.productionSource})`);
  if (doc.status === 'open' && doc.persisting)
    out.push(`   still open although quiet: ${wrap(doc.persisting.detail, 72, ' '.repeat(29))}`);
  if (doc.workloadState) {
    const s = doc.workloadState;
    const hpa = s.hpa ? `, HPA ${s.hpa.current ?? '?'}/${s.hpa.max ?? '?'} (current/max)` : '';
    out.push(
      `   replicas: ${s.availableReplicas ?? '?'} available of ${s.desiredReplicas ?? '?'} desired${hpa}`,
    );
  }
  out.push('', '   Timeline (evidence, oldest first)');
  for (const e of doc.evidence) {
    const kind = (KIND_LABEL[e.kind] ?? e.kind).padEnd(7);
    const count = e.count > 1 ? `×${e.count}` : '';
    out.push(
      `   ${hhmmss(e.at)}  ${kind} ${count.padEnd(6)} ${wrap(e.summary, 72, ' '.repeat(28))}  [${e.id}]`,
    );
  }
  if (doc.rollouts.length) {
    out.push('', '   Rollouts (newest first)');
    for (const r of doc.rollouts) {
      out.push(
        `   ${r.at === null ? 'time unknown' : when(r.at, doc.window.start.slice(0, 10))}  ReplicaSet ${r.replicaSet}${r.revision !== null ? ` (revision ${r.revision})` : ''}${r.images.length ? ` ${r.images.join(', ')}` : ''}`,
      );
    }
  }
  if (doc.related?.length) {
    out.push('', '   Related incidents (failing calls)');
    for (const r of doc.related)
      out.push(
        `   ${r.relation === 'upstream' ? 'upstream (it calls)' : 'impact (calls it)'.padEnd(19)}  ${r.workload.kind} ${r.namespace}/${r.workload.name}  ${r.incident}  since ${hhmmss(r.since)}  [${r.evidence.join(', ')}]`,
      );
  }
  if (report) {
    out.push('', `   Hypotheses (engine ${report.engine})`);
    report.hypotheses.forEach((h, i) => {
      out.push(
        `   ${i + 1}. ${h.cause} (${Math.round(h.confidence * 100)}%) — ${wrap(h.explanation, 80, '      ')}`,
      );
      out.push(`      evidence: ${h.evidence.join(', ')}`);
    });
    for (const r of report.redHerrings ?? [])
      out.push(`   red herring: ${wrap(JSON.stringify(r), 86, '      ')}`);
    out.push('', '   Proposal, as the approval message shows it');
    const p = report.proposal;
    if (!p)
      out.push(
        `   ┌ No action proposed: ${wrap(report.noProposalReason ?? 'nothing safe to do', 80, '   │ ')}`,
        '   └',
      );
    else {
      out.push(
        `   ┌ ${report.severity} ${w.kind} ${doc.scope.namespace}/${w.name}: scale ${p.target.kind} ${p.target.namespace}/${p.target.name} ${p.fromReplicas} → ${p.toReplicas}`,
      );
      out.push(`   │ ${wrap(p.reason, 88, '   │ ')}`);
      out.push(
        `   │ kubectl scale deployment/${p.target.name} -n ${p.target.namespace} --current-replicas=${p.fromReplicas} --replicas=${p.toReplicas}`,
      );
      out.push(`   │ rollback: --replicas=${p.rollback.toReplicas}; expires ${p.expiresAt}`);
      out.push(`   └ [ Approve ]  [ Reject ]   proposal ${p.id}`);
    }
  }
  return out.join('\n');
}
