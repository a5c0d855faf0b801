// The background layer (src/sim/scenarios/background.ts): what a healthy cluster sends, seeded,
// in the Collector's shapes, and never touching the workloads a scenario's truth is about.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otlpType } from '../../src/sim/otlp-proto.ts';
import { getScenario, type ScenarioRun } from '../../src/sim/scenarios/index.ts';
import { formatCaptureLine } from '../../src/stream/capture.ts';

type Obj = Record<string, unknown>;
const TYPES = {
  otlp_logs: 'ExportLogsServiceRequest',
  otlp_metrics: 'ExportMetricsServiceRequest',
  otlp_spans: 'ExportTraceServiceRequest',
} as const;
const EVENT_SCOPE = 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8seventsreceiver';

function decode(r: ScenarioRun): { topic: string; msg: Obj }[] {
  return r.records.map((rec) => {
    const type = otlpType(TYPES[rec.topic as keyof typeof TYPES]);
    return {
      topic: rec.topic,
      msg: type.toObject(type.decode(rec.value), { longs: String, bytes: String, defaults: true }) as Obj,
    };
  });
}

function attr(list: unknown, key: string): Obj | undefined {
  return (list as { key: string; value: Obj }[]).find((a) => a.key === key)?.value;
}

interface Ev {
  reason: string;
  type: string;
  kind: string;
  object: string;
  body: string;
  count: number;
}

function events(r: ScenarioRun): Ev[] {
  const out: Ev[] = [];
  for (const { topic, msg } of decode(r)) {
    if (topic !== 'otlp_logs') continue;
    for (const rl of msg.resourceLogs as Obj[]) {
      for (const sl of rl.scopeLogs as { scope: Obj; logRecords: Obj[] }[]) {
        if (sl.scope.name !== EVENT_SCOPE) continue;
        const res = (rl.resource as Obj).attributes;
        for (const lr of sl.logRecords)
          out.push({
            reason: String(attr(lr.attributes, 'k8s.event.reason')?.stringValue),
            type: String(lr.severityText),
            kind: String(attr(res, 'k8s.object.kind')?.stringValue),
            object: String(attr(res, 'k8s.object.name')?.stringValue),
            body: String((lr.body as Obj).stringValue),
            count: Number(attr(lr.attributes, 'k8s.event.count')?.intValue),
          });
      }
    }
  }
  return out;
}

function appLogs(r: ScenarioRun): Obj[] {
  const out: Obj[] = [];
  for (const { topic, msg } of decode(r)) {
    if (topic !== 'otlp_logs') continue;
    for (const rl of msg.resourceLogs as Obj[])
      for (const sl of rl.scopeLogs as { scope: Obj; logRecords: Obj[] }[])
        if (sl.scope.name !== EVENT_SCOPE) out.push(...sl.logRecords);
  }
  return out;
}

function serverSpans(r: ScenarioRun): { service: string; status: number }[] {
  const out: { service: string; status: number }[] = [];
  for (const { topic, msg } of decode(r)) {
    if (topic !== 'otlp_spans') continue;
    for (const rs of msg.resourceSpans as Obj[]) {
      const service = String(attr((rs.resource as Obj).attributes, 'service.name')?.stringValue);
      for (const ss of rs.scopeSpans as { spans: Obj[] }[])
        for (const s of ss.spans)
          if (s.kind === 2 || s.kind === 'SPAN_KIND_SERVER')
            out.push({ service, status: Number(attr(s.attributes, 'http.response.status_code')?.intValue) });
    }
  }
  return out;
}

function bytes(r: ScenarioRun): string {
  return r.records.map(formatCaptureLine).join('\n');
}

