// What a context read back from the contexts topic must look like before it may become an open incident
// (Incident.fromDoc trusts its fields). The topic is shared infrastructure: anything may have been
// written to it (another tool, an older or newer kubetriage, a hand-made test record), and one bad
// record must cost a metric and a log line at start-up, never a crash loop.
import { INCIDENT_CONTEXT_SCHEMA } from './document.ts';

/** Why a record read back was skipped (the `reason` label of kubetriage_restore_skipped_total). */
export type RestoreSkipReason =
  | 'empty'
  | 'not_json'
  | 'foreign'
  | 'wrong_version'
  | 'malformed'
  | 'restore_failed';

export interface ShapeProblem {
  reason: Exclude<RestoreSkipReason, 'empty' | 'not_json' | 'restore_failed'>;
  detail: string;
}

const SCHEMA_FAMILY = 'kubetriage.io/incident-context/';
const ID = /^inc-[0-9a-f]{20}$/;

/** Undefined when `doc` is a v1 context whose fields restore can use; otherwise what is wrong. */
export function contextShapeProblem(doc: unknown): ShapeProblem | undefined {
  if (!isObject(doc)) return { reason: 'foreign', detail: 'not a JSON object' };
  const schema = doc.schema;
  if (schema !== INCIDENT_CONTEXT_SCHEMA) {
    if (typeof schema === 'string' && schema.startsWith(SCHEMA_FAMILY))
      return { reason: 'wrong_version', detail: `schema ${schema.slice(0, 80)}` };
    return { reason: 'foreign', detail: 'no incident-context schema' };
  }
  const bad = (detail: string): ShapeProblem => ({ reason: 'malformed', detail });
  if (typeof doc.id !== 'string' || !ID.test(doc.id)) return bad('id');
  if (!Number.isInteger(doc.revision) || (doc.revision as number) < 1) return bad('revision');
  if (doc.status !== 'open' && doc.status !== 'resolved') return bad('status');
  const scope = doc.scope;
  if (
    !isObject(scope) ||
    typeof scope.cluster !== 'string' ||
    typeof scope.namespace !== 'string' ||
    !isObject(scope.workload) ||
    typeof scope.workload.kind !== 'string' ||
    typeof scope.workload.name !== 'string' ||
    !nullableString(scope.team) ||
    !nullableString(scope.teamSource)
  )
    return bad('scope');
  const w = doc.window;
  if (!isObject(w) || !isTime(w.start) || !isTime(w.end)) return bad('window');
  if (!Array.isArray(doc.evidence) || !doc.evidence.every(isEvidence)) return bad('evidence');
  if (!Array.isArray(doc.rollouts) || !doc.rollouts.every(isObject)) return bad('rollouts');
  if (doc.related !== undefined && (!Array.isArray(doc.related) || !doc.related.every(isRelated)))
    return bad('related');
  const st = doc.stats;
  if (!isObject(st) || !isCount(st.signals) || !isCount(st.deduplicated)) return bad('stats');
  if (doc.sources !== undefined && (!Array.isArray(doc.sources) || !doc.sources.every(isSource)))
    return bad('sources');
  if (doc.timings !== undefined && !isObject(doc.timings)) return bad('timings');
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nullableString(v: unknown): boolean {
  return v === null || v === undefined || typeof v === 'string';
}

function isTime(v: unknown): boolean {
  return typeof v === 'string' && !Number.isNaN(Date.parse(v));
}

function isCount(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0;
}

function isStringArray(v: unknown): boolean {
  return v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
}

function isEvidence(e: unknown): boolean {
  if (!isObject(e)) return false;
  if (typeof e.key !== 'string' || typeof e.kind !== 'string' || typeof e.summary !== 'string') return false;
  if (!isTime(e.at) || !isTime(e.lastAt) || !isCount(e.count) || !isObject(e.refs)) return false;
  if (!isStringArray(e.messages)) return false;
  const r = e.refs;
  if (
    r.events !== undefined &&
    !(
      Array.isArray(r.events) &&
      r.events.every((x) => isObject(x) && typeof x.uid === 'string' && isCount(x.count))
    )
  )
    return false;
  for (const list of [r.objects, r.revisions])
    if (list !== undefined && !(Array.isArray(list) && list.every(isObject))) return false;
  return isStringArray(r.pods) && isStringArray(r.containers) && isStringArray(r.traceIds);
}

function isRelated(r: unknown): boolean {
  return (
    isObject(r) &&
    typeof r.relation === 'string' &&
    typeof r.incident === 'string' &&
    isStringArray(r.evidence)
  );
}

function isSource(s: unknown): boolean {
  return (
    isObject(s) &&
    typeof s.topic === 'string' &&
    isCount(s.partition) &&
    Array.isArray(s.ranges) &&
    s.ranges.every((r) => Array.isArray(r) && r.length === 2 && isCount(r[0]) && isCount(r[1]))
  );
}
