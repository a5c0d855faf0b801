// /incidents: open and recently resolved incidents, filtered by team, namespace and severity, sorted by
// severity (SEV1 first; not yet triaged last), then newest first. A plain GET form: works without script.
import { SEVERITIES, type Severity } from '../agents/report.ts';
import { duration, SEVERITY_RANK } from './format.ts';
import { type Html, html, u } from './html.ts';
import type { PageIncident } from './store.ts';

export interface ListFilter {
  team?: string | undefined;
  namespace?: string | undefined;
  severity?: string | undefined;
}

export function teamOf(i: PageIncident): string {
  return i.report?.team ?? i.context.scope.team ?? 'unassigned';
}

/** Open incidents, and resolved ones updated within `retentionMs` of the data clock `now`. */
export function selectIncidents(
  all: PageIncident[],
  f: ListFilter,
  now: number,
  retentionMs: number,
): PageIncident[] {
  const rank = (i: PageIncident) => (i.report ? SEVERITY_RANK[i.report.severity] : 9);
  return all
    .filter(
      (i) =>
        i.context.status === 'open' ||
        now - (Date.parse(i.context.timings.resolved ?? i.context.timings.updated) || 0) <= retentionMs,
    )
    .filter((i) => !f.team || teamOf(i) === f.team)
    .filter((i) => !f.namespace || i.context.scope.namespace === f.namespace)
    .filter((i) => !f.severity || i.report?.severity === f.severity)
    .sort(
      (a, b) =>
        (a.context.status === 'open' ? 0 : 1) - (b.context.status === 'open' ? 0 : 1) ||
        rank(a) - rank(b) ||
        Date.parse(b.context.timings.firstSignal) - Date.parse(a.context.timings.firstSignal) ||
        a.id.localeCompare(b.id),
    );
}

function select(name: string, label: string, values: string[], chosen: string | undefined): Html {
  const opts = values.map(
    (v) => html`<option value="${v}"${v === chosen ? html` selected` : ''}>${v}</option>`,
  );
  return html`<label>${label} <select name="${name}"><option value="">all</option>${opts}</select></label>`;
}

export function listView(
  all: PageIncident[],
  shown: PageIncident[],
  f: ListFilter,
  now: number,
  version: number,
): Html {
  const uniq = (xs: string[]) => [...new Set(xs)].sort();
  const teams = uniq(all.map(teamOf));
  const namespaces = uniq(all.map((i) => i.context.scope.namespace));
  const rows = shown.map((i) => {
    const c = i.context;
    const r = i.report;
    const sev: Severity | undefined = r?.severity;
    const top = r?.hypotheses[0];
    const end = c.status === 'open' ? now : Date.parse(c.timings.resolved ?? c.timings.updated);
    return html`<tr class="status-${c.status}">
<td><span class="sev sev-${sev ?? 'none'}">${sev ?? 'untriaged'}</span></td>
<td>${c.status}</td>
<th scope="row"><a href="/incidents/${u(i.id)}">${c.scope.workload.kind} ${c.scope.namespace}/${c.scope.workload.name}</a></th>
<td>${teamOf(i)}</td>
<td>${top ? `${top.cause}` : '—'}</td>
<td>${r?.impact.summary ?? ''}</td>
<td>${duration(end - Date.parse(c.timings.firstSignal))}</td>
<td>${c.revision}</td>
</tr>`;
  });
  return html`<h1>Incidents</h1>
<form class="filters" method="get" action="/incidents" aria-label="Filter incidents">
${select('team', 'Team', teams, f.team)}
${select('namespace', 'Namespace', namespaces, f.namespace)}
${select('severity', 'Severity', [...SEVERITIES], f.severity)}
<button type="submit">Filter</button>
</form>
<div id="live" data-live="list" data-version="${version}">
<p class="count">${shown.length} of ${all.length} incident(s): open first, then by severity, newest first.</p>
${
  shown.length
    ? html`<table class="incidents"><caption class="visually-hidden">Incidents</caption><thead><tr><th scope="col">Severity</th><th scope="col">Status</th><th scope="col">Workload</th><th scope="col">Team</th><th scope="col">Likely cause</th><th scope="col">Impact</th><th scope="col">Duration</th><th scope="col">Revision</th></tr></thead><tbody>${rows}</tbody></table>`
    : html`<p>No incident matches.</p>`
}
</div>`;
}
