// Noise floors (src/stream/floors.ts) through the whole pipeline: a healthy cluster's ordinary background
// raises nothing; a real departure still does, with the background attached as context.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { WindowSum } from '../../src/stream/floors.ts';
import { poissonTail } from '../../src/stream/poisson.ts';
import { gauge, logsRecord, metricsRecord, nanos, POD_ATTRS, span, tracesRecord } from '../helpers/otlp.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const MIN = 60_000;
const SERVICES = [
  'frontend',
  'catalog',
  'search',
  'cart',
  'checkout',
  'payments',
  'recommendations',
  'shipping',
];
const podOf = (svc: string) => `${svc}-7d9f8c6b5-x2kqz`;

interface Rec {
  topic: string;
  value: Buffer;
  atMs: number;
}

const events = (evs: K8sEvent[]) => encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(evs));

function warning(pod: string, reason: string, message: string, atMs: number, count = 1): K8sEvent {
  return {
    namespace: 'shop',
    reason,
    message,
    type: 'Warning',
    object: { kind: 'Pod', name: pod, uid: `uid-${pod}`, fieldPath: 'spec.containers{app}' },
    uid: `${pod}-${reason}-${atMs}`,
    count,
    atMs,
  };
}

function normal(deployment: string, message: string, atMs: number, uid: string): K8sEvent {
  return {
    namespace: 'shop',
    reason: 'ScalingReplicaSet',
    message,
    type: 'Normal',
    object: { kind: 'Deployment', name: deployment, apiVersion: 'apps/v1' },
    uid,
    count: 1,
    atMs,
  };
}

/**
 * 30 minutes of an 8-service cluster at 1 request/s each: one failed request in 1,500, a routine rollout
 * of cart whose new pod misses one readiness probe while starting, one container restart (search), an
 * HPA scale-up of frontend (4 → 8, the new pods ready after 90 s), two stray ERROR lines (catalog).
 * `burst`: payments fails at `rate` between the given minutes.
 */
function quietCluster(opts: { burst?: { fromMin: number; toMin: number; rate: number } } = {}): Rec[] {
  const recs: Rec[] = [];
  let n = 0;
  for (let t = 0; t < 30 * MIN; t += 10_000) {
    for (const svc of SERVICES) {
      const spans = [];
      for (let i = 0; i < 10; i++) {
        n++;
        const startMs = T0 + t + i * 1000;
        const min = (t + i * 1000) / MIN;
        const b = opts.burst;
        const inBurst = b && svc === 'payments' && min >= b.fromMin && min < b.toMin;
        const failed = inBurst ? n % Math.round(1 / b.rate) === 0 : n % 1500 === 0;
        spans.push(
          span({ name: 'GET /', kind: 2, startMs, durationMs: 20 + (n % 7), httpStatus: failed ? 500 : 200 }),
        );
      }
      recs.push({
        topic: 'otlp_spans',
        value: tracesRecord([{ attrs: POD_ATTRS('shop', svc, podOf(svc)), spans }]),
        atMs: T0 + t + 9500,
      });
    }
    if (t % MIN === 0) {
      // One restart of search at minute 15 (exit code 1, restarted at once).
      const restarts = t >= 15 * MIN ? 1 : 0;
      const res = {
        ...POD_ATTRS('shop', 'search', podOf('search')),
        'k8s.container.status.last_terminated_reason': restarts ? 'Error' : undefined,
      };
      recs.push({
        topic: 'otlp_metrics',
        value: metricsRecord([{ attrs: res, metrics: [gauge('k8s.container.restarts', restarts, T0 + t)] }]),
        atMs: T0 + t + 100,
      });
    }
    if (t % 30_000 === 0) {
      // frontend: the HPA scales 4 → 8 at minute 20; the new pods are ready 90 s later.
      const scaled = t >= 20 * MIN;
      const available = scaled && t < 20 * MIN + 90_000 ? 4 : scaled ? 8 : 4;
      recs.push({
        topic: 'otlp_metrics',
        value: metricsRecord([
          {
            attrs: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'frontend' },
            metrics: [
              gauge('k8s.deployment.desired', scaled ? 8 : 4, T0 + t),
              gauge('k8s.deployment.available', available, T0 + t),
            ],
          },
          {
            attrs: { 'k8s.namespace.name': 'shop', 'k8s.hpa.name': 'frontend' },
            metrics: [
              gauge('k8s.hpa.max_replicas', 10, T0 + t),
              gauge('k8s.hpa.current_replicas', scaled ? 8 : 4, T0 + t),
            ],
          },
        ]),
        atMs: T0 + t + 200,
      });
    }
  }
  // The routine rollout of cart at minute 10: its new pod misses one readiness probe while starting.
  const rollout = 10 * MIN;
  recs.push({
    topic: 'otlp_logs',
    value: events([
      normal('cart', 'Scaled up replica set cart-6b7c8d9f4 to 1', T0 + rollout, 'su-cart'),
      warning(
        'cart-6b7c8d9f4-q2zzz',
        'Unhealthy',
        'Readiness probe failed: Get "http://10.1.2.3:8080/ready": connect: connection refused',
        T0 + rollout + 8000,
      ),
      normal('cart', 'Scaled down replica set cart-7d9f8c6b5 to 1', T0 + rollout + 30_000, 'sd-cart'),
    ]),
    atMs: T0 + rollout + 30_000,
  });
  // Two stray ERROR lines, 20 minutes apart.
  for (const m of [5, 25]) {
    recs.push({
      topic: 'otlp_logs',
      value: logsRecord([
        {
          attrs: POD_ATTRS('shop', 'catalog', podOf('catalog')),
          records: [
            {
              timeUnixNano: nanos(T0 + m * MIN),
              severityNumber: 17,
              severityText: 'ERROR',
              body: { stringValue: 'upstream connect error or disconnect/reset before headers' },
            },
          ],
        },
      ]),
      atMs: T0 + m * MIN,
    });
  }
  return recs.sort((a, b) => a.atMs - b.atMs);
}

