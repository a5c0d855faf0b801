// Slim projections of the Kubernetes objects the joins need. Informers (watch events, list pages) and
// snapshots (a `kubectl get … -o json` v1/List) both hand raw API JSON to `Projector.project`, and only
// what it returns is ever stored: a Pod of ~6 KiB JSON (managedFields, full spec, status) becomes a few
// hundred bytes. Label sets and short repeated strings (images, reasons, owner names) are interned, so
// the pods of one ReplicaSet share one labels object. Measured in bench/enrich-memory.ts.

import { type Management, managementOf } from './gitops.ts';

/** The kinds the cache holds; the informer list in informers.ts and the snapshot accept these. */
export const KINDS = [
  'Namespace',
  'Node',
  'Pod',
  'Service',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
] as const;
export type Kind = (typeof KINDS)[number];

export type Labels = Readonly<Record<string, string>>;

/** What ListWatch indexes by (namespace, name) and compares (resourceVersion). */
export interface SlimMeta {
  name: string;
  namespace: string;
  resourceVersion: string;
  uid: string;
}

export interface OwnerRef {
  kind: string;
  name: string;
}

/** A label or annotation value that may name an owning team, kept only for the configured keys. */
export interface TeamTag {
  from: 'label' | 'annotation';
  key: string;
  value: string;
}

/** Who last changed a set of fields, from metadata.managedFields. */
export interface FieldManager {
  manager: string;
  operation: string;
  atMs: number;
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
}

export interface ContainerState {
  name: string;
  image: string;
  restarts: number;
  ready: boolean;
  /** state.waiting.reason ('' when not waiting). */
  waiting: string;
  /** lastState.terminated.reason ('' when it never terminated). */
  lastTerminated: string;
  /** Set only for a container that terminated or is waiting (most are running: null). */
  trouble: ContainerTrouble | null;
}

/** The newest termination (state.terminated while down, else lastState.terminated) and the waiting message. */
export interface ContainerTrouble {
  /** Exit code of the newest termination, null when none. */
  exitCode: number | null;
  /** Its finishedAt (0 when unknown). */
  finishedMs: number;
  /** Its message (the termination log), cut short. */
  terminatedMessage: string;
  /** state.waiting.message, cut short: "Back-off pulling image …", "secret \"x\" not found". */
  waitingMessage: string;
}

/** PodScheduled=False: why the scheduler cannot place the pod, and since when (0 unknown). */
export interface Unscheduled {
  reason: string;
  message: string;
  sinceMs: number;
}

interface SlimBase<K extends Kind> {
  kind: K;
  metadata: SlimMeta;
  createdMs: number;
}

export interface SlimPod extends SlimBase<'Pod'> {
  labels: Labels;
  /** Team labels/annotations of a bare pod (a shared empty list for most pods). */
  team: readonly TeamTag[];
  /** The controller ownerReference (or the first one), null for a bare pod. */
  owner: OwnerRef | null;
  node: string;
  phase: string;
  containers: readonly ContainerState[];
  /** Set only while PodScheduled is False (most pods: null). */
  unscheduled: Unscheduled | null;
  /** Set only while the pod is not Ready: since when (Ready's lastTransitionTime) and status.startTime (0 unknown). */
  notReady: { sinceMs: number; startedMs: number } | null;
  /** Memo of the resolver's answer, valid while `memoGen` equals the store's generation. */
  memo: { kind: string; name: string } | undefined;
  memoGen: number;
}

export interface SlimReplicaSet extends SlimBase<'ReplicaSet'> {
  owner: OwnerRef | null;
  /** deployment.kubernetes.io/revision */
  revision: number | null;
  /** kubernetes.io/change-cause */
  changeCause: string | null;
  images: readonly string[];
  /** pod-template-hash label */
  templateHash: string;
  replicas: number;
  readyReplicas: number;
  /** Who wrote its spec (the deployment controller in a real cluster). */
  manager: FieldManager | null;
}

