// The discrete-event simulator behind every scenario. A scenario builds a cluster, schedules what
// happens (rollouts, crashes, probe failures, load) and the engine turns the evolving state into
// telemetry in the Collector's shapes:
//   - Kubernetes Events through client-go's recorder semantics (same Event object re-emitted with
//     count+1; the kubelet's per-object spam filter: burst 25, then one per 5 minutes) and then
//     k8seventsreceiver's record shape (k8s-events.ts);
//   - k8s_cluster and kubelet_stats collections every 60 s (k8s-metrics.ts);
//   - application spans and logs, exported by each pod's OTel SDK in 5 s / 1 s batches, with
//     k8sattributes' resource attributes (app-telemetry.ts);
// and finally through the batch processor and Kafka exporter (collector.ts) into capture records.
// Determinism: all structure (names, uids, hashes) comes from `structure`, seeded by the scenario
// name; all noise (latencies, jitter, request mix, ids) from `noise`, seeded by (scenario, seed).
// No Math.random, no wall clock.
import type { CapturedRecord } from '../stream/capture.ts';
import {
  ClusterModel,
  type ContainerModel,
  type DeploymentModel,
  type JsonObject,
  type NodeModel,
  type PodModel,
  type PodTemplate,
  type ReplicaSetModel,
} from './cluster.ts';
import {
  type CollectorOptions,
  collectorRecords,
  DEFAULT_COLLECTOR,
  type ResourceItem,
} from './collector.ts';
import { type K8sEvent, k8sEventResourceLogs } from './k8s-events.ts';
import {
  type ContainerMetricsConfig,
  clusterScrape,
  kubeletScrape,
  MODELLED_CONTAINER_METRICS,
} from './k8s-metrics.ts';
import { Prng } from './prng.ts';

export const SEC = 1000;
export const MIN = 60_000;

/** What an Event is about (its involvedObject). */
export interface ObjectRef {
  kind: string;
  name: string;
  namespace: string;
  uid: string;
  apiVersion: string;
  resourceVersion: string;
  fieldPath?: string;
}

export interface EventSpec {
  object: ObjectRef;
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  /** source.component / reportingController: kubelet, default-scheduler, deployment-controller… */
  component: string;
  /** source.host (the node, for kubelet events). */
  host?: string;
}

export interface SimOptions {
  scenario: string;
  seed: number;
  start: number;
  durationMs: number;
  collector?: Partial<CollectorOptions>;
  /** k8s_cluster and kubelet_stats collection interval. */
  scrapeMs?: number;
  /** The seeded background of a healthy cluster (scenarios/background.ts); off when undefined. */
  background?: BackgroundSpec;
  /** Which container metrics k8s_cluster sends (default: status reason, last-terminated reason, restarts). */
  containerMetrics?: ContainerMetricsConfig;
}

/** What the background layer may touch: workloads and nodes the scenario's truth is about are left alone. */
export interface BackgroundSpec {
  /** "namespace/Kind/name" ("" namespace for Nodes) that get no discrete noise (restarts, rollouts, HPA). */
  exclude: ReadonlySet<string>;
}

interface Task {
  at: number;
  seq: number;
  fn: () => void;
}

/** A span or log record waiting in a pod's SDK batch processor. */
interface Pending {
  at: number;
  item: Record<string, unknown>;
}

interface SdkBuffer {
  pod: PodModel;
  container: ContainerModel;
  resource: Record<string, unknown>;
  spanScope: { name: string; version: string };
  logScope: { name: string; version: string };
  spans: Pending[];
  logs: Pending[];
}

/** Apps' OTel SDKs: BatchSpanProcessor every 5 s, BatchLogRecordProcessor every 1 s. */
const SPAN_EXPORT_MS = 5000;
const LOG_EXPORT_MS = 1000;

interface EventState {
  uid: string;
  name: string;
  count: number;
  firstAt: number;
}