/**
 * 10 minutes of frontend at 1 request/s; each request is one trace: a server span and a client span to
 * catalog. A failed request (the seconds in `failAt`) is recorded three times over in spans (server 500,
 * client 500, a retried client 500) and twice in ERROR lines of the same trace, as real callers do.
 */
function callerRequests(failAt: (sec: number) => boolean): Rec[] {
  const recs: Rec[] = [];
  const attrs = POD_ATTRS('shop', 'frontend', podOf('frontend'));
  for (let sec = 0; sec < 600; sec++) {
    const startMs = T0 + sec * 1000;
    const traceId = Buffer.from((0xabc000 + sec).toString(16).padStart(32, '0'), 'hex');
    const failed = failAt(sec);
    const status = failed ? 500 : 200;
    const spans = [
      span({ name: 'GET /', kind: 2, startMs, durationMs: 30, httpStatus: status }),
      span({ name: 'GET catalog', kind: 3, startMs: startMs + 1, durationMs: 10, httpStatus: status }),
      ...(failed
        ? [span({ name: 'GET catalog', kind: 3, startMs: startMs + 12, durationMs: 10, httpStatus: 503 })]
        : []),
    ].map((s) => ({ ...s, traceId }));
    recs.push({ topic: 'otlp_spans', value: tracesRecord([{ attrs, spans }]), atMs: startMs + 100 });
    if (failed)
      recs.push({
        topic: 'otlp_logs',
        value: logsRecord([
          {
            attrs,
            records: ['catalog call failed: 503', 'GET / failed: upstream 503'].map((body) => ({
              timeUnixNano: nanos(startMs + 40),
              severityNumber: 17,
              severityText: 'ERROR',
              traceId,
              body: { stringValue: body },
            })),
          },
        ]),
        atMs: startMs + 200,
      });
  }
  return recs;
}

function run(recs: Rec[], extra: Rec[] = []) {
  const t = testPipeline();
  for (const r of [...recs, ...extra].sort((a, b) => a.atMs - b.atMs)) t.feed(r.topic, r.value, r.atMs);
  t.clock.advance(T0 + 40 * MIN);
  t.pipeline.tick();
  t.pipeline.flushAll();
  return t;
}

