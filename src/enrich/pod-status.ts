// What the kubelet and the scheduler really report: pod status. With the Collector's default config no
// Event says OOMKilled and k8s_cluster does not carry the last-terminated reason, so the cause of a
// crash-looping container is often only in `lastState.terminated`. Every pod the store receives (a
// watch event, a list item, a snapshot item: the same `apply`) is compared with its previous version;
// facts that are new become signals, with the status's own times, for the stream stage to take.
import type { PersistingFault, PodStatusChange } from '../stream/workload.ts';
import type { SlimPod } from './objects.ts';

/** Terminations that are a fault on their own. Others (Error, Completed) show through CrashLoopBackOff. */
const FAULT_TERMINATIONS: ReadonlySet<string> = new Set([
  'OOMKilled',
  'ContainerCannotRun',
  'StartError',
  'DeadlineExceeded',
]);

/** Waiting reasons that mean the container cannot run (ContainerCreating, PodInitializing do not). */
export const FAULT_WAITING: ReadonlySet<string> = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'PreStartHookError',
  'PostStartHookError',
]);

const PULL = new Set(['ImagePullBackOff', 'ErrImagePull']);

/** A fact with its identity: the same occurrence seen again (relist, resync) is not new. */
export interface PodFact extends PodStatusChange {
  id: string;
}

/** The faults a pod's status shows now (current waiting reasons, PodScheduled=False, the newest termination). */
export function podFacts(pod: SlimPod): PodFact[] {
  const out: PodFact[] = [];
  const { namespace, name, uid } = pod.metadata;
  const base = { namespace, pod: name, podUid: uid, node: pod.node };
  // A container without times of its own has been in trouble since the pod stopped being ready.
  const podSince = pod.notReady?.sinceMs || pod.notReady?.startedMs || pod.createdMs;
  for (const c of pod.containers) {
    const t = c.trouble;
    const exitCode = t?.exitCode ?? null;
    const finishedMs = t?.finishedMs ?? 0;
    if (FAULT_TERMINATIONS.has(c.lastTerminated)) {
      out.push({
        ...base,
        id: `t|${uid}|${c.name}|${finishedMs || `#${c.restarts}`}|${c.lastTerminated}`,
        kind: 'terminated',
        container: c.name,
        reason: c.lastTerminated,
        message: t?.terminatedMessage ?? '',
        exitCode,
        lastTerminated: c.lastTerminated,
        restarts: c.restarts,
        atMs: finishedMs || null,
      });
    }
    if (FAULT_WAITING.has(c.waiting)) {
      const crash = c.waiting === 'CrashLoopBackOff';
      // One fact per back-off cycle (a crash loop), per pull failure (ErrImagePull ↔ ImagePullBackOff
      // alternate on the same attempts), per other reason.
      const cycle = crash ? `#${c.restarts}` : PULL.has(c.waiting) ? 'pull' : c.waiting;
      out.push({
        ...base,
        id: `w|${uid}|${c.name}|${cycle}`,
        kind: 'waiting',
        container: c.name,
        reason: c.waiting,
        message: t?.waitingMessage ?? '',
        exitCode,
        lastTerminated: c.lastTerminated,
        restarts: c.restarts,
        atMs: (crash ? finishedMs : 0) || podSince || null,
      });
    }
  }
  const u = pod.unscheduled;
  if (u && pod.phase === 'Pending') {
    out.push({
      ...base,
      id: `s|${uid}|${u.sinceMs}|${u.reason}`,
      kind: 'unschedulable',
      container: '',
      reason: u.reason || 'Unschedulable',
      message: u.message,
      exitCode: null,
      lastTerminated: '',
      restarts: 0,
      atMs: u.sinceMs || pod.createdMs || null,
    });
  }
  return out;
}