interface SpamBucket {
  tokens: number;
  at: number;
}

const SPAM_BURST = 25;
const SPAM_REFILL_MS = 300_000;

export class Sim {
  readonly scenario: string;
  readonly seed: number;
  readonly background: BackgroundSpec | undefined;
  readonly start: number;
  readonly end: number;
  readonly cluster: ClusterModel;
  readonly structure: Prng;
  readonly noise: Prng;
  readonly collector: CollectorOptions;
  readonly scrapeMs: number;
  readonly containerMetrics: ContainerMetricsConfig;
  now: number;
  readonly #items: ResourceItem[] = [];
  readonly #queue: Task[] = [];
  #seq = 0;
  readonly #events = new Map<string, EventState>();
  readonly #spam = new Map<string, SpamBucket>();
  readonly #sdk = new Map<string, SdkBuffer>();
  /** Builds the app resource for a pod's SDK (set by the traffic model). */
  sdkResource:
    | ((p: PodModel) => {
        resource: Record<string, unknown>;
        spanScope: { name: string; version: string };
        logScope: { name: string; version: string };
      })
    | undefined;
  #ran = false;

  constructor(o: SimOptions) {
    this.scenario = o.scenario;
    this.seed = o.seed;
    this.background = o.background;
    this.start = o.start;
    this.end = o.start + o.durationMs;
    this.now = o.start;
    this.structure = new Prng('structure', o.scenario);
    this.noise = new Prng('noise', o.scenario, o.seed);
    this.cluster = new ClusterModel(this.structure.fork('cluster'));
    this.collector = { ...DEFAULT_COLLECTOR, ...(o.collector ?? {}) };
    this.scrapeMs = o.scrapeMs ?? 60_000;
    this.containerMetrics = o.containerMetrics ?? MODELLED_CONTAINER_METRICS;
  }

  /** Absolute time of an offset from the scenario start. */
  t(offsetMs: number): number {
    return this.start + offsetMs;
  }

  /** Runs `fn` at an absolute time (ties run in scheduling order). */
  atAbs(at: number, fn: () => void): void {
    const task = { at, seq: this.#seq++, fn };
    // Binary insertion keeps the queue ordered by (at, seq).
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.#queue[mid]!;
      if (m.at < at || (m.at === at && m.seq < task.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, task);
  }

  /** Runs `fn` at an offset from the scenario start. */
  at(offsetMs: number, fn: () => void): void {
    this.atAbs(this.t(offsetMs), fn);
  }

  /** Runs `fn` after a delay from now. */
  after(delayMs: number, fn: () => void): void {
    this.atAbs(this.now + delayMs, fn);
  }

  /** Runs `fn(now)` every period from an offset until the end (or `untilOffset`). */
  every(offsetMs: number, periodMs: number, fn: (now: number) => void, untilOffset?: number): void {
    const until = untilOffset === undefined ? this.end : this.t(untilOffset);
    const step = (at: number) => {
      if (at > until) return;
      this.atAbs(at, () => {
        fn(at);
        step(at + periodMs);
      });
    };
    step(this.t(offsetMs));
  }

  // ---- Kubernetes Events ----------------------------------------------------------------------

  /**
   * Records an Event as client-go's recorder would: identical events (same object, reason, message,
   * source) update one Event object (count+1); the per-source/object spam filter drops the rest.
   * Each create/update reaches k8seventsreceiver through its watch within a few hundred ms.
   */
  event(e: EventSpec): void {
    const o = e.object;
    const source = `${e.component}|${e.host ?? ''}`;
    const objKey = `${o.kind}|${o.namespace}|${o.name}|${o.uid}|${o.apiVersion}`;
    const spamKey = `${source}|${objKey}`;
    let bucket = this.#spam.get(spamKey);
    if (!bucket) {
      bucket = { tokens: SPAM_BURST, at: this.now };
      this.#spam.set(spamKey, bucket);
    }
    bucket.tokens = Math.min(SPAM_BURST, bucket.tokens + (this.now - bucket.at) / SPAM_REFILL_MS);
    bucket.at = this.now;
    if (bucket.tokens < 1) return;
    bucket.tokens -= 1;

    const key = `${spamKey}|${o.fieldPath ?? ''}|${e.type}|${e.reason}|${e.message}`;
    let st = this.#events.get(key);
    if (!st) {
      st = {
        uid: this.structure.uuid(),
        name: `${o.name}.${(BigInt(this.now) * 1_000_000n + BigInt(this.structure.int(0, 999_999))).toString(16)}`,
        count: 0,
        firstAt: this.now,
      };
      this.#events.set(key, st);
    }
    st.count++;
    const ev: K8sEvent = {
      namespace: o.namespace,
      reason: e.reason,
      message: e.message,
      type: e.type,
      object: { kind: o.kind, name: o.name, uid: o.uid, fieldPath: o.fieldPath, apiVersion: o.apiVersion },
      uid: st.uid,
      name: st.name,
      count: st.count,
      atMs: Math.floor(this.now / 1000) * 1000,
      firstAtMs: st.firstAt,
      node: e.host ?? '',
      reportingController: e.component,
      resourceVersion: o.resourceVersion,
    };
    this.#items.push({
      signal: 'logs',
      arriveMs: this.now + this.noise.int(20, 400),
      payload: k8sEventResourceLogs(ev),
      size: 1,
    });
  }

