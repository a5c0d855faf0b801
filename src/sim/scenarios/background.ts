// The background every production cluster has, laid over any scenario (ScenarioOptions.noise): what a
// healthy cluster emits in half an hour without anything being wrong. None of it may page anyone.
//   - sporadic 5xx: each workload fails 0.05–0.5 % of its requests (rate drawn per workload per seed):
//     a client gone, a pool timeout, a reset; callers see the failure on their client span;
//   - single container restarts: one container exits (Error, exit 1/2/143), the kubelet restarts it at
//     once (restartCount +1, lastState.terminated), no back-off, no CrashLoopBackOff;
//   - routine rollouts that succeed: ScalingReplicaSet up/down, SuccessfulCreate/Delete, Pulling,
//     Pulled, Created, Started, Killing; the first new pod misses one readiness probe while it starts;
//   - HPA rescales: SuccessfulRescale up, later down, with k8s.hpa.* replica metrics;
//   - stray ERROR log lines apps write and nobody acts on, and lines without a severity that look
//     alarming ("not set, using default", "illegal reflective access") but are not;
//   - node events: a kubelet restart (Starting, NodeHasSufficient*, NodeAllocatableEnforced and the
//     benign InvalidDiskCapacity Warning real kubelets emit at start) and RegisteredNode from the
//     node controller after a kube-controller-manager leader change.
// Restarts, rollouts and HPA changes avoid the workloads the scenario's truth is about (they would
// change its answer); rate-like noise (5xx, log lines) goes everywhere. Everything is drawn from its
// own stream seeded by (scenario, seed), in the encoders' shapes (events through Sim.event, spans and
// logs through the pods' SDK buffers, metrics from the cluster state).
import { attrs, nanos } from '../attrs.ts';
import type { DeploymentModel, PodModel, PodTemplate } from '../cluster.ts';
import { MIN, SEC, type Sim } from '../engine.ts';
import { Prng } from '../prng.ts';
import type { AppService, Failure, Language } from '../traffic.ts';
import type { World } from './world.ts';

/** Share of requests that fail for no reason anyone would act on: 0.05–0.5 %. */
const SPORADIC_RATE = { min: 0.0005, max: 0.005 } as const;

/** Lays the background over the world; a no-op unless the Sim was built with `background`. */
export function addBackground(w: World): void {
  const sim = w.sim;
  const spec = sim.background;
  if (!spec) return;
  const rng = new Prng('background', sim.scenario, sim.seed);
  const scale = (sim.end - sim.start) / (30 * MIN);
  const all = Object.values(w.deployments);
  const eligible = shuffle(
    all.filter((d) => !spec.exclude.has(`${d.namespace}/Deployment/${d.name}`)),
    rng.fork('pick'),
  );
  // One HPA per ten workloads, one routine rollout and one restart per six, per half hour; each on its
  // own workload so they never interfere (a rescale in the middle of a rollout is another story).
  const hpas = eligible.filter((d) => d.replicas >= 2).slice(0, Math.max(1, Math.round(all.length / 10)));
  const rest = eligible.filter((d) => !hpas.includes(d));
  const rollouts = rest.slice(0, Math.max(1, Math.round((all.length / 6) * scale)));
  const restarts = rest
    .filter((d) => !rollouts.includes(d))
    .slice(0, Math.max(1, Math.round((all.length / 6) * scale)));

  sporadicFailures(w, rng.fork('5xx'));
  for (const d of hpas) hpaRescales(sim, d, rng.fork(`hpa/${d.name}`));
  for (const d of rollouts) routineRollout(sim, d, rng.fork(`rollout/${d.name}`));
  for (const d of restarts) singleRestart(sim, d, rng.fork(`restart/${d.name}`));
  strayLogLines(w, rng.fork('logs'), scale);
  nodeEvents(sim, spec.exclude, rng.fork('nodes'));
}

/** A time inside the run, away from its edges (baselines first, and the end of the capture). */
function someTime(sim: Sim, rng: Prng, from = 0.15, to = 0.85): number {
  const span = sim.end - sim.start;
  return sim.start + Math.round(rng.float(from, to) * span);
}