/** The fault a pod shows at `atMs`, if any (terminations are past, not persisting). */
export function podFault(pod: SlimPod, atMs: number): PersistingFault | null {
  for (const f of podFacts(pod)) {
    if (f.kind === 'terminated' || (f.atMs !== null && f.atMs > atMs)) continue;
    if (f.kind === 'unschedulable')
      return {
        reason: 'unschedulable',
        detail: `pod ${f.pod} is Pending: ${f.reason}${f.message ? `: ${f.message}` : ''}`,
      };
    // No waiting message: it changes with every back-off ("back-off 40s" → "1m20s") and each change
    // would be a new revision of a quiet incident; the evidence carries it.
    return { reason: 'waiting', detail: `container ${f.container} of pod ${f.pod} is waiting: ${f.reason}` };
  }
  if (pod.phase === 'Pending' && pod.createdMs && pod.createdMs <= atMs && !pod.node)
    return { reason: 'pending', detail: `pod ${pod.metadata.name} is Pending (not scheduled yet)` };
  return null;
}

export interface PodStatusFeedOptions {
  /** Terminations older than this before the taker's clock are history, not news (a first list). */
  lookbackMs: number;
  /** Facts waiting to be taken, at most; the oldest go first (counted in stats.dropped). */
  maxQueued?: number;
  /** Occurrence ids remembered, so a relist does not report the same fact twice. */
  maxSeen?: number;
}

export interface PodStatusFeedStats {
  observed: number;
  queued: number;
  taken: number;
  stale: number;
  dropped: number;
}

/**
 * New pod-status facts, queued in time order until the stream stage takes them with its clock. Facts
 * without a time are taken at once and stamped by the taker's clock.
 */
export class PodStatusFeed {
  readonly stats: PodStatusFeedStats = { observed: 0, queued: 0, taken: 0, stale: 0, dropped: 0 };
  readonly #queue: PodFact[] = [];
  #sorted = true;
  readonly #seen = new Set<string>();
  readonly #lookbackMs: number;
  readonly #maxQueued: number;
  readonly #maxSeen: number;

  constructor(o: PodStatusFeedOptions) {
    this.#lookbackMs = o.lookbackMs;
    this.#maxQueued = o.maxQueued ?? 10_000;
    this.#maxSeen = o.maxSeen ?? 20_000;
  }

  /** The store's onPod hook: facts in `next` that `prev` did not show are queued. */
  observe(prev: SlimPod | undefined, next: SlimPod): void {
    this.stats.observed++;
    const facts = podFacts(next);
    if (facts.length === 0) return;
    const before = prev ? new Set(podFacts(prev).map((f) => f.id)) : undefined;
    for (const f of facts) {
      if (before?.has(f.id) || this.#seen.has(f.id)) continue;
      this.#remember(f.id);
      if (this.#queue.length >= this.#maxQueued) {
        this.#sortQueue();
        this.#queue.shift();
        this.stats.dropped++;
      }
      const last = this.#queue[this.#queue.length - 1];
      if (last && order(last, f) > 0) this.#sorted = false;
      this.#queue.push(f);
      this.stats.queued++;
    }
  }

  /** Facts whose time has come by `untilMs`, oldest first; past terminations beyond the lookback are dropped. */
  take(untilMs: number): PodStatusChange[] {
    if (this.#queue.length === 0) return [];
    this.#sortQueue();
    let n = 0;
    while (n < this.#queue.length && (this.#queue[n]!.atMs ?? Number.NEGATIVE_INFINITY) <= untilMs) n++;
    if (n === 0) return [];
    const out: PodStatusChange[] = [];
    for (const { id: _id, ...f } of this.#queue.splice(0, n)) {
      if (f.kind === 'terminated' && f.atMs !== null && f.atMs < untilMs - this.#lookbackMs) {
        this.stats.stale++;
        continue;
      }
      out.push(f);
    }
    this.stats.taken += out.length;
    return out;
  }

  get size(): number {
    return this.#queue.length;
  }

  #sortQueue(): void {
    if (this.#sorted) return;
    this.#queue.sort(order);
    this.#sorted = true;
  }

  #remember(id: string): void {
    if (this.#seen.size >= this.#maxSeen) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#seen.add(id);
  }
}

/** Time order (unknown times first: they are taken at once), then identity: the same input, the same order. */
function order(a: PodFact, b: PodFact): number {
  const ta = a.atMs ?? Number.NEGATIVE_INFINITY;
  const tb = b.atMs ?? Number.NEGATIVE_INFINITY;
  return ta !== tb ? ta - tb : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