  podRef(p: PodModel, container?: string): ObjectRef {
    return {
      kind: 'Pod',
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      apiVersion: 'v1',
      resourceVersion: String(p.resourceVersion),
      fieldPath: container ? `spec.containers{${container}}` : undefined,
    };
  }

  deploymentRef(d: DeploymentModel): ObjectRef {
    return {
      kind: 'Deployment',
      name: d.name,
      namespace: d.namespace,
      uid: d.uid,
      apiVersion: 'apps/v1',
      resourceVersion: String(d.resourceVersion),
    };
  }

  replicaSetRef(rs: ReplicaSetModel): ObjectRef {
    return {
      kind: 'ReplicaSet',
      name: rs.name,
      namespace: rs.namespace,
      uid: rs.uid,
      apiVersion: 'apps/v1',
      resourceVersion: String(rs.resourceVersion),
    };
  }

  nodeRef(n: NodeModel): ObjectRef {
    // Nodes are cluster-scoped: involvedObject.namespace is empty (the Event itself lives in default).
    return { kind: 'Node', name: n.name, namespace: '', uid: n.name, apiVersion: 'v1', resourceVersion: '' };
  }

  // ---- Metrics ----------------------------------------------------------------------------------

  /** Starts the k8s_cluster and kubelet_stats collections (every `scrapeMs`). */
  startScrapes(): void {
    const receiverStart = this.start - this.structure.int(2, 20) * 3600_000;
    const phase = this.noise.int(1000, 9000);
    this.every(phase, this.scrapeMs, (now) => {
      for (const payload of clusterScrape(this.cluster, now, receiverStart, this.containerMetrics))
        this.#items.push({ signal: 'metrics', arriveMs: now + 150, payload, size: countPoints(payload) });
    });
    this.every(phase + this.noise.int(3000, 12_000), this.scrapeMs, (now) => {
      for (const payload of kubeletScrape(this.cluster, now, this.noise))
        this.#items.push({ signal: 'metrics', arriveMs: now + 400, payload, size: countPoints(payload) });
    });
  }

  // ---- Application telemetry (per-pod SDK buffers) -----------------------------------------------

