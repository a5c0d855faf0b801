// What the rules read from an incident context, computed once per report: each evidence item tagged
// with the causes and symptoms its text or metric points at, the workload's replica state, and the
// rollout verdict (cause or red herring). Pure: same context in, same facts out.
import type {
  EvidenceDoc,
  IncidentContextDoc,
  RelatedDoc,
  RolloutDoc,
} from '../stream/incidents/document.ts';
import type { Cause } from './report.ts';

/** Causes plus the symptoms that grade impact and support causes. */
export type Tag =
  | Exclude<Cause, 'bad_rollout' | 'capacity' | 'unknown'>
  | 'restart'
  | 'unavailable'
  | 'latency'
  | 'error_rate'
  | 'server_errors'
  | 'rollout';

export interface EvidenceFacts {
  e: EvidenceDoc;
  atMs: number;
  lastMs: number;
  pods: string[];
  /** The ReplicaSets enrichment tied the failing pods to (refs.revisions), when known. */
  replicaSets: string[];
  tags: Set<Tag>;
  /** The failing peer a client span names ("… → payments"). */
  peer: string | null;
}

export type RolloutVerdict =
  /** Failures on pods of the new ReplicaSet, starting after it rolled out. */
  | 'new_pods_failing'
  /** Failures started after it, within the window, and nothing says which pods. */
  | 'timing_only'
  /** Failures after it, but only on pods of other ReplicaSets. */
  | 'old_pods_only'
  /** Failures were already under way when it rolled out. */
  | 'after_failures'
  /** Failures started long after it (beyond agents.rolloutWindow). */
  | 'too_early'
  /** The failures are calls to a peer with its own incident, and did not begin before the peer's. */
  | 'peer_failed';

export interface RolloutFacts {
  rollout: RolloutDoc;
  atMs: number;
  verdict: RolloutVerdict;
  /** The rollout's own evidence item(s). */
  evidence: EvidenceFacts[];
  /** Failure items on pods of its ReplicaSet. */
  onNewPods: EvidenceFacts[];
  /** Failure items that began before it. */
  before: EvidenceFacts[];
  /** Failure items that began after it. */
  after: EvidenceFacts[];
}

export interface ContextFacts {
  doc: IncidentContextDoc;
  items: EvidenceFacts[];
  /** Every item but rollouts. */
  failures: EvidenceFacts[];
  failureStartMs: number | null;
  failingPods: string[];
  desired: number | null;
  available: number | null;
  allDown: boolean;
  hpa: { min: number | null; max: number | null; current: number | null } | null;
  hpaAtMax: boolean;
  /** Rollouts judged, newest first (at most 3): the first with a cause verdict is the suspect. */
  rollouts: RolloutFacts[];
  /** Peers with their own incident that this workload's failed calls went to (context `related`). */
  upstream: UpstreamFacts[];
  /**
   * This workload's own errors began more than agents.dependencyLead before the earliest upstream
   * peer's: it was failing first, so its own causes (a rollout) still count. False without upstream.
   */
  failingBeforePeer: boolean;
}

export interface UpstreamFacts {
  link: RelatedDoc;
  sinceMs: number;
  /** The failing client-span items the link cites, as found in this context. */
  evidence: EvidenceFacts[];
}

const MAX_ROLLOUTS_JUDGED = 3;

// Each cause's telltale text in event messages, restart reasons and log bodies (kubelet and
// scheduler wording; FORMATS.md §3).
const TEXT_TAGS: [Tag, RegExp][] = [
  ['oom', /OOMKill|out of memory|OutOfMemory/i],
  [
    'image_pull',
    /ImagePullBackOff|ErrImagePull|InvalidImageName|ErrImageNeverPull|Failed to pull image|Back-off pulling image|pull access denied|manifest unknown/i,
  ],
  [
    'config_error',
    /CreateContainerConfigError|CreateContainerError|RunContainerError|executable file not found|FailedMount|MountVolume\.SetUp failed|(configmaps?|secrets?) "[^"]*" not found|couldn't find key|invalid config(uration)?|configuration error|missing required (config|configuration|env)/i,
  ],
  ['probe_failure', /(Readiness|Liveness|Startup) probe (failed|errored)/i],
  [
    'scheduling',
    /FailedScheduling|Insufficient (cpu|memory|ephemeral-storage|pods|nvidia)|didn't match|untolerated taint|0\/\d+ nodes are available|Unschedulable|NotTriggerScaleUp/i,
  ],
  [
    'node_pressure',
    /Evicted|Evicting|EvictionThresholdMet|(Disk|Memory|PID)Pressure|NodeNotReady|node .{0,40}not ready|low on resource/i,
  ],
  ['crash_loop', /CrashLoopBackOff|Back-off restarting failed container/i],
];

