// Evidence that keeps what an SRE needs: every distinct message (the most specific quoted), one count
// per Kubernetes fact, the decisive container log line even without a severity, and honest times.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TriageChain } from '../../src/agents/chain.ts';
import { snapshotResolver } from '../../src/cli/snapshot-resolver.ts';
import { validateConfig } from '../../src/core/config.ts';
import { type K8sEvent, k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { ManualClock } from '../../src/stream/clock.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { goTimeMs } from '../../src/stream/normalise/events.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { assertValidReport } from '../agents/report-schema.ts';
import { appObjects, v1List } from '../enrich/cluster-fixture.ts';
import { gauge, logsRecord, metricsRecord, nanos, POD_ATTRS } from '../helpers/otlp.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { assertValidContext } from '../helpers/schema.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const POD = 'catalog-7d9f8c6b5-x2kqz';
const IMAGE = 'registry.example.com/shop/catalog:2.14.0';

const events = (evs: K8sEvent[]) => encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(evs));

function podEvent(
  reason: string,
  message: string,
  count: number,
  uid: string,
  atMs = T0,
  pod = POD,
): K8sEvent {
  return {
    namespace: 'shop',
    reason,
    message,
    type: 'Warning',
    object: { kind: 'Pod', name: pod, uid: `uid-${pod}`, fieldPath: 'spec.containers{app}' },
    uid,
    count,
    atMs,
  };
}

const PULL_DENIED = `Failed to pull image "${IMAGE}": rpc error: code = Unknown desc = failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`;

function rules(doc: IncidentContextDoc) {
  const r = new TriageChain({ config: validateConfig({}).agents }).rules(doc);
  assertValidReport(r, doc);
  return r;
}

