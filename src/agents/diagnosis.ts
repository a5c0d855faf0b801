// Diagnosis agent, rules engine: ranked hypotheses from the closed cause set, each citing the evidence
// it rests on. Specific root causes (image, config, OOM, scheduling, node) outrank the symptoms they
// produce (restarts, probe failures); a rollout is a cause only when the failures follow it.
import {
  type ContextFacts,
  type EvidenceFacts,
  ids,
  isRolloutCause,
  type RolloutFacts,
  withTag,
} from './facts.ts';
import { CAUSES, type Cause, type Hypothesis, type RedHerring } from './report.ts';

export interface DiagnosisResult {
  hypotheses: Hypothesis[];
  redHerrings: RedHerring[];
}

/** Causes that live in the workload's own pods (as opposed to a peer, the nodes or load). */
/** Explanations are read by humans in Slack; config/triage-report.schema.json allows this many characters. */
const MAX_EXPLANATION = 1500;

const OWN_FAULT_TAGS = ['oom', 'crash_loop', 'image_pull', 'config_error', 'restart'] as const;
// A peer without an incident of its own is "the likely cause" only when its failed calls could explain
// at least this share of the workload's failed server spans: a request that failed because a call
// failed shows both (one failed client span, one failed server span). Below it, most failures have
// another cause, and the peer's occasional errors are background (sub-floor at the peer).
const DEPENDENCY_MIN_SHARE = 0.5;

export function formatSpan(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? ` ${s % 60}s` : ''}`;
  return `${Math.floor(m / 60)}h${m % 60 ? ` ${m % 60}m` : ''}`;
}

function first(items: EvidenceFacts[]): string {
  const e = items[0]?.e;
  return e ? `"${e.summary.slice(0, 160)}"` : '';
}

function total(items: EvidenceFacts[]): number {
  let n = 0;
  for (const i of items) n += i.e.count;
  return n;
}

/** Several items often report the same restarts (the BackOff event, the reason, the counter): the largest is a floor. */
function atLeast(items: EvidenceFacts[]): number {
  let n = 0;
  for (const i of items) n = Math.max(n, i.e.count);
  return n;
}

function round2(n: number): number {
  return Math.round(Math.min(0.95, Math.max(0.05, n)) * 100) / 100;
}

function redHerring(r: RolloutFacts, f: ContextFacts, windowMs: number): RedHerring {
  const rs = r.rollout.replicaSet;
  const cite = r.evidence.length ? ids(r.evidence) : ids(r.before.length ? r.before : r.after, 3);
  let why: string;
  switch (r.verdict) {
    case 'after_failures': {
      const start = f.failureStartMs ?? r.atMs;
      why = `failures were already under way ${formatSpan(r.atMs - start)} before it (first: ${first(r.before)})`;
      break;
    }
    case 'old_pods_only': {
      const pods = [...new Set(r.after.flatMap((i) => i.pods))].slice(0, 3).join(', ');
      why = `the failures after it are on pods of other ReplicaSets (${pods}), none on ${rs}'s`;
      break;
    }
    case 'peer_failed': {
      const peers = f.upstream.map(
        (u) => `${u.link.workload.name} (incident ${u.link.incident}, failing since ${u.link.since})`,
      );
      why = `the failures are calls to ${peers.join(', ')}, which has its own incident; ${f.doc.scope.workload.name}'s own errors did not begin before that`;
      break;
    }
    default:
      why = `failures began more than ${formatSpan(windowMs)} after it`;
  }
  return {
    evidence: cite,
    explanation: `Rollout of ReplicaSet ${rs} at ${r.rollout.at} is a red herring: ${why}.`,
  };
}

/**
 * `canary`: the workload is a canary Deployment (agents.policy.canaryPatterns), i.e. a new version
 * serving a share of the traffic next to its stable sibling.
 */