// `failed client spans of checkout "GET /pay" → payments (HTTP 503)` (stream/incidents/from-signal.ts)
const PEER = /" → ([^\s(]+)/;

function tagItem(e: EvidenceDoc): EvidenceFacts {
  const tags = new Set<Tag>();
  let peer: string | null = null;
  const metric = e.refs.metric as { name?: string; rule?: string } | undefined;
  const metricName = metric?.name ?? '';
  switch (e.kind) {
    case 'rollout':
      tags.add('rollout');
      break;
    case 'span_errors': {
      if (e.summary.startsWith('failed server spans')) tags.add('server_errors');
      const m = PEER.exec(e.summary);
      if (m) {
        peer = m[1]!;
        tags.add('dependency_failure');
      }
      break;
    }
    case 'metric_anomaly':
      if (/latency/.test(metricName)) tags.add('latency');
      else if (/error_rate/.test(metricName)) tags.add('error_rate');
      else if (metric?.rule === 'replicas-unavailable' || /\.available$|ready_pods$/.test(metricName))
        tags.add('unavailable');
      break;
    default:
      for (const [tag, re] of TEXT_TAGS) if (re.test(e.summary)) tags.add(tag);
      // A log line whose content names a missing or bad setting (stream floors.logPatterns).
      if (e.refs.logClass === 'config_error') tags.add('config_error');
      if (e.kind === 'restart') {
        tags.add('restart');
        // A container that never started (image, config) is not crash-looping.
        if (!tags.has('image_pull') && !tags.has('config_error')) tags.add('crash_loop');
      }
  }
  const pods = Array.isArray(e.refs.pods)
    ? (e.refs.pods as unknown[]).filter((p) => typeof p === 'string')
    : [];
  const revisions = Array.isArray(e.refs.revisions) ? (e.refs.revisions as { replicaSet?: unknown }[]) : [];
  return {
    e,
    atMs: Date.parse(e.at),
    lastMs: Date.parse(e.lastAt ?? e.at),
    pods: pods as string[],
    replicaSets: revisions.flatMap((r) => (typeof r.replicaSet === 'string' ? [r.replicaSet] : [])),
    tags,
    peer,
  };
}

/**
 * Pods of a ReplicaSet are named `<replicaSet>-<suffix>`. Without enrichment (no refs.revisions) this
 * name test is how a failing pod is tied to the new or the old ReplicaSet.
 */
export function podOf(replicaSet: string, pod: string): boolean {
  return pod.startsWith(`${replicaSet}-`) && !pod.slice(replicaSet.length + 1).includes('-');
}

function judgeRollout(
  r: RolloutDoc,
  items: EvidenceFacts[],
  failures: EvidenceFacts[],
  windowMs: number,
): RolloutFacts {
  const atMs = Date.parse(r.at ?? '');
  const evidence = items.filter(
    (i) =>
      i.tags.has('rollout') &&
      (i.e.key === `rollout|${r.replicaSet}` ||
        ((i.e.refs.objects as { name?: string }[] | undefined) ?? []).some((o) => o.name === r.replicaSet)),
  );
  const before = failures.filter((f) => f.atMs < atMs);
  const after = failures.filter((f) => f.atMs >= atMs);
  // New pods cannot fail before they exist, so failures on them count even when other trouble predates it.
  const onNewPods = after.filter(
    (f) => f.replicaSets.includes(r.replicaSet) || f.pods.some((p) => podOf(r.replicaSet, p)),
  );
  const firstAfter = after.length ? Math.min(...after.map((f) => f.atMs)) : Number.POSITIVE_INFINITY;
  let verdict: RolloutVerdict;
  if (onNewPods.length > 0) verdict = firstAfter - atMs > windowMs ? 'too_early' : 'new_pods_failing';
  else if (before.length > 0 || after.length === 0) verdict = 'after_failures';
  else if (firstAfter - atMs > windowMs) verdict = 'too_early';
  else if (after.some((f) => f.pods.length > 0)) verdict = 'old_pods_only';
  else verdict = 'timing_only';
  return { rollout: r, atMs, verdict, evidence, onNewPods, before, after };
}

export function isRolloutCause(v: RolloutVerdict): boolean {
  return v === 'new_pods_failing' || v === 'timing_only';
}

/** agents.dependencyLead's default, for callers that judge without a config. */
const DEFAULT_DEPENDENCY_LEAD_MS = 120_000;