describe('evidence quality', () => {
  it('keeps the three Failed messages of an image pull, the most specific first and quoted', () => {
    const t = testPipeline();
    t.feed(
      'otlp_logs',
      events([
        podEvent('Failed', 'Error: ImagePullBackOff', 7, 'ev-backoff-failed'),
        podEvent('Failed', 'Error: ErrImagePull', 3, 'ev-errimagepull'),
        podEvent('Failed', PULL_DENIED, 3, 'ev-pull'),
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    const failed = doc.evidence.filter((e) => e.key.endsWith('|Failed'));
    assert.equal(failed.length, 1, 'one item for the Failed events of the pod');
    const item = failed[0]!;
    assert.equal(item.messages?.length, 3, 'every distinct message kept');
    assert.equal(item.messages?.[0], PULL_DENIED, 'the most specific first');
    assert.match(item.summary, /pull access denied, repository does not exist/);
    assert.deepEqual(item.messages?.slice(1).sort(), ['Error: ErrImagePull', 'Error: ImagePullBackOff']);
    // 3 pull attempts, reported by "Failed to pull image" and "Error: ErrImagePull" (3 each), with
    // "Error: ImagePullBackOff" (7) the waits between the same attempts: one pull-failure count.
    assert.equal(item.count, 3);
    assert.equal(rules(doc).hypotheses[0]?.cause, 'image_pull');
  });

  it('counts ErrImagePull and ImagePullBackOff status samples of the same pull failures once', () => {
    const t = testPipeline();
    const res = POD_ATTRS('shop', 'catalog', POD);
    const status = (reason: string, atMs: number) =>
      metricsRecord([
        {
          attrs: res,
          metrics: [gauge('k8s.container.status.reason', 1, atMs, { 'k8s.container.status.reason': reason })],
        },
      ]);
    t.feed('otlp_metrics', status('ErrImagePull', T0), T0);
    t.feed('otlp_metrics', status('ImagePullBackOff', T0 + 20_000), T0 + 20_000);
    t.feed('otlp_metrics', status('ErrImagePull', T0 + 40_000), T0 + 40_000);
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    const pulls = doc.evidence.filter((e) => e.kind === 'restart');
    assert.equal(pulls.length, 1, pulls.map((e) => e.key).join(', '));
    assert.equal(pulls[0]!.count, 1);
  });

  it('merges the container state a BackOff Event reports into its item, not a second restart item', () => {
    const t = testPipeline();
    t.feed(
      'otlp_logs',
      events([
        podEvent('BackOff', `Back-off restarting failed container app in pod ${POD}_shop`, 5, 'ev-bo'),
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    assert.equal(doc.evidence.length, 1, doc.evidence.map((e) => e.key).join(', '));
    assert.equal(doc.evidence[0]!.count, 5);
    assert.deepEqual(doc.evidence[0]!.refs.containers, ['app']);
    assert.equal(rules(doc).hypotheses[0]?.cause, 'crash_loop');
  });

  it("starts the window at the Event's own first occurrence (k8s.event.start_time)", () => {
    const t = testPipeline();
    const first = T0 - 12 * 60_000;
    t.feed(
      'otlp_logs',
      events([
        {
          ...podEvent('FailedScheduling', '0/3 nodes are available: 3 Insufficient cpu.', 40, 'ev-sched'),
          object: { kind: 'Pod', name: POD, uid: 'uid-pod' },
          firstAtMs: first,
        },
      ]),
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    assert.equal(doc.window.start, new Date(first).toISOString());
    assert.equal(doc.evidence[0]!.at, new Date(first).toISOString());
    assert.equal(doc.window.end, new Date(T0).toISOString());
  });

  it('reads Go time strings of k8s.event.start_time, and an unreadable one as unknown (0)', () => {
    assert.equal(goTimeMs('2026-11-28 09:48:00 +0000 UTC'), Date.UTC(2026, 10, 28, 9, 48));
    assert.equal(goTimeMs('2026-11-28 10:48:00.5 +0100 CET'), Date.UTC(2026, 10, 28, 9, 48, 0, 500));
    assert.equal(goTimeMs('2026-11-28 09:48:00 +0000 UTC m=+12.5'), Date.UTC(2026, 10, 28, 9, 48));
    assert.equal(goTimeMs('2026-11-28T09:48:00Z'), Date.UTC(2026, 10, 28, 9, 48));
    assert.equal(goTimeMs(''), 0);
    assert.equal(goTimeMs('yesterday'), 0);
  });
});

describe('config_error from a container log line without severity', () => {
  function crashWithLine(body: string) {
    const t = testPipeline();
    const pod = 'api-7d9f8c6b5-x2kqz';
    // Container stdout through filelog: no severity number or text, only the line.
    t.feed(
      'otlp_logs',
      logsRecord([
        {
          attrs: POD_ATTRS('shop', 'api', pod),
          records: [{ timeUnixNano: nanos(T0), body: { stringValue: body } }],
        },
      ]),
      T0,
    );
    t.feed(
      'otlp_logs',
      events([
        podEvent(
          'BackOff',
          `Back-off restarting failed container app in pod ${pod}_shop`,
          3,
          'ev-1',
          T0 + 40_000,
          pod,
        ),
      ]),
      T0 + 40_000,
    );
    t.pipeline.flushAll();
    const [doc] = t.latest();
    assert.ok(doc);
    return doc;
  }

  it('makes config_error the top cause and quotes the line', () => {
    const doc = crashWithLine('Environment variable DEPLOY_ENV is undefined');
    const log = doc.evidence.find((e) => e.kind === 'log');
    assert.ok(log, 'the line is evidence');
    assert.equal(log.refs.logClass, 'config_error');
    assert.equal(log.context, undefined, 'it explains the crash: evidence, not context');
    const r = rules(doc);
    assert.equal(r.hypotheses[0]?.cause, 'config_error');
    assert.match(r.hypotheses[0]!.explanation, /DEPLOY_ENV is undefined/);
  });

  for (const line of [
    'Error: required setting DATABASE_URL is not set',
    'exec: "/app/serve": executable file not found in $PATH',
    'FATAL: missing required configuration key "payments.endpoint"',
  ])
    it(`reads config_error from "${line.slice(0, 50)}"`, () => {
      assert.equal(rules(crashWithLine(line)).hypotheses[0]?.cause, 'config_error');
    });

  it('an ordinary stdout line is not evidence, and the crash stays a crash loop', () => {
    const doc = crashWithLine('listening on :8080');
    assert.equal(doc.evidence.filter((e) => e.kind === 'log').length, 0);
    assert.equal(rules(doc).hypotheses[0]?.cause, 'crash_loop');
  });
});

describe('unknown times', () => {
  it('a ReplicaSet without creationTimestamp is a rollout at an unknown time, never 1970', () => {
    const objects = appObjects({ name: 'api', images: ['reg/api:1.0', 'reg/api:1.1'], replicas: 1 });
    for (const o of objects) {
      const md = o.metadata as Record<string, unknown>;
      if (o.kind === 'ReplicaSet') delete md.creationTimestamp;
    }
    const pod = objects.find((o) => o.kind === 'Pod')!.metadata as { name: string };
    const clock = new ManualClock(T0);
    const docs: IncidentContextDoc[] = [];
    const pipeline = new Pipeline({
      config: validateConfig({}),
      clock,
      resolver: snapshotResolver(v1List(objects)),
      sink: (d) => {
        assertValidContext(d);
        docs.push(d);
      },
    });
    pipeline.ingest(
      'otlp_logs',
      events([
        podEvent(
          'BackOff',
          `Back-off restarting failed container app in pod ${pod.name}_shop`,
          3,
          'e',
          T0,
          pod.name,
        ),
      ]),
      T0,
    );
    pipeline.flushAll();
    const doc = docs.at(-1);
    assert.ok(doc);
    assert.ok(doc.rollouts.length > 0, 'the revisions are in the timeline');
    for (const r of doc.rollouts) assert.equal(r.at, null, `${r.replicaSet}: ${r.at}`);
    assert.ok(!JSON.stringify(doc).includes('1970-'), 'no epoch anywhere');
    const report = rules(doc);
    assert.ok(
      !report.hypotheses.some((h) => h.cause === 'bad_rollout'),
      'no timing verdict on an unknown time',
    );
    assert.ok(!JSON.stringify(report).includes('1970-'));
  });
});
