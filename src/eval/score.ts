// Ground-truth scoring of one scenario outcome: did the right incidents appear (and nothing else),
// one per workload, with the right severity band, team, top cause and an acceptable proposal?
import type { TriageReport } from '../agents/index.ts';
import type { ExpectedIncident, IncidentKey, ScenarioTruth } from '../sim/scenarios/index.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';

export interface IncidentScore {
  expected: ExpectedIncident;
  found: boolean;
  /** Incident ids raised for this workload (1 is right: one incident, many revisions). */
  incidents: number;
  /** Raised as exactly one incident (found, not split or re-opened). */
  groupedOk: boolean;
  severity: string | null;
  severityOk: boolean;
  team: string | null;
  teamOk: boolean;
  topCause: string | null;
  causeOk: boolean;
  /** Top cause is the truth or one of the defensible alternatives. */
  causeAcceptable: boolean;
  proposal: string;
  proposalOk: boolean;
}

export interface ScenarioScore {
  scenario: string;
  expected: number;
  found: number;
  /** Workloads (scope keys) with incidents neither expected nor tolerated. */
  falsePositives: string[];
  /** Incidents on those workloads (one workload may have several). */
  falsePositiveIncidents: number;
  /** Every incident raised (expected, tolerated and false positives). */
  raised: number;
  groupingOk: boolean;
  incidents: IncidentScore[];
}

function keyOf(k: IncidentKey): string {
  return `${k.cluster}/${k.namespace}/${k.workload.kind}/${k.workload.name}`;
}

export function scoreScenario(
  scenario: string,
  truth: ScenarioTruth,
  latest: IncidentContextDoc[],
  reports: Map<string, TriageReport>,
): ScenarioScore {
  const byScope = new Map<string, IncidentContextDoc[]>();
  for (const d of latest) {
    const k = keyOf(d.scope);
    byScope.set(k, [...(byScope.get(k) ?? []), d]);
  }
  const known = new Set([...truth.incidents.map(keyOf), ...truth.tolerated.map(keyOf)]);
  const falsePositives = [...byScope.keys()].filter((k) => !known.has(k)).sort();
  const incidents: IncidentScore[] = truth.incidents.map((e) => {
    const docs = byScope.get(keyOf(e)) ?? [];
    // With several incidents for one workload (re-opened), judge the one with the most evidence.
    const doc = docs.reduce<IncidentContextDoc | undefined>(
      (a, b) => (!a || b.evidence.length > a.evidence.length ? b : a),
      undefined,
    );
    const r = doc ? reports.get(doc.id) : undefined;
    const top = r?.hypotheses[0]?.cause ?? null;
    const p = r?.proposal ?? null;
    let proposalOk: boolean;
    if (!r) proposalOk = false;
    else if (e.proposal === null) proposalOk = p === null;
    else if (p === null) proposalOk = !e.proposal.required;
    else
      proposalOk =
        p.target.name === e.proposal.target.name &&
        p.target.namespace === e.proposal.target.namespace &&
        p.toReplicas >= e.proposal.toReplicas.min &&
        p.toReplicas <= e.proposal.toReplicas.max;
    return {
      expected: e,
      found: doc !== undefined,
      incidents: docs.length,
      groupedOk: docs.length === 1,
      severity: r?.severity ?? null,
      severityOk: r !== undefined && e.severity.includes(r.severity),
      team: r?.team ?? null,
      teamOk: r?.team === e.team,
      topCause: top,
      causeOk: top === e.cause,
      causeAcceptable: top !== null && (top === e.cause || e.alsoAcceptable.includes(top as never)),
      proposal: p ? `scale ${p.target.name} ${p.fromReplicas}→${p.toReplicas}` : 'none',
      proposalOk,
    };
  });
  return {
    scenario,
    expected: truth.incidents.length,
    found: incidents.filter((i) => i.found).length,
    falsePositives,
    falsePositiveIncidents: falsePositives.reduce((a, k) => a + (byScope.get(k)?.length ?? 0), 0),
    raised: latest.length,
    groupingOk: falsePositives.length === 0 && incidents.every((i) => i.incidents <= 1),
    incidents,
  };
}

export interface Totals {
  expected: number;
  found: number;
  falsePositives: number;
  groupingOk: number;
  scenarios: number;
  severityOk: number;
  teamOk: number;
  causeOk: number;
  causeAcceptable: number;
  proposalOk: number;
}

export function totals(scores: ScenarioScore[]): Totals {
  const inc = scores.flatMap((s) => s.incidents);
  return {
    scenarios: scores.length,
    expected: inc.length,
    found: inc.filter((i) => i.found).length,
    falsePositives: scores.reduce((a, s) => a + s.falsePositives.length, 0),
    groupingOk: scores.filter((s) => s.groupingOk).length,
    severityOk: inc.filter((i) => i.severityOk).length,
    teamOk: inc.filter((i) => i.teamOk).length,
    causeOk: inc.filter((i) => i.causeOk).length,
    causeAcceptable: inc.filter((i) => i.causeAcceptable).length,
    proposalOk: inc.filter((i) => i.proposalOk).length,
  };
}