function shuffle<T>(items: T[], rng: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

// ---- sporadic 5xx ------------------------------------------------------------------------------

const SPORADIC: Record<Language, Failure[]> = {
  java: [
    {
      status: 500,
      errorType: 'org.springframework.dao.QueryTimeoutException',
      exception: {
        type: 'org.springframework.dao.QueryTimeoutException',
        message: 'PreparedStatementCallback; SQL state [57014]; canceling statement due to statement timeout',
      },
    },
    {
      status: 500,
      errorType: 'java.io.IOException',
      exception: { type: 'java.io.IOException', message: 'Broken pipe' },
    },
  ],
  go: [
    {
      status: 500,
      errorType: 'context.deadlineExceededError',
      exception: { type: '*errors.errorString', message: 'context deadline exceeded' },
    },
    { status: 503, errorType: '503', log: 'upstream connect error or disconnect/reset before headers' },
  ],
  nodejs: [
    {
      status: 500,
      errorType: 'Error',
      exception: { type: 'Error', message: 'socket hang up' },
    },
    { status: 502, errorType: '502', log: 'upstream responded 502 Bad Gateway (retry budget exhausted)' },
  ],
  python: [
    {
      status: 500,
      errorType: 'ConnectionResetError',
      exception: { type: 'ConnectionResetError', message: '[Errno 104] Connection reset by peer' },
    },
  ],
};

function sporadicFailures(w: World, rng: Prng): void {
  const rates = new Map<string, number>();
  // Sorted, so the rates do not depend on the order services were declared in.
  for (const s of w.traffic.services().sort((a, b) => (a.name < b.name ? -1 : 1)))
    rates.set(s.name, rng.float(SPORADIC_RATE.min, SPORADIC_RATE.max));
  w.traffic.sporadic = (svc: AppService) => {
    if (!rng.chance(rates.get(svc.name) ?? 0)) return undefined;
    return rng.pick(SPORADIC[svc.language]);
  };
}

// ---- single restarts ---------------------------------------------------------------------------

function singleRestart(sim: Sim, d: DeploymentModel, rng: Prng): void {
  sim.atAbs(someTime(sim, rng), () => {
    const pods = d.livePods().filter((p) => p.serving);
    if (!pods.length) return;
    const p = rng.pick(pods);
    const c = p.app;
    // The process exits; the kubelet restarts a container's first exit at once (no back-off yet).
    sim.loseUnexported(p, sim.now);
    sim.cluster.terminate(p, c, 'Error', rng.pick([1, 2, 143]), sim.now, 'running');
    const ref = sim.podRef(p, c.spec.name);
    sim.after(rng.int(300, 1200), () => {
      if (p.deleted) return;
      for (const [reason, message] of [
        ['Pulled', `Container image "${c.spec.image}" already present on machine`],
        ['Created', `Created container: ${c.spec.name}`],
        ['Started', `Started container ${c.spec.name}`],
      ] as const)
        sim.event({ object: ref, reason, message, type: 'Normal', component: 'kubelet', host: p.node });
    });
    sim.after(rng.int(6000, 15_000), () => {
      if (!p.deleted && c.state.kind === 'running') sim.cluster.setReady(p, c, true, sim.now);
    });
  });
}

// ---- routine rollouts --------------------------------------------------------------------------

/** x.y.z → x.y.(z+1); anything else gets a build suffix. */
function nextPatch(tag: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(tag);
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : `${tag}-1`;
}

function routineRollout(sim: Sim, d: DeploymentModel, rng: Prng): void {
  sim.atAbs(someTime(sim, rng, 0.2, 0.7), () => {
    const main = d.current.template.containers[0];
    if (!main) return;
    const tag = nextPatch(main.image.slice(main.image.lastIndexOf(':') + 1));
    const template = (t: PodTemplate): PodTemplate => ({
      ...t,
      containers: t.containers.map((c, i) =>
        i === 0 ? { ...c, image: c.image.replace(/:[^:/]+$/, `:${tag}`) } : c,
      ),
    });
    let missed = false;
    sim.rollout(d, {
      template,
      changeCause: `deploy ${d.name} ${tag} (pipeline #${rng.int(4000, 9000)})`,
      launch: (p) => {
        // Slow to become ready (JIT, caches), so the first probe after start finds it not listening yet.
        sim.startPod(p, { pull: true, readyAfterMs: rng.int(14_000, 24_000) });
        if (!missed) {
          missed = true;
          probeMissWhileStarting(sim, p, rng);
        }
      },
    });
  });
}

/** One failed readiness probe a few seconds after the container starts, before it is ready. */
function probeMissWhileStarting(sim: Sim, p: PodModel, rng: Prng): void {
  const path = p.app.spec.readinessPath;
  if (!path) return;
  let polls = 0;
  const poll = () => {
    if (p.deleted || polls++ > 60) return;
    if (p.app.state.kind !== 'running') {
      sim.after(SEC, poll);
      return;
    }
    sim.after(rng.int(3000, 9000), () => {
      if (p.deleted || p.app.ready) return;
      const url = `http://${p.ip}:${p.app.spec.port}${path}`;
      sim.event({
        object: sim.podRef(p, p.app.spec.name),
        reason: 'Unhealthy',
        message: rng.chance(0.5)
          ? `Readiness probe failed: Get "${url}": dial tcp ${p.ip}:${p.app.spec.port}: connect: connection refused`
          : 'Readiness probe failed: HTTP probe failed with statuscode: 503',
        type: 'Warning',
        component: 'kubelet',
        host: p.node,
      });
    });
  };
  sim.after(SEC, poll);
}

// ---- HPA rescales --------------------------------------------------------------------------------

function hpaRescales(sim: Sim, d: DeploymentModel, rng: Prng): void {
  const base = d.replicas;
  const hpa = sim.cluster.addHpa({ target: d, min: base, max: base + 4 });
  const rescale = (to: number, reason: string) => {
    sim.event({
      object: {
        kind: 'HorizontalPodAutoscaler',
        name: hpa.name,
        namespace: hpa.namespace,
        uid: hpa.uid,
        apiVersion: 'autoscaling/v2',
        resourceVersion: String(sim.cluster.nextRv()),
      },
      reason: 'SuccessfulRescale',
      message: `New size: ${to}; reason: ${reason}`,
      type: 'Normal',
      component: 'horizontal-pod-autoscaler',
    });
    hpa.current = to;
    hpa.desired = to;
    sim.scaleDeployment(d, to);
  };
  const up = someTime(sim, rng, 0.15, 0.55);
  const to = base + rng.int(1, 2);
  sim.atAbs(up, () => rescale(to, 'cpu resource utilization (percentage of request) above target'));
  // Scale-down waits out the 5-minute stabilisation window after load drops.
  const down = up + rng.int(7, 12) * MIN;
  if (down < sim.end - MIN) sim.atAbs(down, () => rescale(base, 'All metrics below target'));
}

// ---- stray log lines ---------------------------------------------------------------------------

const STRAY_ERRORS = [
  'failed to refresh feature flags from http://flagd.platform.svc:8013: context deadline exceeded; keeping cached values',
  'metrics push to statsd failed: dial udp 172.20.0.10:8125: connect: connection refused (non-fatal)',
  'request aborted by client before the response was written (context canceled)',
  'cache warm-up skipped 3 entries: value larger than 1 MiB',
  'failed to close idle upstream connection: use of closed network connection',
];

/** Lines without a severity (stdout through a bridge with no level) that look alarming and are not. */
const ALARMING_BUT_FINE: Record<Language, string[]> = {
  java: [
    'WARNING: An illegal reflective access operation has occurred',
    'OTEL_EXPORTER_OTLP_TIMEOUT is not set, using the default 10000 ms',
    'HikariPool-1 - Exception during pool initialization skipped: pool already started',
  ],
  go: [
    'errors=0 panics_recovered=0 fatal=0 in the last 60s',
    'GOMEMLIMIT not set, using the cgroup memory limit',
  ],
  nodejs: [
    '(node:1) [DEP0005] DeprecationWarning: Buffer() is deprecated due to security and usability issues.',
    'NODE_EXTRA_CA_CERTS is not set, using the bundled root certificates',
  ],
  python: [
    'Exception ignored in: <function _after_fork at 0x7f3a1c2e8d30> (harmless at worker start)',
    'SENTRY_DSN is not set; error reporting disabled',
  ],
};

function strayLogLines(w: World, rng: Prng, scale: number): void {
  const sim = w.sim;
  for (const svc of w.traffic.services().sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const d = w.deployments[svc.name];
    if (!d) continue;
    const errors = rng.count(0.25 * scale);
    const plain = rng.count(0.5 * scale);
    for (let i = 0; i < errors + plain; i++) {
      const at = someTime(sim, rng, 0.05, 0.95);
      const error = i < errors;
      const body = error ? rng.pick(STRAY_ERRORS) : rng.pick(ALARMING_BUT_FINE[svc.language]);
      sim.atAbs(at, () => {
        const pods = d.livePods().filter((p) => p.serving);
        if (!pods.length) return;
        const p = rng.pick(pods);
        const record: Record<string, unknown> = {
          timeUnixNano: nanos(at),
          observedTimeUnixNano: nanos(at),
          body: { stringValue: body },
          attributes: attrs({ 'code.function.name': error ? `${svc.name}.background` : undefined }),
        };
        if (error) {
          record.severityNumber = 17;
          record.severityText = 'ERROR';
        }
        sim.log(p, at, record);
      });
    }
  }
}

// ---- node events ---------------------------------------------------------------------------------

function nodeEvents(sim: Sim, exclude: ReadonlySet<string>, rng: Prng): void {
  const nodes = sim.cluster.nodes.filter((n) => !exclude.has(`/Node/${n.name}`));
  if (!nodes.length) return;
  // A kubelet restart (config change, node-agent upgrade): its start-up events, node stays Ready.
  const n = rng.pick(nodes);
  sim.atAbs(someTime(sim, rng, 0.1, 0.9), () => {
    const ref = sim.nodeRef(n);
    const kubelet = (reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal') =>
      sim.event({ object: ref, reason, message, type, component: 'kubelet', host: n.name });
    kubelet('Starting', 'Starting kubelet.');
    kubelet('InvalidDiskCapacity', 'invalid capacity 0 on image filesystem', 'Warning');
    kubelet('NodeHasSufficientMemory', `Node ${n.name} status is now: NodeHasSufficientMemory`);
    kubelet('NodeHasNoDiskPressure', `Node ${n.name} status is now: NodeHasNoDiskPressure`);
    kubelet('NodeHasSufficientPID', `Node ${n.name} status is now: NodeHasSufficientPID`);
    kubelet('NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
  });
  // kube-controller-manager changed leader: the node controller registers every node again.
  if (rng.chance(0.5)) {
    const at = someTime(sim, rng, 0.1, 0.9);
    sim.atAbs(at, () => {
      for (const node of nodes)
        sim.event({
          object: sim.nodeRef(node),
          reason: 'RegisteredNode',
          message: `Node ${node.name} event: Registered Node ${node.name} in Controller`,
          type: 'Normal',
          component: 'node-controller',
        });
    });
  }
}
