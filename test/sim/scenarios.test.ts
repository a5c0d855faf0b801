// Every scenario's capture is valid OTLP in the Collector's shapes, its snapshot is a coherent
// v1/List, and its ground truth refers to things that exist.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otlpType } from '../../src/sim/otlp-proto.ts';
import { CAUSES, getScenario, listScenarios, type ScenarioRun } from '../../src/sim/scenarios/index.ts';
import { formatCaptureLine } from '../../src/stream/capture.ts';

type Obj = Record<string, unknown>;
type Item = { kind: string; metadata: Obj; spec: Obj; status: Obj };

const TYPES = {
  otlp_logs: 'ExportLogsServiceRequest',
  otlp_metrics: 'ExportMetricsServiceRequest',
  otlp_spans: 'ExportTraceServiceRequest',
} as const;

// FORMATS.md §3: the resource attributes k8seventsreceiver always sets, and its log-record attributes.
const EVENT_RESOURCE_KEYS = [
  'k8s.node.name',
  'k8s.object.kind',
  'k8s.object.name',
  'k8s.object.uid',
  'k8s.object.fieldpath',
  'k8s.object.api_version',
  'k8s.object.resource_version',
].sort();
const EVENT_REQUIRED = [
  'k8s.event.reason',
  'k8s.event.action',
  'k8s.event.start_time',
  'k8s.event.name',
  'k8s.event.uid',
  'k8s.namespace.name',
];
const EVENT_OPTIONAL = ['k8s.event.count', 'k8s.event.reporting_controller', 'k8s.event.reporting_instance'];
const EVENT_SCOPE = 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8seventsreceiver';

const runs = new Map<string, ScenarioRun>();
function run(name: string): ScenarioRun {
  let r = runs.get(name);
  if (!r) {
    r = getScenario(name).generate({ seed: 1 });
    runs.set(name, r);
  }
  return r;
}

function decoded(topic: string, value: Buffer): Obj {
  const type = otlpType(TYPES[topic as keyof typeof TYPES]);
  const msg = type.decode(value);
  assert.equal(type.verify(msg), null);
  return type.toObject(msg, { longs: String, bytes: String, defaults: true }) as Obj;
}

function attrMap(list: unknown): Map<string, Obj> {
  const m = new Map<string, Obj>();
  for (const kv of list as { key: string; value: Obj }[]) m.set(kv.key, kv.value);
  return m;
}

describe('scenario library', () => {
  it('lists the scenarios with one-line descriptions and unique names', () => {
    const all = listScenarios();
    assert.deepEqual(
      all.map((s) => s.name),
      [
        'oom-rollout',
        'bad-image',
        'missing-config',
        'probe-latency',
        'dependency-failure',
        'node-pressure',
        'unschedulable',
        'capacity',
        'noise-only',
        'canary',
        'saturation',
        'quiet-small',
        'quiet-medium',
        'quiet-large',
        'cascade',
        'cascade-rollout',
        'cascade-bad-caller',
        'oom-status-only',
      ],
    );
    for (const s of all) {
      assert.ok(
        s.description.length > 20 && s.description.length < 120 && !s.description.includes('\n'),
        s.name,
      );
    }
  });

  it('rejects an unknown name with the list of valid ones', () => {
    assert.throws(
      () => getScenario('nope'),
      /unknown scenario "nope"; valid scenarios: oom-rollout, bad-image/,
    );
  });
});