  #buffer(p: PodModel): SdkBuffer | undefined {
    let b = this.#sdk.get(p.uid);
    if (b) return b;
    if (!this.sdkResource) return undefined;
    const { resource, spanScope, logScope } = this.sdkResource(p);
    b = { pod: p, container: p.app, resource, spanScope, logScope, spans: [], logs: [] };
    this.#sdk.set(p.uid, b);
    return b;
  }

  span(p: PodModel, endMs: number, span: Record<string, unknown>): void {
    this.#buffer(p)?.spans.push({ at: endMs, item: span });
  }

  log(p: PodModel, atMs: number, record: Record<string, unknown>): void {
    this.#buffer(p)?.logs.push({ at: atMs, item: record });
  }

  /** The process died: whatever its SDK had not exported yet is lost (spans and logs). */
  loseUnexported(p: PodModel, at: number): void {
    const b = this.#sdk.get(p.uid);
    if (!b) return;
    const phase = sdkPhase(p);
    const spanCut = at - ((((at - phase) % SPAN_EXPORT_MS) + SPAN_EXPORT_MS) % SPAN_EXPORT_MS);
    const logCut = at - ((((at - phase) % LOG_EXPORT_MS) + LOG_EXPORT_MS) % LOG_EXPORT_MS);
    b.spans = b.spans.filter((s) => s.at < spanCut || s.at > at);
    b.logs = b.logs.filter((s) => s.at < logCut || s.at > at);
  }

  #flushSdk(): void {
    for (const b of this.#sdk.values()) {
      const phase = sdkPhase(b.pod);
      this.#exportWindows(b, b.spans, SPAN_EXPORT_MS, phase, 'traces');
      this.#exportWindows(b, b.logs, LOG_EXPORT_MS, phase, 'logs');
    }
  }

  #exportWindows(
    b: SdkBuffer,
    list: Pending[],
    every: number,
    phase: number,
    signal: 'traces' | 'logs',
  ): void {
    const windows = new Map<number, Record<string, unknown>[]>();
    for (const s of list.sort((x, y) => x.at - y.at)) {
      const w = s.at - ((((s.at - phase) % every) + every) % every) + every;
      const l = windows.get(w);
      if (l) l.push(s.item);
      else windows.set(w, [s.item]);
    }
    for (const [w, items] of windows) {
      if (w > this.end + every) continue;
      const payload =
        signal === 'traces'
          ? {
              resource: b.resource,
              scopeSpans: [{ scope: b.spanScope, spans: items }],
              schemaUrl: SEMCONV_SCHEMA,
            }
          : {
              resource: b.resource,
              scopeLogs: [{ scope: b.logScope, logRecords: items }],
              schemaUrl: SEMCONV_SCHEMA,
            };
      this.#items.push({ signal, arriveMs: w + this.noise.int(3, 60), payload, size: items.length });
    }
  }

  // ---- Pod lifecycle -----------------------------------------------------------------------------

  /** The scheduler binds the pod and the kubelet starts it: the Normal events of a healthy start. */
  startPod(p: PodModel, o: { pull?: boolean; readyAfterMs?: number } = {}): void {
    const node = this.cluster.nodeFor(p);
    this.cluster.schedule(p, node, this.now);
    this.event({
      object: this.podRef(p),
      reason: 'Scheduled',
      message: `Successfully assigned ${p.namespace}/${p.name} to ${node.name}`,
      type: 'Normal',
      component: 'default-scheduler',
    });
    const c = p.app;
    this.after(this.noise.int(800, 2000), () => {
      const ref = this.podRef(p, c.spec.name);
      if (o.pull) {
        this.event({
          object: ref,
          reason: 'Pulling',
          message: `Pulling image "${c.spec.image}"`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
      }
      const pullMs = o.pull ? this.noise.int(2500, 9000) : 0;
      this.after(pullMs, () => {
        if (p.deleted) return;
        const secs = (pullMs / 1000).toFixed(3);
        this.event({
          object: ref,
          reason: 'Pulled',
          message: o.pull
            ? `Successfully pulled image "${c.spec.image}" in ${secs}s (${secs}s including waiting). Image size: ${this.structure.int(60_000_000, 420_000_000)} bytes.`
            : `Container image "${c.spec.image}" already present on machine`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
        this.event({
          object: ref,
          reason: 'Created',
          message: `Created container: ${c.spec.name}`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
        this.event({
          object: ref,
          reason: 'Started',
          message: `Started container ${c.spec.name}`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
        this.cluster.startRunning(p, this.now);
        for (const ct of p.containers) ct.ready = false;
        this.after(o.readyAfterMs ?? this.noise.int(6000, 15_000), () => {
          if (p.deleted || p.app.state.kind !== 'running') return;
          for (const ct of p.containers) this.cluster.setReady(p, ct, true, this.now);
        });
      });
    });
  }

  /**
   * The kubelet cannot pull the image: Pulling / Failed (ErrImagePull) / BackOff (ImagePullBackOff)
   * cycles with the kubelet's image back-off (10 s doubling to 300 s).
   */
  failImagePull(p: PodModel, why: (image: string) => string): void {
    const node = this.cluster.nodeFor(p);
    this.cluster.schedule(p, node, this.now);
    this.event({
      object: this.podRef(p),
      reason: 'Scheduled',
      message: `Successfully assigned ${p.namespace}/${p.name} to ${node.name}`,
      type: 'Normal',
      component: 'default-scheduler',
    });
    const c = p.app;
    const image = c.spec.image;
    let attempt = 0;
    const pull = () => {
      if (p.deleted) return;
      const ref = this.podRef(p, c.spec.name);
      this.event({
        object: ref,
        reason: 'Pulling',
        message: `Pulling image "${image}"`,
        type: 'Normal',
        component: 'kubelet',
        host: p.node,
      });
      this.after(this.noise.int(400, 1500), () => {
        if (p.deleted) return;
        this.event({
          object: ref,
          reason: 'Failed',
          message: `Failed to pull image "${image}": ${why(image)}`,
          type: 'Warning',
          component: 'kubelet',
          host: p.node,
        });
        this.event({
          object: ref,
          reason: 'Failed',
          message: 'Error: ErrImagePull',
          type: 'Warning',
          component: 'kubelet',
          host: p.node,
        });
        this.cluster.setWaiting(p, c, 'ErrImagePull', `failed to pull and unpack image "${image}"`);
        attempt++;
        const backoff = Math.min(300_000, 10_000 * 2 ** (attempt - 1));
        // While backing off, each pod sync (about every 10–20 s) reports the back-off again.
        this.after(this.noise.int(1000, 3000), () => {
          if (p.deleted) return;
          this.cluster.setWaiting(p, c, 'ImagePullBackOff', `Back-off pulling image "${image}"`);
          let waited = 0;
          const tick = () => {
            if (p.deleted || waited >= backoff) return;
            this.event({
              object: ref,
              reason: 'BackOff',
              message: `Back-off pulling image "${image}"`,
              type: 'Normal',
              component: 'kubelet',
              host: p.node,
            });
            this.event({
              object: ref,
              reason: 'Failed',
              message: 'Error: ImagePullBackOff',
              type: 'Warning',
              component: 'kubelet',
              host: p.node,
            });
            const step = this.noise.int(10_000, 20_000);
            waited += step;
            this.after(step, tick);
          };
          tick();
        });
        this.after(backoff + this.noise.int(500, 2500), pull);
      });
    };
    this.after(this.noise.int(800, 2000), pull);
  }

  /**
   * The container's env refers to a ConfigMap or Secret that does not exist: the kubelet reports
   * CreateContainerConfigError on every sync (Pulled "already present" + Failed), container never runs.
   */
  failContainerConfig(p: PodModel, missing: string): void {
    const node = this.cluster.nodeFor(p);
    this.cluster.schedule(p, node, this.now);
    this.event({
      object: this.podRef(p),
      reason: 'Scheduled',
      message: `Successfully assigned ${p.namespace}/${p.name} to ${node.name}`,
      type: 'Normal',
      component: 'default-scheduler',
    });
    const c = p.app;
    let n = 0;
    const sync = () => {
      if (p.deleted) return;
      const ref = this.podRef(p, c.spec.name);
      this.event({
        object: ref,
        reason: 'Pulled',
        message: `Container image "${c.spec.image}" already present on machine`,
        type: 'Normal',
        component: 'kubelet',
        host: p.node,
      });
      this.event({
        object: ref,
        reason: 'Failed',
        message: `Error: ${missing}`,
        type: 'Warning',
        component: 'kubelet',
        host: p.node,
      });
      this.cluster.setWaiting(p, c, 'CreateContainerConfigError', missing);
      n++;
      // The pod worker retries with a growing back-off, then on its periodic resync.
      this.after(n < 4 ? this.noise.int(8000, 15_000) : this.noise.int(45_000, 75_000), sync);
    };
    this.after(this.noise.int(800, 2000), sync);
  }

  /**
   * A container that keeps dying (OOMKilled, Error): each crash bumps restartCount and sets
   * lastState.terminated; the kubelet restarts after its back-off (10 s doubling to 5 min) and reports
   * BackOff "Back-off restarting failed container" while waiting.
   */
  crashLoop(
    p: PodModel,
    o: {
      reason: string;
      exitCode: number;
      firstAt: number;
      uptime: (restart: number) => number;
      until?: number;
    },
  ): void {
    const c = p.app;
    const crash = () => {
      if (p.deleted || (o.until !== undefined && this.now > o.until)) return;
      this.loseUnexported(p, this.now);
      const first = c.restartCount === 0;
      this.cluster.terminate(p, c, o.reason, o.exitCode, this.now, 'backoff');
      const backoff = first ? 10_000 : Math.min(300_000, 10_000 * 2 ** Math.min(c.restartCount - 1, 5));
      const ref = this.podRef(p, c.spec.name);
      let waited = 0;
      const tick = () => {
        if (p.deleted || waited >= backoff - 2000) return;
        this.event({
          object: ref,
          reason: 'BackOff',
          message: `Back-off restarting failed container ${c.spec.name} in pod ${p.name}_${p.namespace}(${p.uid})`,
          type: 'Warning',
          component: 'kubelet',
          host: p.node,
        });
        const step = this.noise.int(9000, 18_000);
        waited += step;
        this.after(step, tick);
      };
      this.after(this.noise.int(500, 1500), tick);
      this.after(backoff, () => {
        if (p.deleted) return;
        const r = this.podRef(p, c.spec.name);
        this.event({
          object: r,
          reason: 'Pulled',
          message: `Container image "${c.spec.image}" already present on machine`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
        this.event({
          object: r,
          reason: 'Created',
          message: `Created container: ${c.spec.name}`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
        this.event({
          object: r,
          reason: 'Started',
          message: `Started container ${c.spec.name}`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
        this.cluster.restartContainer(p, c, this.now);
        const readyIn = this.noise.int(6000, 12_000);
        this.after(readyIn, () => {
          if (!p.deleted && c.state.kind === 'running') this.cluster.setReady(p, c, true, this.now);
        });
        this.after(o.uptime(c.restartCount), crash);
      });
    };
    this.atAbs(o.firstAt, crash);
  }

  /**
   * Readiness probe failing every period (10 s): Unhealthy events (count+1 each), the container
   * marked unready after failureThreshold (3) consecutive failures, ready again after `until`.
   */
  failReadiness(
    p: PodModel,
    o: { from: number; until: number; message: (n: number) => string; periodMs?: number },
  ): void {
    const c = p.app;
    const period = o.periodMs ?? 10_000;
    let n = 0;
    const probe = () => {
      if (p.deleted || c.state.kind !== 'running') return;
      if (this.now >= o.until) {
        this.cluster.setReady(p, c, true, this.now);
        return;
      }
      n++;
      this.event({
        object: this.podRef(p, c.spec.name),
        reason: 'Unhealthy',
        message: o.message(n),
        type: 'Warning',
        component: 'kubelet',
        host: p.node,
      });
      if (n >= 3) this.cluster.setReady(p, c, false, this.now);
      this.after(period + this.noise.int(-300, 300), probe);
    };
    this.atAbs(o.from, probe);
  }

  // ---- Deployment controller ---------------------------------------------------------------------

  /** A ScalingReplicaSet event from the deployment controller. */
  scalingEvent(d: DeploymentModel, rs: ReplicaSetModel, from: number, to: number): void {
    this.event({
      object: this.deploymentRef(d),
      reason: 'ScalingReplicaSet',
      message: `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.name} from ${from} to ${to}`,
      type: 'Normal',
      component: 'deployment-controller',
    });
  }

  /**
   * `kubectl apply` of a new pod template: a new ReplicaSet, then the deployment controller's rolling
   * update (maxSurge / maxUnavailable), re-evaluated every few seconds, with ScalingReplicaSet events.
   * `launch` starts each new pod (healthy start, image pull failure, config error…).
   */
  rollout(
    d: DeploymentModel,
    o: {
      image?: string;
      template?: (t: PodTemplate) => PodTemplate;
      changeCause?: string;
      launch?: (p: PodModel) => void;
    },
  ): ReplicaSetModel {
    const old = d.current;
    let template: PodTemplate = {
      ...old.template,
      containers: old.template.containers.map((c, i) => (i === 0 && o.image ? { ...c, image: o.image } : c)),
    };
    if (o.template) template = o.template(template);
    d.generation++;
    const rs = this.cluster.newReplicaSet(d, template, this.now, o.changeCause);
    const launch = o.launch ?? ((p: PodModel) => this.startPod(p, { pull: true }));
    let complete = false;
    const step = () => {
      const changed = this.reconcile(d, rs, launch);
      const olds = d.replicaSets.filter((r) => r !== rs && r.replicas > 0);
      const done = olds.length === 0 && rs.replicas === d.replicas;
      if (!complete && done && rs.livePods().filter((p) => p.ready).length === d.replicas) {
        complete = true;
        d.completeRevision = rs.revision;
      }
      if (!done || changed) this.after(this.noise.int(2000, 4000), step);
    };
    this.after(this.noise.int(50, 300), step);
    // progressDeadlineSeconds (600): a rollout not complete by then is reported as failed. Once it was
    // complete (NewReplicaSetAvailable), later unavailability never times it out.
    this.after(600_000, () => {
      if (!complete && d.current === rs) d.progressDeadlineExceeded = true;
    });
    return rs;
  }

  /** One pass of the rolling-update logic; true when it scaled something. */
  reconcile(d: DeploymentModel, rs: ReplicaSetModel, launch: (p: PodModel) => void): boolean {
    const surge = pctOf(d.maxSurge, d.replicas, true);
    const maxUnavail = pctOf(d.maxUnavailable, d.replicas, false);
    const olds = d.replicaSets.filter((r) => r !== rs && r.replicas > 0);
    const total = rs.replicas + olds.reduce((a, r) => a + r.replicas, 0);
    let changed = false;
    if (rs.replicas < d.replicas && total < d.replicas + surge) {
      const to = Math.min(d.replicas, rs.replicas + (d.replicas + surge - total));
      const from = rs.replicas;
      this.scalingEvent(d, rs, from, to);
      for (const p of this.scaleRs(rs, to)) this.after(this.noise.int(100, 600), () => launch(p));
      changed = true;
    }
    const minAvailable = d.replicas - maxUnavail;
    const allPods = d.replicaSets.reduce((a, r) => a + r.replicas, 0);
    const newUnavailable = rs.replicas - rs.livePods().filter((p) => p.ready).length;
    let canDown = allPods - minAvailable - newUnavailable;
    // Old pods that are not ready go first and never count against availability.
    for (const old of olds) {
      if (canDown <= 0) break;
      const by = Math.min(canDown, old.replicas);
      if (by <= 0) continue;
      const from = old.replicas;
      this.scalingEvent(d, old, from, from - by);
      this.scaleRs(old, from - by);
      canDown -= by;
      changed = true;
    }
    return changed;
  }

  /** The ReplicaSet controller acting on a new replica count: SuccessfulCreate / SuccessfulDelete. */
  scaleRs(rs: ReplicaSetModel, replicas: number): PodModel[] {
    const { created, deleted } = this.cluster.scaleReplicaSet(rs, replicas, this.now);
    for (const p of created)
      this.event({
        object: this.replicaSetRef(rs),
        reason: 'SuccessfulCreate',
        message: `Created pod: ${p.name}`,
        type: 'Normal',
        component: 'replicaset-controller',
      });
    for (const p of deleted) {
      this.event({
        object: this.replicaSetRef(rs),
        reason: 'SuccessfulDelete',
        message: `Deleted pod: ${p.name}`,
        type: 'Normal',
        component: 'replicaset-controller',
      });
      if (p.node)
        this.event({
          object: this.podRef(p, p.app.spec.name),
          reason: 'Killing',
          message: `Stopping container ${p.app.spec.name}`,
          type: 'Normal',
          component: 'kubelet',
          host: p.node,
        });
    }
    return created;
  }

  /** `kubectl scale` / HPA: the Deployment's current ReplicaSet follows, no paired scale-down. */
  scaleDeployment(d: DeploymentModel, replicas: number, launch?: (p: PodModel) => void): PodModel[] {
    const rs = d.current;
    const from = rs.replicas;
    d.replicas = replicas;
    d.generation++;
    d.resourceVersion = this.cluster.nextRv();
    if (from !== replicas) this.scalingEvent(d, rs, from, replicas);
    const created = this.scaleRs(rs, replicas);
    const start = launch ?? ((p: PodModel) => this.startPod(p));
    for (const p of created) this.after(this.noise.int(100, 800), () => start(p));
    return created;
  }

  // ---- Output ------------------------------------------------------------------------------------

  /** Runs the timeline to the end; the cluster is then in its final (snapshot) state. */
  run(): void {
    if (this.#ran) throw new Error('simulation already ran');
    this.#ran = true;
    while (this.#queue.length) {
      const task = this.#queue[0]!;
      if (task.at > this.end) break;
      this.#queue.shift();
      this.now = task.at;
      task.fn();
    }
    this.now = this.end;
    this.#flushSdk();
  }

  records(): CapturedRecord[] {
    return collectorRecords(this.#items, this.collector, this.noise.fork('kafka'));
  }

  snapshot(): JsonObject {
    return this.cluster.toList();
  }
}

const SEMCONV_SCHEMA = 'https://opentelemetry.io/schemas/1.37.0';

/** Each pod's SDK exports on its own phase (process start), not in lock-step with others. */
function sdkPhase(p: PodModel): number {
  let h = 0;
  for (let i = 0; i < p.uid.length; i++) h = (h * 31 + p.uid.charCodeAt(i)) >>> 0;
  return h % 5000;
}

function pctOf(v: string, replicas: number, roundUp: boolean): number {
  if (!v.endsWith('%')) return Number.parseInt(v, 10);
  const x = (replicas * Number.parseInt(v, 10)) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

function countPoints(payload: Record<string, unknown>): number {
  let n = 0;
  for (const sm of payload.scopeMetrics as { metrics: Record<string, { dataPoints?: unknown[] }>[] }[]) {
    for (const m of sm.metrics) n += (m.gauge?.dataPoints ?? m.sum?.dataPoints ?? []).length;
  }
  return n;
}