describe('background noise', () => {
  const quiet = getScenario('quiet-medium').generate({ seed: 1 });

  it('is deterministic by seed, differs across seeds, and is off with noise: false', () => {
    const s = getScenario('quiet-small');
    assert.equal(bytes(s.generate({ seed: 3 })), bytes(s.generate({ seed: 3 })));
    assert.notEqual(bytes(s.generate({ seed: 3 })), bytes(s.generate({ seed: 4 })));
    const off = events(s.generate({ seed: 3, noise: false }));
    for (const reason of ['SuccessfulRescale', 'Unhealthy', 'InvalidDiskCapacity', 'ScalingReplicaSet'])
      assert.ok(!off.some((e) => e.reason === reason), `no ${reason} without noise`);
    assert.equal(s.noise, true, 'on by default for the quiet family');
    assert.equal(getScenario('oom-rollout').noise, false, 'off by default for failure scenarios');
  });

  it('sends a routine rollout, an HPA rescale and node events, with one probe miss per rollout and no crash loop', () => {
    const ev = events(quiet);
    const reasons = new Set(ev.map((e) => e.reason));
    for (const r of [
      'ScalingReplicaSet',
      'SuccessfulCreate',
      'SuccessfulDelete',
      'Pulling',
      'Pulled',
      'Created',
      'Started',
      'Killing',
      'Unhealthy',
      'SuccessfulRescale',
      'Starting',
      'InvalidDiskCapacity',
      'NodeHasSufficientMemory',
      'NodeAllocatableEnforced',
    ])
      assert.ok(reasons.has(r), `event ${r}`);
    for (const r of ['BackOff', 'Failed', 'OOMKilling', 'Evicted', 'FailedScheduling'])
      assert.ok(!reasons.has(r), `no ${r} in a healthy cluster`);
    const unhealthy = ev.filter((e) => e.reason === 'Unhealthy');
    assert.ok(unhealthy.every((e) => e.count === 1 && /^Readiness probe failed/.test(e.body)));
    const rollouts = new Set(
      ev.filter((e) => e.reason === 'ScalingReplicaSet' && /Scaled down/.test(e.body)).map((e) => e.object),
    );
    assert.ok(rollouts.size >= 1);
    assert.ok(
      unhealthy.length <= rollouts.size,
      `${unhealthy.length} probe misses, ${rollouts.size} rollouts`,
    );
    const rescale = ev.filter((e) => e.reason === 'SuccessfulRescale');
    assert.ok(rescale.some((e) => /above target/.test(e.body)));
    assert.ok(
      ev
        .filter((e) => e.reason === 'InvalidDiskCapacity')
        .every((e) => e.type === 'Warning' && e.kind === 'Node'),
    );
  });

  it('restarts single containers once (restartCount 1, Error), never into CrashLoopBackOff', () => {
    const pods = (quiet.snapshot as { items: Obj[] }).items.filter((i) => i.kind === 'Pod');
    const statuses = pods.flatMap(
      (p) =>
        ((p.status as Obj).containerStatuses ?? []) as { restartCount: number; lastState: Obj; state: Obj }[],
    );
    const restarted = statuses.filter((c) => c.restartCount > 0);
    assert.ok(restarted.length >= 1, 'at least one restart');
    for (const c of restarted) {
      assert.equal(c.restartCount, 1);
      assert.equal((c.lastState.terminated as Obj).reason, 'Error');
      assert.ok(c.state.running, 'running again');
    }
  });

  it('fails 0.05–0.5 % of requests per workload, plus stray ERROR lines and alarming lines without severity', () => {
    const spans = serverSpans(quiet);
    const failed = spans.filter((s) => s.status >= 500);
    assert.ok(failed.length > 0, 'some sporadic 5xx');
    // A caller fails when its callee does, so the share at the edge is the sum along the call path.
    assert.ok(failed.length / spans.length < 0.01, `${failed.length} of ${spans.length} server spans failed`);
    const logs = appLogs(quiet);
    const strayErrors = logs.filter((l) => l.severityNumber === 17 && !String(l.traceId ?? ''));
    assert.ok(strayErrors.length > 0, 'stray ERROR lines outside any request');
    const plain = logs.filter((l) => !l.severityNumber || l.severityNumber === 'SEVERITY_NUMBER_UNSPECIFIED');
    assert.ok(plain.length > 0, 'lines without a severity');
  });

  it('leaves alone the workloads a failure scenario is about', () => {
    const s = getScenario('oom-rollout');
    const rs = (r: ScenarioRun, name: string) =>
      (r.snapshot as { items: Obj[] }).items.filter(
        (i) => i.kind === 'ReplicaSet' && (i.metadata as Obj).name?.toString().startsWith(`${name}-`),
      ).length;
    const on = s.generate({ seed: 1, noise: true });
    const off = s.generate({ seed: 1 });
    for (const name of ['checkout', 'frontend']) assert.equal(rs(on, name), rs(off, name), name);
    const ev = events(on);
    const touched = ev.filter(
      (e) => ['SuccessfulRescale', 'ScalingReplicaSet'].includes(e.reason) && e.object.startsWith('frontend'),
    );
    assert.deepEqual(touched, [], 'no rollout or rescale of frontend (tolerated)');
    assert.ok(
      ev.some((e) => e.reason === 'InvalidDiskCapacity'),
      'background present',
    );
  });
});