/** Deployment, StatefulSet, DaemonSet or Job. */
export interface SlimWorkload extends SlimBase<'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job'> {
  owner: OwnerRef | null;
  team: readonly TeamTag[];
  /** Pod template labels: what Services select on. */
  templateLabels: Labels;
  images: readonly string[];
  /** Deployment: deployment.kubernetes.io/revision. */
  revision: number | null;
  changeCause: string | null;
  /** Deployment: Progressing / Available / ReplicaFailure. */
  conditions: readonly Condition[];
  /** Who last changed spec.template. */
  templateManager: FieldManager | null;
  replicas: number;
  /** StatefulSet / DaemonSet: the ControllerRevision new pods get (status.updateRevision). */
  updateRevision: string;
  /** status.availableReplicas (StatefulSet: readyReplicas); null when the status does not say. */
  available: number | null;
  /** Who manages it: Argo CD, Flux, Helm, and the field managers of spec.replicas (one shared object when none). */
  management: Management;
}

export interface SlimService extends SlimBase<'Service'> {
  /** spec.selector; null selects nothing (external endpoints). */
  selector: Labels | null;
}

export interface SlimNode extends SlimBase<'Node'> {
  conditions: readonly Condition[];
  unschedulable: boolean;
  zone: string;
}

export interface SlimNamespace extends SlimBase<'Namespace'> {
  team: readonly TeamTag[];
  /** Labels / annotations that may say the environment (enrich.environmentLabels / …Annotations), in order. */
  environment: readonly TeamTag[];
}

export type SlimObject = SlimPod | SlimReplicaSet | SlimWorkload | SlimService | SlimNode | SlimNamespace;

export interface ProjectorOptions {
  /** Label keys that may name a team, in order of preference (e.g. team, app.kubernetes.io/part-of). */
  teamLabels: readonly string[];
  /** Annotation keys that may name a team, tried after the labels. */
  teamAnnotations: readonly string[];
  /** Namespace label keys that may say the environment (production, staging, …), in order. */
  environmentLabels?: readonly string[];
  /** Namespace annotation keys that may say the environment, tried after the labels. */
  environmentAnnotations?: readonly string[];
}

const REVISION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const ZONE = 'topology.kubernetes.io/zone';
const MAX_TEXT = 256;
const EMPTY: Labels = Object.freeze({});
const NO_CONDITIONS: readonly Condition[] = Object.freeze([]);
const NO_TAGS: readonly TeamTag[] = Object.freeze([]);

// biome-ignore lint/suspicious/noExplicitAny: raw API JSON is navigated defensively below
type Raw = any;

/**
 * Raw API object → slim record. One per cache; owns the intern tables, which are bounded: past
 * `maxInterned` entries a table starts over (objects already stored keep their references).
 */
export class Projector {
  readonly #teamLabels: readonly string[];
  readonly #teamAnnotations: readonly string[];
  readonly #envLabels: readonly string[];
  readonly #envAnnotations: readonly string[];
  readonly #strings = new Map<string, string>();
  readonly #labelSets = new Map<string, Labels>();
  readonly #maxInterned: number;

  constructor(opts: ProjectorOptions, maxInterned = 100_000) {
    this.#teamLabels = opts.teamLabels;
    this.#teamAnnotations = opts.teamAnnotations;
    this.#envLabels = opts.environmentLabels ?? [];
    this.#envAnnotations = opts.environmentAnnotations ?? [];
    this.#maxInterned = maxInterned;
  }

  /** Returns undefined for objects of another kind or without a name. */
  project(kind: Kind, raw: Raw): SlimObject | undefined {
    const md = raw?.metadata;
    if (!md || typeof md.name !== 'string' || md.name === '') return undefined;
    switch (kind) {
      case 'Pod':
        return this.#pod(raw);
      case 'ReplicaSet':
        return this.#replicaSet(raw);
      case 'Deployment':
      case 'StatefulSet':
      case 'DaemonSet':
      case 'Job':
        return this.#workload(kind, raw);
      case 'Service':
        return {
          kind,
          metadata: this.#meta(md),
          createdMs: time(md.creationTimestamp),
          selector: isObject(raw.spec?.selector) ? this.labels(raw.spec.selector) : null,
        };
      case 'Node':
        return {
          kind,
          metadata: this.#meta(md),
          createdMs: time(md.creationTimestamp),
          conditions: this.#conditions(raw.status?.conditions, null),
          unschedulable: raw.spec?.unschedulable === true,
          zone: this.s(str(md.labels?.[ZONE])),
        };
      case 'Namespace':
        return {
          kind,
          metadata: this.#meta(md),
          createdMs: time(md.creationTimestamp),
          team: this.#team(md),
          environment: this.#tags(md, this.#envLabels, this.#envAnnotations),
        };
    }
  }