export function contextFacts(
  doc: IncidentContextDoc,
  rolloutWindowMs: number,
  dependencyLeadMs = DEFAULT_DEPENDENCY_LEAD_MS,
): ContextFacts {
  // Sub-floor background attached for context (e.context) is for the reader, not a cause or a start.
  const items = doc.evidence.filter((e) => e.context !== true).map(tagItem);
  const failures = items.filter((i) => !i.tags.has('rollout'));
  const failureStartMs = failures.length ? Math.min(...failures.map((f) => f.atMs)) : null;
  const pods = new Set<string>();
  for (const f of failures) for (const p of f.pods) pods.add(p);

  const ws = doc.workloadState;
  // The unavailable-replicas finding carries "available of desired" when no state sample is attached.
  const unavailable = failures.find((f) => f.tags.has('unavailable'))?.e.refs.metric as
    | { observed?: number; expected?: number }
    | undefined;
  const desired = ws?.desiredReplicas ?? unavailable?.expected ?? null;
  const available = ws?.availableReplicas ?? unavailable?.observed ?? null;
  const hpa = ws?.hpa ? { min: ws.hpa.min, max: ws.hpa.max, current: ws.hpa.current } : null;

  const rollouts: RolloutFacts[] = [];
  // A rollout whose time is unknown cannot be judged by timing: it stays in the timeline only.
  for (const r of doc.rollouts.filter((x) => x.at !== null).slice(0, MAX_ROLLOUTS_JUDGED)) {
    const judged = judgeRollout(r, items, failures, rolloutWindowMs);
    rollouts.push(judged);
    // Older rollouts than the suspect are the stable versions it replaced.
    if (isRolloutCause(judged.verdict)) break;
  }
  const upstream = upstreamOf(doc, items);
  const failingBeforePeer =
    upstream.length > 0 && ownErrorsLead(failures, upstream, dependencyLeadMs) > dependencyLeadMs;
  // A victim of a failing peer: its rollout is not why its calls fail, unless it was failing first.
  if (upstream.length && !failingBeforePeer)
    for (const r of rollouts) if (isRolloutCause(r.verdict)) r.verdict = 'peer_failed';
  return {
    doc,
    items,
    failures,
    failureStartMs,
    failingPods: [...pods].sort(),
    desired,
    available,
    allDown: desired !== null && desired > 0 && available === 0,
    hpa,
    hpaAtMax: hpa !== null && hpa.max !== null && hpa.current !== null && hpa.current >= hpa.max,
    rollouts,
    upstream,
    failingBeforePeer,
  };
}

/** Upstream links whose cited evidence is in this context (a link without it proves nothing here). */
function upstreamOf(doc: IncidentContextDoc, items: EvidenceFacts[]): UpstreamFacts[] {
  const out: UpstreamFacts[] = [];
  for (const link of doc.related ?? []) {
    if (link.relation !== 'upstream') continue;
    const evidence = items.filter((i) => link.evidence.includes(i.e.id));
    const sinceMs = Date.parse(link.since);
    if (evidence.length && Number.isFinite(sinceMs)) out.push({ link, sinceMs, evidence });
  }
  return out;
}

/**
 * How long before the earliest upstream peer's first signal this workload's own errors began
 * (negative: after). Not counted: probe misses alone (a pod that misses a readiness probe while it
 * starts is routine in a rollout, and probes that check a dependency fail with it), and errors that
 * were over before the peer failed (a stray failure, or an earlier trouble that ended, is not the
 * start of what is failing now).
 */
function ownErrorsLead(failures: EvidenceFacts[], upstream: UpstreamFacts[], leadMs: number): number {
  const peer = Math.min(...upstream.map((u) => u.sinceMs));
  let own = Number.POSITIVE_INFINITY;
  for (const f of failures) {
    if (f.tags.size === 1 && f.tags.has('probe_failure')) continue;
    if (f.lastMs < peer - leadMs) continue;
    if (f.atMs < own) own = f.atMs;
  }
  return Number.isFinite(own) ? peer - own : Number.NEGATIVE_INFINITY;
}

export function withTag(facts: ContextFacts, tag: Tag): EvidenceFacts[] {
  return facts.items.filter((i) => i.tags.has(tag));
}

export function ids(items: readonly EvidenceFacts[], max = 10): string[] {
  const out: string[] = [];
  for (const i of items) {
    if (out.length >= max) break;
    if (!out.includes(i.e.id)) out.push(i.e.id);
  }
  return out;
}
