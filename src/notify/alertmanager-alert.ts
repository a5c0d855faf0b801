// A triage report as an Alertmanager API v2 alert (POST /api/v2/alerts). Alertmanager identifies an
// alert by its whole label set, so the labels are chosen to stay the same across an incident's
// revisions (re-sent revisions update one alert instead of adding another):
// - alertname, incident, cluster, namespace, workload, team and cause are taken from the FIRST report
//   of the incident and kept. A later revision that changes its mind about the top cause or the team
//   shows it in the annotations (`cause_now`, `team_now`); re-keying on it would resolve and re-open the
//   alert (two notifications) each time a model and the rules disagree.
// - severity only goes up: an escalation (SEV3 → SEV1) is what routes page on, so the alert is re-keyed
//   (the old label set is resolved, the new one fires); a de-escalation keeps the higher label (the
//   annotation `severity_now` shows the current one), so a flapping severity cannot flap the page.
// Text is untrusted telemetry: the whole alert goes through the redactor before it leaves.
import type { Severity, TriageReport } from '../agents/report.ts';
import type { AlertmanagerConfig } from '../core/config-notify.ts';
import { redactor } from '../core/redact.ts';
import { pageLink } from '../page/links.ts';

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** What is kept per incident between revisions. */
export interface AlertIdentity {
  labels: Record<string, string>;
  startsAt: string;
}

/** SEV1 is the most severe. */
const RANK: Record<Severity, number> = { SEV1: 1, SEV2: 2, SEV3: 3, SEV4: 4 };
/** Alertmanager's annotation values have no hard limit; receivers (PagerDuty, Slack) do. */
const DESCRIPTION_MAX = 2000;

export function topCause(r: TriageReport): string {
  return r.hypotheses[0]?.cause ?? 'unknown';
}

/** The labels of the first report of an incident. */
export function firstIdentity(r: TriageReport, c: AlertmanagerConfig): AlertIdentity {
  return {
    labels: {
      ...c.labels,
      alertname: c.alertname,
      incident: r.incident,
      cluster: r.scope.cluster,
      namespace: r.scope.namespace,
      workload: r.scope.workload.name,
      team: r.team,
      severity: r.severity,
      cause: topCause(r),
    },
    startsAt: r.at,
  };
}

/** The identity for a later revision: the same, unless its severity is an escalation (then re-keyed). */
export function nextIdentity(prev: AlertIdentity, r: TriageReport): AlertIdentity {
  const was = prev.labels.severity as Severity | undefined;
  if (was !== undefined && RANK[r.severity] !== undefined && RANK[r.severity] < (RANK[was] ?? 99))
    return { labels: { ...prev.labels, severity: r.severity }, startsAt: prev.startsAt };
  return prev;
}

export function incidentLink(c: AlertmanagerConfig, incident: string): string | undefined {
  return c.externalUrl ? c.externalUrl.replaceAll('{incident}', encodeURIComponent(incident)) : undefined;
}

function describe(r: TriageReport): string {
  const lines = r.hypotheses
    .slice(0, 3)
    .map((h, i) => `${i + 1}. ${h.cause} (${Math.round(h.confidence * 100)}%): ${h.explanation}`);
  const text = lines.length > 0 ? lines.join('\n') : 'no hypothesis';
  return text.length > DESCRIPTION_MAX ? `${text.slice(0, DESCRIPTION_MAX - 1)}…` : text;
}

function proposalText(r: TriageReport): string {
  const p = r.proposal;
  if (!p) return `none: ${r.noProposalReason ?? 'no proposal'}`;
  return `${p.id}: scale ${p.target.kind}/${p.target.name} in ${p.target.namespace} from ${p.fromReplicas} to ${p.toReplicas} (kubetriage approve ${p.id})`;
}

/**
 * The alert for `r` under `id`. `endsAt`: for a resolved report its time (Alertmanager resolves it);
 * for an open one `validUntil` (now + a few re-send intervals), so it stays firing while re-sent.
 */
export function alertFor(
  r: TriageReport,
  id: AlertIdentity,
  c: AlertmanagerConfig,
  validUntil: Date,
): AmAlert {
  const annotations: Record<string, string> = {
    summary: `${r.severity} ${r.scope.namespace}/${r.scope.workload.name}: ${r.impact.summary}`,
    description: describe(r),
    proposal: proposalText(r),
    revision: String(r.revision),
    severity_now: r.severity,
    cause_now: topCause(r),
    team_now: r.team,
  };
  if (r.proposal) annotations.proposal_id = r.proposal.id;
  // The incident page (page.externalUrl) is linked too, and is the link when notify names none.
  const page = pageLink(r.incident);
  if (page) annotations.incident_page = page;
  const link = incidentLink(c, r.incident) ?? page;
  if (link) annotations.link = link;
  const resolved = r.status === 'resolved';
  // A resolution stamped before the alert started (clock skew) would be refused: never before startsAt.
  const endsAt = resolved
    ? new Date(Math.max(Date.parse(r.at) || 0, Date.parse(id.startsAt) || 0)).toISOString()
    : validUntil.toISOString();
  const alert: AmAlert = { labels: id.labels, annotations, startsAt: id.startsAt, endsAt };
  if (link) alert.generatorURL = link;
  return redactor().deep(alert, 'alertmanager');
}

/** The same label set, resolved now: what is sent for the old labels when an escalation re-keys. */
export function resolvedAlert(prev: AmAlert, at: Date): AmAlert {
  return { ...prev, endsAt: new Date(Math.max(at.getTime(), Date.parse(prev.startsAt) || 0)).toISOString() };
}