  /** Interns a short string (names, images, reasons) so repeats share one copy. */
  s(v: string): string {
    if (v === '' || v.length > 200) return v;
    const hit = this.#strings.get(v);
    if (hit !== undefined) return hit;
    if (this.#strings.size >= this.#maxInterned) this.#strings.clear();
    this.#strings.set(v, v);
    return v;
  }

  /** Interns a label set: equal sets (all pods of a ReplicaSet) share one frozen object. */
  labels(raw: Raw): Labels {
    if (!isObject(raw)) return EMPTY;
    const keys = Object.keys(raw).sort();
    if (keys.length === 0) return EMPTY;
    let sig = '';
    for (const k of keys) sig += `${k}\u0000${str(raw[k])}\u0001`;
    const hit = this.#labelSets.get(sig);
    if (hit) return hit;
    const out: Record<string, string> = {};
    for (const k of keys) out[this.s(k)] = this.s(str(raw[k]));
    Object.freeze(out);
    if (this.#labelSets.size >= this.#maxInterned) this.#labelSets.clear();
    this.#labelSets.set(sig, out);
    return out;
  }

  #meta(md: Raw): SlimMeta {
    return {
      name: str(md.name),
      namespace: this.s(str(md.namespace)),
      resourceVersion: str(md.resourceVersion),
      uid: str(md.uid),
    };
  }

  #owner(md: Raw): OwnerRef | null {
    const refs = md.ownerReferences;
    if (!Array.isArray(refs) || refs.length === 0) return null;
    const ref = refs.find((r: Raw) => r?.controller === true) ?? refs[0];
    if (!ref || typeof ref.kind !== 'string' || typeof ref.name !== 'string') return null;
    return { kind: this.s(ref.kind), name: this.s(ref.name) };
  }