for (const scenario of listScenarios()) {
  describe(`scenario ${scenario.name}`, () => {
    it('decodes as OTLP requests with a reference protobuf decoder', () => {
      const r = run(scenario.name);
      const counts: Record<string, number> = {};
      for (const rec of r.records) {
        assert.ok(rec.topic in TYPES, rec.topic);
        assert.equal(rec.value[0], 0x0a, 'otlp_proto payloads start with field 1, wire type 2');
        assert.equal(rec.key, null, 'default exporter settings: nil key');
        const msg = decoded(rec.topic, rec.value);
        const list = (msg.resourceLogs ?? msg.resourceMetrics ?? msg.resourceSpans) as unknown[];
        assert.ok(list.length > 0);
        counts[rec.topic] = (counts[rec.topic] ?? 0) + 1;
      }
      for (const t of Object.keys(TYPES)) assert.ok((counts[t] ?? 0) > 0, `no records on ${t}`);
    });

    it('carries k8s events with exactly the attributes k8seventsreceiver writes', () => {
      const r = run(scenario.name);
      let events = 0;
      for (const rec of r.records) {
        if (rec.topic !== 'otlp_logs') continue;
        for (const rl of (decoded(rec.topic, rec.value).resourceLogs as Obj[]) ?? []) {
          const scopeLogs = rl.scopeLogs as { scope: Obj; logRecords: Obj[] }[];
          if (scopeLogs[0]?.scope.name !== EVENT_SCOPE) continue;
          events++;
          const resource = attrMap((rl.resource as Obj).attributes);
          assert.deepEqual([...resource.keys()].sort(), EVENT_RESOURCE_KEYS);
          for (const v of resource.values()) assert.equal(typeof v.stringValue, 'string');
          assert.equal(scopeLogs.length, 1);
          assert.equal(scopeLogs[0]?.logRecords.length, 1, 'one LogRecord per Event');
          const lr = scopeLogs[0]!.logRecords[0]!;
          const a = attrMap(lr.attributes);
          for (const k of EVENT_REQUIRED) assert.ok(a.has(k), `missing ${k}`);
          for (const k of a.keys())
            assert.ok(EVENT_REQUIRED.includes(k) || EVENT_OPTIONAL.includes(k), `unexpected ${k}`);
          const count = a.get('k8s.event.count');
          assert.ok(
            count && typeof count.intValue === 'string' && Number(count.intValue) > 0,
            'count is a non-zero int',
          );
          assert.match(
            String(a.get('k8s.event.start_time')?.stringValue),
            /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/,
          );
          assert.ok(['Normal', 'Warning'].includes(String(lr.severityText)));
          assert.equal(lr.severityNumber, lr.severityText === 'Warning' ? 13 : 9);
          assert.equal(typeof (lr.body as Obj).stringValue, 'string');
          assert.equal(lr.observedTimeUnixNano, '0', 'the receiver leaves observed time unset');
          if (resource.get('k8s.object.kind')?.stringValue === 'Node')
            assert.equal(a.get('k8s.namespace.name')?.stringValue, '', 'Node events carry no namespace');
        }
      }
      // Saturation is trouble the Kubernetes API never sees: no Event at all is right there.
      if (scenario.name !== 'saturation') assert.ok(events > 10, `only ${events} events`);
    });

    it('re-emits repeated Events on the same uid with a growing count', () => {
      const seen = new Map<string, number>();
      let repeats = 0;
      for (const rec of run(scenario.name).records) {
        if (rec.topic !== 'otlp_logs') continue;
        for (const rl of decoded(rec.topic, rec.value).resourceLogs as Obj[]) {
          const lr = (rl.scopeLogs as { logRecords: Obj[] }[])[0]?.logRecords[0];
          if (!lr) continue;
          const a = attrMap(lr.attributes);
          const uid = a.get('k8s.event.uid')?.stringValue;
          if (typeof uid !== 'string') continue;
          const count = Number(a.get('k8s.event.count')?.intValue);
          const prev = seen.get(uid);
          if (prev !== undefined) {
            assert.equal(count, prev + 1, `event ${uid} count ${prev} → ${count}`);
            repeats++;
          } else assert.equal(count, 1);
          seen.set(uid, count);
        }
      }
      // Scenarios whose trouble is not reported by the kubelet again and again have no repeats.
      if (scenario.family !== 'quiet' && !['capacity', 'canary', 'saturation'].includes(scenario.name))
        assert.ok(repeats > 0, 'no repeated events');
    });

    it('has ordered records, contiguous offsets per partition, and stays small', () => {
      const r = run(scenario.name);
      const next = new Map<string, number>();
      let last = 0;
      let bytes = 0;
      for (const rec of r.records) {
        assert.ok(rec.timestamp >= last, 'records in timestamp order');
        last = rec.timestamp;
        assert.ok(rec.timestamp >= r.start && rec.timestamp <= r.end + 60_000);
        const tp = `${rec.topic}/${rec.partition}`;
        assert.equal(rec.offset, next.get(tp) ?? 0);
        next.set(tp, rec.offset + 1);
        assert.ok(rec.value.length < 1_000_000, 'under the exporter’s max_message_bytes');
        bytes += formatCaptureLine(rec).length + 1;
      }
      assert.ok(r.records.length < 2000, `${r.records.length} records`);
      // Saturation needs real traffic (per-pod latency buckets); the quiet clusters are big and long.
      const maxBytes: Record<string, number> = {
        saturation: 4_500_000,
        'quiet-medium': 6_000_000,
        'quiet-large': 14_000_000,
      };
      assert.ok(bytes < (maxBytes[scenario.name] ?? 2_400_000), `${bytes} bytes of capture`);
    });

    it('has a snapshot that is a coherent v1/List', () => {
      const list = run(scenario.name).snapshot as { apiVersion: string; kind: string; items: Item[] };
      assert.equal(list.apiVersion, 'v1');
      assert.equal(list.kind, 'List');
      const byKind = (k: string) => list.items.filter((i) => i.kind === k);
      const find = (kind: string, ns: unknown, name: unknown) =>
        list.items.find((i) => i.kind === kind && i.metadata.namespace === ns && i.metadata.name === name);
      const order = ['Pod', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Service', 'Node'];
      const kinds = list.items.map((i) => order.indexOf(i.kind));
      assert.deepEqual(
        kinds,
        [...kinds].sort((a, b) => a - b),
        'grouped in kubectl’s resource order',
      );
      assert.ok(byKind('Node').length === (scenario.name === 'quiet-large' ? 6 : 3));
      for (const n of byKind('Node')) {
        const types = (n.status.conditions as Obj[]).map((c) => c.type);
        assert.deepEqual(types, ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
      }
      const uids = new Set<unknown>();
      for (const item of list.items) {
        assert.ok(!uids.has(item.metadata.uid), 'unique uids');
        uids.add(item.metadata.uid);
      }
      for (const pod of byKind('Pod')) {
        const owners = pod.metadata.ownerReferences as Obj[];
        assert.equal(owners.length, 1);
        const o = owners[0]!;
        const owner = find(String(o.kind), pod.metadata.namespace, o.name);
        assert.ok(owner, `owner of ${pod.metadata.name} in the list`);
        assert.equal(owner.metadata.uid, o.uid);
        if (o.kind === 'ReplicaSet') {
          const labels = pod.metadata.labels as Obj;
          const rsLabels = owner.metadata.labels as Obj;
          assert.equal(labels['pod-template-hash'], rsLabels['pod-template-hash']);
          assert.equal(
            `${owner.metadata.name}-${String(pod.metadata.name).split('-').pop()}`,
            pod.metadata.name,
          );
          const rsOwner = (owner.metadata.ownerReferences as Obj[])[0]!;
          assert.equal(rsOwner.kind, 'Deployment');
          const d = find('Deployment', pod.metadata.namespace, rsOwner.name);
          assert.ok(d, `Deployment of ${owner.metadata.name}`);
          assert.equal(d.metadata.uid, rsOwner.uid);
        } else {
          assert.ok(['StatefulSet', 'DaemonSet'].includes(String(o.kind)));
        }
        if (pod.spec.nodeName) assert.ok(find('Node', undefined, pod.spec.nodeName), 'pod on a listed node');
        const labels = pod.metadata.labels as Obj;
        assert.ok(typeof labels.team === 'string', `team label on ${pod.metadata.name}`);
      }
      for (const rs of byKind('ReplicaSet')) {
        const ann = rs.metadata.annotations as Obj;
        assert.match(String(ann['deployment.kubernetes.io/revision']), /^\d+$/);
        assert.equal(
          `${(rs.metadata.ownerReferences as Obj[])[0]?.name}-${(rs.metadata.labels as Obj)['pod-template-hash']}`,
          rs.metadata.name,
        );
      }
      for (const d of byKind('Deployment')) {
        const revs = byKind('ReplicaSet')
          .filter((rs) => (rs.metadata.ownerReferences as Obj[])[0]?.uid === d.metadata.uid)
          .map((rs) => Number((rs.metadata.annotations as Obj)['deployment.kubernetes.io/revision']));
        assert.ok(revs.length >= 1);
        assert.equal(
          String(Math.max(...revs)),
          (d.metadata.annotations as Obj)['deployment.kubernetes.io/revision'],
        );
        assert.ok(typeof (d.metadata.labels as Obj).team === 'string');
        // The shop's apps are part of the shop; the quiet-large cluster's others of their own system.
        const partOf = (d.metadata.labels as Obj)['app.kubernetes.io/part-of'];
        if (d.metadata.namespace === 'shop') assert.equal(partOf, 'shop');
        else assert.match(String(partOf), /^[a-z]+$/);
      }
      for (const s of byKind('Service')) {
        const sel = (s.spec.selector ?? {}) as Obj;
        const pods = byKind('Pod').filter(
          (p) =>
            p.metadata.namespace === s.metadata.namespace &&
            Object.entries(sel).every(([k, v]) => (p.metadata.labels as Obj)[k] === v),
        );
        assert.ok(pods.length > 0, `Service ${s.metadata.name} selects pods`);
      }
    });

    it('has ground truth that refers to objects in the snapshot', () => {
      const r = run(scenario.name);
      const items = (r.snapshot as { items: Item[] }).items;
      const t = r.truth;
      if (scenario.family === 'quiet') assert.equal(t.incidents.length, 0);
      else assert.ok(t.incidents.some((i) => i.role === 'primary'));
      for (const inc of [...t.incidents, ...t.tolerated]) {
        assert.equal(inc.cluster, 'default');
        const obj = items.find(
          (i) =>
            i.kind === inc.workload.kind &&
            i.metadata.name === inc.workload.name &&
            (i.kind === 'Node' ? inc.namespace === '' : i.metadata.namespace === inc.namespace),
        );
        assert.ok(obj, `${inc.workload.kind}/${inc.workload.name} in the snapshot`);
      }
      for (const inc of t.incidents) {
        assert.ok(CAUSES.includes(inc.cause));
        for (const c of inc.alsoAcceptable) assert.ok(CAUSES.includes(c));
        assert.ok(inc.severity.length > 0 && inc.severity.every((s) => /^SEV[1-4]$/.test(s)));
        if (inc.workload.kind === 'Deployment') {
          const d = items.find((i) => i.kind === 'Deployment' && i.metadata.name === inc.workload.name)!;
          assert.equal((d.metadata.labels as Obj).team, inc.team, 'team from the workload label');
        }
        const p = inc.proposal;
        if (!p) continue;
        const d = items.find((i) => i.kind === 'Deployment' && i.metadata.name === p.target.name);
        assert.ok(d, 'proposal target exists');
        assert.equal(d.spec.replicas, p.fromReplicas, 'fromReplicas is the replicas at the end');
        assert.ok(p.toReplicas.min <= p.toReplicas.max);
      }
    });
  });
}

describe('Kafka exporter options', () => {
  it('partition_*_by_resource_attributes: one resource per record with a stable 16-byte key', () => {
    const r = getScenario('bad-image').generate({
      seed: 1,
      collector: {
        partitionLogsByResource: true,
        partitionMetricsByResource: true,
        partitionTracesById: true,
      },
    });
    const keys = new Map<string, number>();
    for (const rec of r.records) {
      assert.ok(rec.key);
      const msg = decoded(rec.topic, rec.value);
      if (rec.topic === 'otlp_spans') {
        assert.match(rec.key.toString('ascii'), /^[0-9a-f]{32}$/);
        const ids = new Set<string>();
        for (const rs of msg.resourceSpans as Obj[])
          for (const ss of rs.scopeSpans as { spans: Obj[] }[])
            for (const s of ss.spans) ids.add(Buffer.from(String(s.traceId), 'base64').toString('hex'));
        assert.deepEqual([...ids], [rec.key.toString('ascii')], 'one trace per record');
        continue;
      }
      assert.equal(rec.key.length, 16);
      const list = (msg.resourceLogs ?? msg.resourceMetrics) as Obj[];
      assert.equal(list.length, 1, 'one resource per record');
      const attrs = JSON.stringify(
        ((list[0]!.resource as Obj).attributes as { key: string }[])
          .map((a) => a)
          .sort((a, b) => (a.key < b.key ? -1 : 1)),
      );
      const k = rec.key.toString('hex');
      keys.set(`${k}|${attrs}`, (keys.get(`${k}|${attrs}`) ?? 0) + 1);
    }
    // Same attributes → same key; different attributes → different keys.
    const byKey = new Map<string, Set<string>>();
    for (const kk of keys.keys()) {
      const [k, a] = kk.split('|', 2) as [string, string];
      byKey.set(k, (byKey.get(k) ?? new Set()).add(a));
    }
    for (const [k, set] of byKey) assert.equal(set.size, 1, `key ${k} used for one resource only`);
  });

  it('honours topic names and partition counts', () => {
    const r = getScenario('noise-only').generate({
      seed: 2,
      collector: {
        topics: { logs: 'otel-logs', metrics: 'otel-metrics', traces: 'otel-traces' },
        partitions: 1,
      },
    });
    assert.deepEqual(
      new Set(r.records.map((x) => x.topic)),
      new Set(['otel-logs', 'otel-metrics', 'otel-traces']),
    );
    assert.ok(r.records.every((x) => x.partition === 0));
  });

  it('shifts every timestamp with --start', () => {
    const a = getScenario('unschedulable').generate({ seed: 1 });
    const b = getScenario('unschedulable').generate({ seed: 1, start: '2027-01-02T03:04:05Z' });
    assert.equal(b.start, Date.parse('2027-01-02T03:04:05Z'));
    assert.equal(a.records.length, b.records.length);
    for (let i = 0; i < a.records.length; i++)
      assert.equal(b.records[i]!.timestamp - a.records[i]!.timestamp, b.start - a.start);
  });
});