export function diagnosisRules(
  f: ContextFacts,
  rolloutWindowMs: number,
  opts: { canary?: boolean } = {},
): DiagnosisResult {
  const hyps: Hypothesis[] = [];
  const add = (cause: Cause, confidence: number, items: EvidenceFacts[], explanation: string) =>
    hyps.push({ cause, confidence: round2(confidence), evidence: ids(items), explanation });
  const best = () => hyps.reduce((m, h) => Math.max(m, h.confidence), 0);

  const image = withTag(f, 'image_pull');
  const config = withTag(f, 'config_error');
  const oom = withTag(f, 'oom');
  const sched = withTag(f, 'scheduling');
  const node = withTag(f, 'node_pressure');
  const crash = withTag(f, 'crash_loop');
  const probe = withTag(f, 'probe_failure');
  const dep = withTag(f, 'dependency_failure');
  const saturation = f.failures.filter((i) => i.tags.has('latency') || i.tags.has('error_rate'));
  const served = total(f.failures.filter((i) => i.tags.has('server_errors')));
  // Calls to peers with no incident that explain only a small share of the failed requests served.
  const depMinor = f.upstream.length === 0 && dep.length > 0 && total(dep) < DEPENDENCY_MIN_SHARE * served;
  const ownFault = f.failures.some((i) => OWN_FAULT_TAGS.some((t) => i.tags.has(t)));
  const ns = f.doc.scope.namespace;
  const name = f.doc.scope.workload.name;

  if (image.length)
    add(
      'image_pull',
      0.9,
      image,
      `Containers cannot pull their image, so pods never start: ${first(image)}.`,
    );
  if (config.length)
    add(
      'config_error',
      0.85,
      config,
      `Containers cannot be created or mounted: a missing ConfigMap/Secret key or bad configuration: ${first(config)}.`,
    );
  if (oom.length)
    add(
      'oom',
      0.8,
      oom,
      `Containers are OOMKilled (at least ${atLeast(oom)} times): the memory limit is below what the workload uses, or it leaks.`,
    );
  if (sched.length) add('scheduling', 0.75, sched, `Pods cannot be scheduled: ${first(sched)}.`);
  if (node.length)
    add(
      'node_pressure',
      0.7,
      node,
      `Nodes are under resource pressure and evict or fail pods: ${first(node)}.`,
    );
  if (crash.length) {
    const root = image.length ? 'image_pull' : config.length ? 'config_error' : oom.length ? 'oom' : '';
    add(
      'crash_loop',
      root ? 0.4 : 0.65,
      crash,
      root
        ? `Containers restart repeatedly (at least ${atLeast(crash)} times), which follows from ${root}.`
        : `Containers keep crashing (at least ${atLeast(crash)} restarts); the exit reason is in the container logs.`,
    );
  }
  if (probe.length) {
    const symptom = crash.length > 0 || oom.length > 0;
    add(
      'probe_failure',
      symptom ? 0.3 : 0.55,
      probe,
      symptom
        ? 'Probe failures accompany the crashing containers: a symptom, not the cause.'
        : `Probes fail while containers keep running (slow start, wrong probe path or port, or an unhealthy dependency): ${first(probe)}.`,
    );
  }
  if (f.upstream.length) {
    // The peer's own incident is the cause: the link names it and cites this workload's failed calls.
    const cited = [...f.upstream.flatMap((u) => u.evidence), ...dep];
    const peers = f.upstream
      .map(
        (u) =>
          `${u.link.workload.name} (${u.link.workload.kind} ${u.link.namespace}/${u.link.workload.name}, its own incident ${u.link.incident} since ${u.link.since})`,
      )
      .join(', ');
    const names = [...new Set(f.upstream.map((u) => u.link.workload.name))].join(', ');
    add(
      'dependency_failure',
      ownFault ? 0.5 : f.failingBeforePeer ? 0.6 : 0.85,
      cited,
      `Calls to ${peers} fail (${total(f.upstream.flatMap((u) => u.evidence))} failed client spans): ${names} is the likely cause${
        ownFault
          ? ', though this workload also fails on its own'
          : f.failingBeforePeer
            ? `, though this workload was failing before ${names} was`
            : ', not this workload'
      }.`,
    );
  } else if (depMinor) {
    const peers = [...new Set(dep.map((i) => i.peer))].join(', ');
    add(
      'dependency_failure',
      0.35,
      dep,
      `Calls to ${peers} fail (${total(dep)} failed client spans), but ${peers} has no incident of its own and these explain few of the ${served} failed server spans: a contributing factor at most.`,
    );
  } else if (dep.length) {
    const peers = [...new Set(dep.map((i) => i.peer))].join(', ');
    add(
      'dependency_failure',
      ownFault ? 0.45 : 0.75,
      dep,
      `Calls to ${peers} fail (${total(dep)} failed client spans): ${peers} is the likely cause${
        ownFault ? ', though this workload also fails on its own' : ', not this workload'
      }.`,
    );
  }
  // With the HPA pinned at its maximum, failed server spans that opened the incident are the error rate
  // above baseline too: the floor passed them by the same test as the error-rate finding (stream
  // README "The rate test"). Not beside the workload's own faults, which explain them better.
  const served5xx = f.failures.filter((i) => i.tags.has('server_errors') && !i.e.context);
  const atMax = saturation.length ? saturation : ownFault ? [] : served5xx;
  if (atMax.length && f.hpaAtMax) {
    add(
      'capacity',
      0.7,
      atMax,
      `Latency or error rate rose while the HPA is at its maximum (${f.hpa?.current} of max ${f.hpa?.max}): demand exceeds what it may scale to; raise the HPA's maxReplicas.`,
    );
  } else if (
    saturation.length &&
    f.hpa === null &&
    f.doc.workloadState !== null &&
    !ownFault &&
    (dep.length === 0 || depMinor) &&
    f.desired !== null &&
    f.available !== null &&
    f.available >= f.desired
  ) {
    add(
      'capacity',
      0.45,
      saturation,
      `Latency or error rate rose while all ${f.desired} replicas are up and no HPA manages the Deployment: likely more load than ${f.desired} replicas serve.`,
    );
  }

  const suspect = f.rollouts.find((r) => isRolloutCause(r.verdict));
  if (suspect) {
    const rs = suspect.rollout.replicaSet;
    const delay = formatSpan((f.failureStartMs ?? suspect.atMs) - suspect.atMs);
    const rollback = `roll back with \`kubectl rollout undo deployment/${name} -n ${ns}\``;
    if (suspect.verdict === 'new_pods_failing') {
      const pods = [...new Set(suspect.onNewPods.flatMap((i) => i.pods.filter((p) => p.startsWith(rs))))];
      const how = (['oom', 'crash_loop', 'image_pull', 'config_error', 'probe_failure'] as const).filter(
        (t) => suspect.onNewPods.some((i) => i.tags.has(t)),
      );
      // An image or config the new version references but that does not exist is the specific,
      // actionable cause (fix the reference); the rollout is how it arrived, so it ranks second.
      const artifact = how.includes('image_pull') || how.includes('config_error');
      const earlier = suspect.before.length
        ? ` (${suspect.before.length} earlier item${suspect.before.length === 1 ? '' : 's'} predate it)`
        : '';
      add(
        'bad_rollout',
        artifact ? Math.max(0.5, best() - 0.05) : Math.max(0.85, best() + 0.05),
        [...suspect.evidence, ...suspect.onNewPods],
        `Failures began ${delay} after ReplicaSet ${rs} rolled out at ${suspect.rollout.at}${earlier}, on its own pods (${pods
          .slice(0, 3)
          .join(', ')})${how.length ? `: ${how.join(', ')}` : ''}. ${
          artifact
            ? `The new version references an image or configuration that does not exist: fix the reference, or ${rollback}.`
            : `The new version is failing; ${rollback}.`
        }`,
      );
    } else {
      add(
        'bad_rollout',
        0.55,
        [...suspect.evidence, ...suspect.after],
        `Failures began ${delay} after ReplicaSet ${rs} rolled out at ${suspect.rollout.at}; no pod names tie them to the new version, so this rests on timing alone. If confirmed, ${rollback}.`,
      );
    }
  }

  // A canary is a new version by definition: failures of its own (not a peer's, the nodes' or the
  // scheduler's) indict that version, however long ago its pods started (traffic is shifted later).
  const canaryOwn = opts.canary
    ? f.failures.filter(
        (i) => !i.tags.has('dependency_failure') && !i.tags.has('node_pressure') && !i.tags.has('scheduling'),
      )
    : [];
  if (canaryOwn.length && !suspect && !sched.length && !node.length && !(dep.length && !ownFault)) {
    const newest = f.doc.rollouts[0];
    const version = newest?.images.length ? ` (${newest.images.join(', ')})` : '';
    add(
      'bad_rollout',
      Math.max(0.7, best() + 0.05),
      canaryOwn,
      `${name} is a canary (agents.policy.canaryPatterns): its version${version} fails on its own (first: ${first(canaryOwn)}) while the stable Deployment serves the rest of the traffic. Scale the canary down or roll it back.`,
    );
  }

  if (hyps.length === 0) {
    add(
      'unknown',
      0.2,
      f.failures.length ? f.failures : f.items,
      `No known failure pattern matches the ${f.items.length} evidence item${f.items.length === 1 ? '' : 's'}: human-led triage.`,
    );
  }

  hyps.sort((a, b) => b.confidence - a.confidence || CAUSES.indexOf(a.cause) - CAUSES.indexOf(b.cause));
  const redHerrings = f.rollouts
    .filter((r) => !isRolloutCause(r.verdict))
    // A canary's own rollout is not cleared by timing: it takes traffic when someone shifts it there.
    .filter((r) => !(canaryOwn.length && r.verdict === 'too_early' && r === f.rollouts[0]))
    .map((r) => redHerring(r, f, rolloutWindowMs));
  // The reader of the top hypothesis should not have to look elsewhere to learn the rollout was cleared.
  const top = hyps[0];
  if (top && redHerrings.length) top.explanation += ` ${redHerrings.map((r) => r.explanation).join(' ')}`;
  for (const h of hyps)
    if (h.explanation.length > MAX_EXPLANATION)
      h.explanation = `${h.explanation.slice(0, MAX_EXPLANATION - 1)}…`;
  return { hypotheses: hyps, redHerrings };
}