describe('noise floors', () => {
  it('a healthy cluster with ordinary background raises no incident, and counts what it saw', () => {
    const t = run(quietCluster());
    assert.deepEqual(
      t.latest().map((d) => `${d.scope.workload.name}: ${d.evidence.map((e) => e.summary).join(' | ')}`),
      [],
    );
    const below = t.pipeline.floors.stats.below;
    assert.ok(below.spans >= 5, `failed spans counted below the floor: ${below.spans}`);
    assert.equal(below.restarts, 1, 'the one restart');
    assert.equal(below.probes, 1, 'the one readiness miss');
    assert.ok(below.persist >= 1, 'the HPA scale-up shortfall');
    assert.equal(below.logs, 2, 'the two stray ERROR lines');
    assert.equal(t.pipeline.floors.stats.above.spans, 0);
  });

  it('the same cluster with 5% of payments failing for 5 minutes raises exactly that incident', () => {
    const t = run(quietCluster({ burst: { fromMin: 20, toMin: 25, rate: 0.05 } }));
    const docs = t.latest();
    assert.deepEqual(
      docs.map((d) => d.scope.workload.name),
      ['payments'],
    );
    const [doc] = docs;
    const spans = doc!.evidence.find((e) => e.kind === 'span_errors');
    assert.ok(spans && !spans.context, 'the burst is evidence, not context');
    assert.ok(spans.count >= 10, `the burst's failures: ${spans.count}`);
    // It opened within the burst, once the failures departed from the baseline beyond chance.
    assert.ok(Date.parse(doc!.window.start) >= T0 + 20 * MIN, doc!.window.start);
    assert.ok(Date.parse(doc!.timings.firstContext) < T0 + 25 * MIN, doc!.timings.firstContext);
  });

  it('a failed request counts once however many spans and ERROR lines of its trace record it', () => {
    // Four failed requests in five minutes: 12 failed spans and 8 ERROR lines, but four failures.
    const quiet = run(callerRequests((sec) => [200, 260, 320, 380].includes(sec)));
    assert.deepEqual(
      quiet.latest().map((d) => d.scope.workload.name),
      [],
    );
    assert.equal(quiet.pipeline.floors.stats.above.spans, 0);
    assert.equal(quiet.pipeline.floors.stats.above.logs, 0);
    // Per request: the client span and its retry after the server span, and both ERROR lines.
    assert.deepEqual(quiet.pipeline.floors.stats.folded, { failedSpans: 8, errorLogs: 8 });
    // 5% of requests failing for five minutes, recorded the same way, still opens.
    const burst = run(callerRequests((sec) => sec >= 240 && sec < 540 && sec % 20 === 0));
    assert.deepEqual(
      burst.latest().map((d) => d.scope.workload.name),
      ['frontend'],
    );
  });

  it('a CrashLoopBackOff opens at once; the earlier sub-floor restart is attached as context', () => {
    const pod = podOf('search');
    const crash: Rec = {
      topic: 'otlp_logs',
      value: events([
        warning(
          pod,
          'BackOff',
          `Back-off restarting failed container app in pod ${pod}_shop`,
          T0 + 22 * MIN,
          2,
        ),
      ]),
      atMs: T0 + 22 * MIN,
    };
    const t = run(quietCluster(), [crash]);
    const docs = t.latest();
    assert.deepEqual(
      docs.map((d) => d.scope.workload.name),
      ['search'],
    );
    const doc = docs[0]!;
    const restart = doc.evidence.find((e) => e.kind === 'restart');
    assert.ok(restart, 'the sub-floor restart of minute 15 is attached');
    assert.equal(restart.context, true);
    // Background never moves the window: it starts at the BackOff, not at the earlier restart.
    assert.equal(doc.window.start, new Date(T0 + 22 * MIN).toISOString());
    const backoff = doc.evidence.find((e) => e.kind === 'k8s_event');
    assert.ok(backoff && backoff.context === undefined);
  });

  it('with floors off, the same background opens incidents (the floors are what keeps it quiet)', () => {
    const t = testPipeline({ floors: { enabled: false } });
    for (const r of quietCluster()) t.feed(r.topic, r.value, r.atMs);
    t.pipeline.flushAll();
    assert.ok(t.latest().length >= 3, `${t.latest().length} incidents without floors`);
  });

  it('restarts open beyond the configured count within the window (KubePodCrashLooping)', () => {
    const t = testPipeline();
    const res = {
      ...POD_ATTRS('shop', 'api', podOf('api')),
      'k8s.container.status.last_terminated_reason': 'Error',
    };
    for (let i = 0; i <= 3; i++)
      t.feed(
        'otlp_metrics',
        metricsRecord([{ attrs: res, metrics: [gauge('k8s.container.restarts', i, T0 + i * 2 * MIN)] }]),
        T0 + i * 2 * MIN,
      );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc, 'three restarts in six minutes open an incident');
    const restart = doc.evidence.find((e) => e.kind === 'restart');
    assert.equal(restart?.count, 3);
    assert.equal(restart?.context, undefined, 'the restarts that led up to it are evidence, not context');
  });

  it('one restart whose last termination was OOMKilled opens at once (a decisive fact)', () => {
    const t = testPipeline();
    const res = {
      ...POD_ATTRS('shop', 'api', podOf('api')),
      'k8s.container.status.last_terminated_reason': 'OOMKilled',
    };
    for (let i = 0; i <= 1; i++)
      t.feed(
        'otlp_metrics',
        metricsRecord([{ attrs: res, metrics: [gauge('k8s.container.restarts', i, T0 + i * MIN)] }]),
        T0 + i * MIN,
      );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc, 'an OOMKill is not background');
    assert.match(doc.evidence[0]!.summary, /OOMKilled/);
  });
});

