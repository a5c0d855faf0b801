// Triage agent, rules engine: severity from blast radius, and the owning team.
// Blast radius = how much of the workload is down × whether users see it × whether it is production.
import type { ContextFacts } from './facts.ts';
import type { ProductionRules } from './production.ts';
import type { Impact, Severity } from './report.ts';

export interface TriageResult {
  severity: Severity;
  team: string;
  teamSource: string;
  /** Why production is what it is (production.ts). */
  productionSource: string;
  impact: Impact;
}

export interface TriageRulesConfig {
  defaultTeam: string;
  production: ProductionRules;
}

export type ImpactLevel = 'outage' | 'major' | 'degraded' | 'limited';

// Rows: production & user-facing, production & internal, anything else. Columns: ImpactLevel order.
const TABLE: Record<'prodUser' | 'prodInternal' | 'other', Record<ImpactLevel, Severity>> = {
  prodUser: { outage: 'SEV1', major: 'SEV1', degraded: 'SEV2', limited: 'SEV3' },
  prodInternal: { outage: 'SEV2', major: 'SEV2', degraded: 'SEV3', limited: 'SEV4' },
  other: { outage: 'SEV3', major: 'SEV3', degraded: 'SEV4', limited: 'SEV4' },
};

export function impactLevel(f: ContextFacts, userFacing: boolean): ImpactLevel {
  if (f.allDown) return 'outage';
  const ratio = f.desired !== null && f.desired > 0 && f.available !== null ? f.available / f.desired : null;
  if (ratio !== null && ratio <= 0.5) return 'major';
  if ((ratio !== null && ratio < 1) || userFacing) return 'degraded';
  return 'limited';
}

export function triageRules(f: ContextFacts, cfg: TriageRulesConfig): TriageResult {
  const { scope } = f.doc;
  const { production, source: productionSource } = cfg.production.judge(scope);
  // Server spans and the server latency / error-rate series only exist for workloads that serve requests.
  const userFacing = f.failures.some(
    (i) => i.tags.has('server_errors') || i.tags.has('latency') || i.tags.has('error_rate'),
  );
  const level = impactLevel(f, userFacing);
  const row = production ? (userFacing ? 'prodUser' : 'prodInternal') : 'other';
  const peers = [...new Set(f.failures.map((i) => i.peer).filter((p): p is string => p !== null))].sort();

  const parts: string[] = [];
  if (f.allDown) parts.push(`all ${f.desired} replicas unavailable`);
  else if (f.desired !== null && f.available !== null)
    parts.push(`${f.available} of ${f.desired} replicas available`);
  if (f.failingPods.length)
    parts.push(`${f.failingPods.length} pod${f.failingPods.length === 1 ? '' : 's'} affected`);
  parts.push(userFacing ? 'user-facing (server requests failing or slow)' : 'no user-facing errors seen');
  if (peers.length) parts.push(`calls to ${peers.join(', ')} failing`);
  // Callers with incidents of their own because of this one (context `related`, relation impact).
  const callers = [
    ...new Set((f.doc.related ?? []).filter((r) => r.relation === 'impact').map((r) => r.workload.name)),
  ].sort();
  if (callers.length) parts.push(`callers failing with it: ${callers.join(', ')}`);
  parts.push(`${production ? 'production' : 'non-production'} (${productionSource})`);

  const team = scope.team ?? cfg.defaultTeam;
  return {
    severity: TABLE[row][level],
    team,
    teamSource: scope.team ? (scope.teamSource ?? 'context') : 'default',
    productionSource,
    impact: {
      production,
      userFacing,
      allReplicasDown: f.allDown,
      desiredReplicas: f.desired,
      availableReplicas: f.available,
      affectedPods: f.failingPods.length,
      peers,
      summary: `${scope.workload.kind} ${scope.namespace}/${scope.workload.name} ${level === 'limited' ? 'has limited impact' : `is ${level === 'outage' ? 'down' : level}`}: ${parts.join('; ')}${
        scope.team ? '' : `; owner unknown, routed to default team "${cfg.defaultTeam}"`
      }`,
    },
  };
}
