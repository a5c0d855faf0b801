// Scores of many (scenario, seed) runs summed per scenario, per scenario family and overall: the
// precision and recall of incidents and the accuracy of each field of the triage, with the counts
// behind every ratio. Every field is judged over the expected incidents, so a missed incident is
// wrong on every field (an engine cannot score well by raising nothing).
import type { ScenarioFamily } from '../sim/scenarios/index.ts';
import type { ScenarioScore } from './score.ts';

/** `ok` of `of`; the ratio is null when there was nothing to judge. */
export interface Count {
  ok: number;
  of: number;
}

export interface Aggregate {
  /** (scenario, seed) runs summed. */
  runs: number;
  /** Incidents raised, all of them (expected, tolerated, false positive). */
  raised: number;
  /** Runs that raised no incident at all (what the quiet family must achieve). */
  silentRuns: number;
  /** Expected incidents found / expected: recall. */
  recall: Count;
  /** Expected incidents found / (found + false-positive incidents): precision. Tolerated ones count neither way. */
  precision: Count;
  falsePositives: number;
  /** Expected incidents raised as exactly one incident. */
  grouping: Count;
  severity: Count;
  team: Count;
  topCause: Count;
  /** Top cause is the truth or a defensible alternative. */
  causeAcceptable: Count;
  proposal: Count;
}

export const FIELDS = ['grouping', 'severity', 'team', 'topCause', 'causeAcceptable', 'proposal'] as const;
export type Field = (typeof FIELDS)[number];

export interface SeededScore extends ScenarioScore {
  seed: number;
  family: ScenarioFamily;
}

export function emptyAggregate(): Aggregate {
  const c = (): Count => ({ ok: 0, of: 0 });
  return {
    runs: 0,
    raised: 0,
    silentRuns: 0,
    recall: c(),
    precision: c(),
    falsePositives: 0,
    grouping: c(),
    severity: c(),
    team: c(),
    topCause: c(),
    causeAcceptable: c(),
    proposal: c(),
  };
}

export function addScore(a: Aggregate, s: ScenarioScore): void {
  const inc = s.incidents;
  const found = inc.filter((i) => i.found).length;
  a.runs++;
  a.raised += s.raised;
  if (s.raised === 0) a.silentRuns++;
  a.recall.ok += found;
  a.recall.of += inc.length;
  a.precision.ok += found;
  a.precision.of += found + s.falsePositiveIncidents;
  a.falsePositives += s.falsePositiveIncidents;
  const field = (c: Count, ok: (i: (typeof inc)[number]) => boolean) => {
    c.ok += inc.filter(ok).length;
    c.of += inc.length;
  };
  field(a.grouping, (i) => i.groupedOk);
  field(a.severity, (i) => i.severityOk);
  field(a.team, (i) => i.teamOk);
  field(a.topCause, (i) => i.causeOk);
  field(a.causeAcceptable, (i) => i.causeAcceptable);
  field(a.proposal, (i) => i.proposalOk);
}

export interface Summary {
  scenarios: Record<string, Aggregate & { family: ScenarioFamily }>;
  families: Partial<Record<ScenarioFamily, Aggregate>>;
  total: Aggregate;
}

/** Per scenario (in first-seen order), per family and overall. */
export function summarise(scores: readonly SeededScore[]): Summary {
  const scenarios: Summary['scenarios'] = {};
  const families: Summary['families'] = {};
  const total = emptyAggregate();
  for (const s of scores) {
    scenarios[s.scenario] ??= { ...emptyAggregate(), family: s.family };
    addScore(scenarios[s.scenario]!, s);
    families[s.family] ??= emptyAggregate();
    addScore(families[s.family]!, s);
    addScore(total, s);
  }
  return { scenarios, families, total };
}

export function ratio(c: Count): number | null {
  return c.of === 0 ? null : c.ok / c.of;
}

/** "9/10 (90%)", or "-" when there was nothing to judge. */
export function formatCount(c: Count): string {
  const r = ratio(c);
  return r === null ? '-' : `${c.ok}/${c.of} (${Math.round(r * 100)}%)`;
}
