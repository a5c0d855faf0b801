// Cross-incident links: when a workload's failed calls went to a peer that has its own open incident,
// the caller's context names the peer's incident as `upstream` (the likely cause) and the peer's
// names the caller's as `impact`. Links stay once made (a peer that recovers first is still where the
// trouble came from); the diagnosis decides what they mean, with the timing in `since`.
import type { CallEdge, CallTarget } from './call-graph.ts';
import { iso, type RelatedDoc } from './document.ts';
import type { Incident } from './incident.ts';

export type RelationCounts = Record<RelatedDoc['relation'], number>;

/**
 * Links the caller's incident to the open incidents of the peers its failed calls went to. Only
 * edges whose failures are evidence in the caller's incident count. Returns the incidents whose
 * related list changed (each owes a new revision).
 */
export function linkCaller(
  caller: Incident,
  edges: readonly CallEdge[],
  peersOf: (t: CallTarget) => Incident[],
  maxRelated: number,
  counts: RelationCounts,
): Set<Incident> {
  const changed = new Set<Incident>();
  if (caller.status !== 'open') return changed;
  for (const edge of edges) {
    const evidence: string[] = [];
    for (const k of edge.evidenceKeys) {
      const item = caller.evidence.get(k);
      if (item) evidence.push(item.id);
    }
    if (evidence.length === 0) continue;
    for (const peer of peersOf(edge.target)) {
      if (peer === caller || peer.status !== 'open') continue;
      // Failed calls both ways between two failing workloads: the one that began failing first is
      // upstream; a link the other way is replaced only by an earlier peer.
      const reverse = `upstream|${caller.id}`;
      if (peer.related.has(reverse)) {
        if (peer.firstSignalAt >= caller.firstSignalAt) continue;
        peer.related.delete(reverse);
        caller.related.delete(`impact|${peer.id}`);
        changed.add(peer);
        changed.add(caller);
      }
      const fresh = !caller.related.has(`upstream|${peer.id}`);
      if (setRelated(caller, entry(peer, 'upstream', evidence), maxRelated)) {
        changed.add(caller);
        if (fresh) counts.upstream++;
      }
      const freshImpact = !peer.related.has(`impact|${caller.id}`);
      if (setRelated(peer, entry(caller, 'impact', evidence), maxRelated)) {
        changed.add(peer);
        if (freshImpact) counts.impact++;
      }
    }
  }
  return changed;
}

/**
 * Scale-out: the impact side of a link another partition's owner made. `caller` (a shadow of that
 * owner's incident, from its changelog) names `peer`, an incident here, as upstream, citing `evidence`
 * (the caller's evidence ids). The same rule as linkCaller for calls both ways. True when `peer` changed.
 */
export function linkImpact(
  peer: Incident,
  caller: Incident,
  evidence: readonly string[],
  maxRelated: number,
  counts: RelationCounts,
): boolean {
  if (peer.status !== 'open' || peer.id === caller.id) return false;
  let changed = false;
  const reverse = `upstream|${caller.id}`;
  if (peer.related.has(reverse)) {
    if (peer.firstSignalAt >= caller.firstSignalAt) return false;
    peer.related.delete(reverse);
    changed = true;
  }
  const fresh = !peer.related.has(`impact|${caller.id}`);
  if (setRelated(peer, entry(caller, 'impact', [...evidence]), maxRelated)) {
    if (fresh) counts.impact++;
    changed = true;
  }
  return changed;
}

function entry(other: Incident, relation: RelatedDoc['relation'], evidence: string[]): RelatedDoc {
  return {
    incident: other.id,
    namespace: other.scope.namespace,
    workload: { kind: other.scope.workload.kind, name: other.scope.workload.name },
    relation,
    since: iso(other.firstSignalAt),
    evidence: [...evidence],
  };
}

/** Sets the link (keyed by relation and incident); false when nothing changed or there is no room. */
function setRelated(inc: Incident, e: RelatedDoc, maxRelated: number): boolean {
  const k = `${e.relation}|${e.incident}`;
  const old = inc.related.get(k);
  if (old && old.since === e.since && sameList(old.evidence, e.evidence)) return false;
  if (!old && inc.related.size >= maxRelated) return false;
  // Evidence ids accumulate: a caller's later failing operation adds to, never replaces, the link.
  const evidence = old ? [...new Set([...old.evidence, ...e.evidence])].slice(0, 10) : e.evidence;
  if (old && old.since === e.since && sameList(old.evidence, evidence)) return false;
  inc.related.set(k, { ...e, evidence });
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