describe('floors config', () => {
  it('names the bad key: a short window longer than the long one, a pattern that is no regular expression', () => {
    assert.throws(
      () => validateConfig({ floors: { shortWindow: '10m' } }),
      /floors\.shortWindow: must not exceed window/,
    );
    assert.throws(
      () => validateConfig({ floors: { logPatterns: [{ class: 'config_error', pattern: '(unclosed' }] } }),
      /floors\.logPatterns\.0\.pattern: invalid regular expression/,
    );
    assert.throws(() => validateConfig({ floors: { spans: { minRate: 2 } } }), /floors\.spans\.minRate/);
  });

  it('a configured log pattern replaces the defaults', () => {
    const t = testPipeline({
      floors: { logPatterns: [{ class: 'config_error', pattern: 'FEATURE_X unset' }] },
    });
    const line = (body: string, atMs: number) =>
      logsRecord([
        {
          attrs: POD_ATTRS('shop', 'api', podOf('api')),
          records: [{ timeUnixNano: nanos(atMs), body: { stringValue: body } }],
        },
      ]);
    t.feed('otlp_logs', line('FEATURE_X unset', T0), T0);
    t.feed('otlp_logs', line('Environment variable DEPLOY_ENV is undefined', T0 + 1000), T0 + 1000);
    assert.equal(t.pipeline.stats.signals.log, 1, 'only the configured pattern classifies');
  });
});

describe('poissonTail', () => {
  it('matches known Poisson tail probabilities', () => {
    // P(X ≥ 5 | λ = 1) = 1 − Σ_{k<5} e^{−1}/k! ≈ 0.00366
    assert.ok(Math.abs(poissonTail(5, 1) - 0.0036598468) < 1e-8);
    // P(X ≥ 30 | λ = 15) ≈ 0.000418450
    assert.ok(Math.abs(poissonTail(30, 15) - 0.00041844967) < 1e-9, String(poissonTail(30, 15)));
    assert.equal(poissonTail(3, 5), 1, 'never significant at or below the expectation');
    assert.ok(poissonTail(2000, 1000) < 1e-100, 'large counts stay finite and tiny');
  });
});

describe('WindowSum', () => {
  /** The plain scan WindowSum replaced: every point inside [from, to]. */
  function scan(points: [number, number][], from: number, to: number): number {
    let s = 0;
    for (const [t, a] of points) if (t >= from && t <= to) s += a;
    return s;
  }

  it('answers as a scan of its points, in order and out of order, with fractions, NaN and 256+ points', () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let fastAnswers = 0;
    for (let round = 0; round < 300; round++) {
      const sum = new WindowSum();
      const points: [number, number][] = [];
      let now = 1_000_000;
      const disorder = round % 3 === 0 ? 0.05 : 0;
      // Odd rounds: a window longer than 256 points span, so points leave by the bound, not by time.
      const window = round % 2 ? 10_000_000 : 1000 + Math.floor(rnd() * 60_000);
      for (let i = 0; i < 600; i++) {
        now += Math.floor(rnd() * 3000);
        let at = rnd() < disorder ? now - Math.floor(rnd() * 20_000) : now;
        if (round === 7 && i === 300) at = Number.NaN;
        const add = round === 11 && i === 100 ? 0.5 : rnd() < 0.1 ? 0 : 1 + Math.floor(rnd() * 20);
        if (add > 0) {
          sum.push(at, add);
          points.push([at, add]);
          if (points.length > 256) points.shift();
        }
        // Mostly the count's own question (window ending now), sometimes an earlier end or start.
        const to = rnd() < 0.1 ? at - Math.floor(rnd() * 5000) : at;
        const from = rnd() < 0.05 ? to - 2 * window : to - window;
        assert.equal(sum.sum(from, to), scan(points, from, to), `round ${round}, point ${i}`);
        if (disorder === 0 && round !== 7 && round !== 11) fastAnswers++;
      }
    }
    assert.ok(fastAnswers > 0);
  });
});