  #team(md: Raw): readonly TeamTag[] {
    return this.#tags(md, this.#teamLabels, this.#teamAnnotations);
  }

  #tags(md: Raw, labels: readonly string[], annotations: readonly string[]): readonly TeamTag[] {
    const out: TeamTag[] = [];
    for (const key of labels) {
      const v = md.labels?.[key];
      if (typeof v === 'string' && v !== '') out.push({ from: 'label', key, value: this.s(v) });
    }
    for (const key of annotations) {
      const v = md.annotations?.[key];
      if (typeof v === 'string' && v !== '') out.push({ from: 'annotation', key, value: this.s(clip(v)) });
    }
    // Most objects carry none: they share one empty list.
    return out.length ? out : NO_TAGS;
  }

  #images(podSpec: Raw): readonly string[] {
    const cs = podSpec?.containers;
    if (!Array.isArray(cs)) return [];
    return cs.map((c: Raw) => this.s(str(c?.image))).filter((i: string) => i !== '');
  }

  #conditions(raw: Raw, only: ReadonlySet<string> | null): readonly Condition[] {
    if (!Array.isArray(raw) || raw.length === 0) return NO_CONDITIONS;
    const out: Condition[] = [];
    for (const c of raw) {
      if (!c || typeof c.type !== 'string' || (only && !only.has(c.type))) continue;
      out.push({ type: this.s(c.type), status: this.s(str(c.status)), reason: this.s(str(c.reason)) });
    }
    return out;
  }

  #pod(raw: Raw): SlimPod {
    const md = raw.metadata;
    const statuses = new Map<string, Raw>();
    for (const cs of arr(raw.status?.containerStatuses)) if (cs?.name) statuses.set(cs.name, cs);
    const containers: ContainerState[] = [];
    for (const c of arr(raw.spec?.containers)) {
      const name = str(c?.name);
      const st = statuses.get(name);
      // The container is down right now (state.terminated) or ran again since (lastState.terminated).
      const term = st?.state?.terminated ?? st?.lastState?.terminated;
      const waiting = st?.state?.waiting;
      containers.push({
        name: this.s(name),
        image: this.s(str(c?.image)),
        restarts: typeof st?.restartCount === 'number' ? st.restartCount : 0,
        ready: st?.ready === true,
        waiting: this.s(str(waiting?.reason)),
        lastTerminated: this.s(str(term?.reason)),
        trouble:
          term || waiting
            ? {
                exitCode: typeof term?.exitCode === 'number' ? term.exitCode : null,
                finishedMs: time(term?.finishedAt),
                terminatedMessage: clip(str(term?.message)),
                waitingMessage: clip(str(waiting?.message)),
              }
            : null,
      });
    }
    let unscheduled: Unscheduled | null = null;
    let notReady: SlimPod['notReady'] = null;
    for (const cond of arr(raw.status?.conditions)) {
      if (cond?.type === 'PodScheduled' && cond.status === 'False')
        unscheduled = {
          reason: this.s(str(cond.reason)),
          message: clip(str(cond.message)),
          sinceMs: time(cond.lastTransitionTime),
        };
      else if (cond?.type === 'Ready' && cond.status === 'False')
        notReady = { sinceMs: time(cond.lastTransitionTime), startedMs: time(raw.status?.startTime) };
    }
    return {
      kind: 'Pod',
      metadata: this.#meta(md),
      createdMs: time(md.creationTimestamp),
      labels: this.labels(md.labels),
      team: this.#team(md),
      owner: this.#owner(md),
      node: this.s(str(raw.spec?.nodeName)),
      phase: this.s(str(raw.status?.phase)),
      containers,
      unscheduled,
      notReady,
      memo: undefined,
      memoGen: -1,
    };
  }

  #replicaSet(raw: Raw): SlimReplicaSet {
    const md = raw.metadata;
    return {
      kind: 'ReplicaSet',
      metadata: this.#meta(md),
      createdMs: time(md.creationTimestamp),
      owner: this.#owner(md),
      revision: revision(md.annotations?.[REVISION]),
      changeCause: textOrNull(md.annotations?.[CHANGE_CAUSE]),
      images: this.#images(raw.spec?.template?.spec),
      templateHash: this.s(str(md.labels?.['pod-template-hash'])),
      replicas: typeof raw.spec?.replicas === 'number' ? raw.spec.replicas : 1,
      readyReplicas: typeof raw.status?.readyReplicas === 'number' ? raw.status.readyReplicas : 0,
      manager: this.#manager(md.managedFields, SPEC),
    };
  }

  #workload(kind: SlimWorkload['kind'], raw: Raw): SlimWorkload {
    const md = raw.metadata;
    return {
      kind,
      metadata: this.#meta(md),
      createdMs: time(md.creationTimestamp),
      owner: this.#owner(md),
      team: this.#team(md),
      templateLabels: this.labels(raw.spec?.template?.metadata?.labels),
      images: this.#images(raw.spec?.template?.spec),
      revision: revision(md.annotations?.[REVISION]),
      changeCause: textOrNull(md.annotations?.[CHANGE_CAUSE]),
      conditions: kind === 'Deployment' ? this.#conditions(raw.status?.conditions, ROLLOUT_CONDITIONS) : [],
      templateManager: this.#manager(md.managedFields, TEMPLATE),
      replicas: typeof raw.spec?.replicas === 'number' ? raw.spec.replicas : 1,
      updateRevision: this.s(str(raw.status?.updateRevision)),
      available:
        num(raw.status?.availableReplicas) ?? (raw.status ? (num(raw.status.readyReplicas) ?? 0) : null),
      management: managementOf(md),
    };
  }

  /**
   * The managedFields entry (main resource, not a subresource) that owns the fields under `path`
   * and changed last. managedFields keeps only current ownership: this names who made the latest
   * change, not the author of every past revision.
   */
  #manager(mf: Raw, path: readonly string[]): FieldManager | null {
    if (!Array.isArray(mf)) return null;
    let best: FieldManager | null = null;
    for (const e of mf) {
      if (!e || e.subresource || typeof e.manager !== 'string') continue;
      let f = e.fieldsV1;
      for (const p of path) f = f?.[p];
      if (!isObject(f)) continue;
      const atMs = time(e.time);
      if (!best || atMs >= best.atMs)
        best = { manager: this.s(e.manager), operation: this.s(str(e.operation)), atMs };
    }
    return best;
  }
}

const SPEC = ['f:spec'] as const;
const TEMPLATE = ['f:spec', 'f:template'] as const;
const ROLLOUT_CONDITIONS: ReadonlySet<string> = new Set(['Progressing', 'Available', 'ReplicaFailure']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function arr(v: unknown): readonly Raw[] {
  return Array.isArray(v) ? v : [];
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}

function textOrNull(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? clip(v) : null;
}

function revision(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

/** RFC 3339 (or a Date, or ms) to epoch ms; 0 when absent or unreadable. */
export function time(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'string' || v === '') return 0;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? 0 : ms;
}
