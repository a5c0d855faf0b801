// Wire compatibility with a REAL OpenTelemetry Collector (core v0.165.0 / contrib v0.165.1, built from
// the Go module proxy by scripts/otelcol/build.sh): OTLP over HTTP and gRPC into the Collector, its
// Kafka exporter (otlp_proto, reference config shape, per-signal topics) into a real broker,
// kubetriage's StreamService out. The contexts must equal those from replaying the same OTLP requests
// directly (capture file → replay()); test/e2e/compare.ts says what "equal" leaves out and why.
//
// Covered: default batching; partition_logs_by_resource_attributes; partition_traces_by_id; each
// producer.compression codec (checked in the record-batch headers on the wire); and that
// config/otel-collector.yaml validates with the real binary.
//
// Never skipped for a missing binary: without a Collector (no `go` and nothing built) this file FAILS
// with the reason (`npm test` builds it first: scripts/prepare-test-parts.sh). There is no opt-out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { DEFAULT_ANOMALIES } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { newRegistry } from '../../src/core/metrics.ts';
import { otlpType } from '../../src/sim/otlp-proto.ts';
import { type CapturedRecord, formatCaptureLine } from '../../src/stream/capture.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { replay } from '../../src/stream/replay.ts';
import { StreamService } from '../../src/stream/service.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';
import { type Collector, collectorAvailable, collectorBinary, startCollector } from '../harness/otelcol.ts';
import {
  brokers,
  type ConsumedRecord,
  consumeUntil,
  serviceConfig,
  type TestTopics,
  testTopics,
  waitFor,
} from '../helpers/kafka.ts';
import { referenceConfigWithoutK8sEvents, testCollectorConfig } from './collector-config.ts';
import { comparable } from './compare.ts';
import { buildPhases, type OtlpRequest } from './dataset.ts';
import { type Codec, readBatchHeaders } from './kafka-wire.ts';
import { type OtlpSignal, sendOtlp } from './otlp-send.ts';

const PARTITIONS = 3;

// Never skips: without a Collector this file fails with the reason and the build command.
const collector = collectorAvailable();
if (!collector.ok)
  throw new Error(
    `no OpenTelemetry Collector, so these tests cannot run (they never skip): ${collector.why}; build it with \`bash scripts/otelcol/build.sh\` or run the suite with \`npm test\``,
  );

// The span-derived latency / error-rate rules close their buckets on the processing clock (wall
// clock live, record time in replay), so they would differ between the two runs with or without a
// Collector in between: they are left out of BOTH runs. Every other default rule stays on.
const ANOMALIES = DEFAULT_ANOMALIES.filter(
  (r) => r.name === 'restarts-rising' || r.name === 'replicas-unavailable',
);

const TOPIC_KIND: Record<OtlpSignal, keyof Pick<TestTopics, 'logs' | 'metrics' | 'traces'>> = {
  logs: 'logs',
  metrics: 'metrics',
  traces: 'traces',
};

const SENT_METRIC: Record<OtlpSignal, string> = {
  logs: 'otelcol_exporter_sent_log_records',
  metrics: 'otelcol_exporter_sent_metric_points',
  traces: 'otelcol_exporter_sent_spans',
};

const ACCEPTED_METRIC: Record<OtlpSignal, string> = {
  logs: 'otelcol_receiver_accepted_log_records',
  metrics: 'otelcol_receiver_accepted_metric_points',
  traces: 'otelcol_receiver_accepted_spans',
};

type Decoded = {
  resourceLogs?: { resource?: { attributes?: unknown[] }; scopeLogs: { logRecords: unknown[] }[] }[];
  resourceMetrics?: { scopeMetrics: { metrics: Record<string, { dataPoints?: unknown[] }>[] }[] }[];
  resourceSpans?: { scopeSpans: { spans: { traceId: Uint8Array }[] }[] }[];
};

function decode(signal: OtlpSignal, value: Buffer): Decoded {
  const type = otlpType(
    signal === 'logs'
      ? 'ExportLogsServiceRequest'
      : signal === 'metrics'
        ? 'ExportMetricsServiceRequest'
        : 'ExportTraceServiceRequest',
  );
  return type.toObject(type.decode(value), { defaults: false }) as Decoded;
}

function itemsIn(signal: OtlpSignal, d: Decoded): number {
  let n = 0;
  if (signal === 'logs')
    for (const rl of d.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  if (signal === 'metrics')
    for (const rm of d.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? [])
          for (const v of Object.values(m))
            if (v && typeof v === 'object' && 'dataPoints' in v) n += v.dataPoints?.length ?? 0;
  if (signal === 'traces')
    for (const rs of d.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

interface Wire {
  topics: TestTopics;
  requests: OtlpRequest[];
  /** Every record the Collector wrote, per signal. */
  records: Record<OtlpSignal, ConsumedRecord[]>;
  /** Compression codecs seen in the record-batch headers, per signal. */
  codecs: Record<OtlpSignal, Set<Codec>>;
}

interface Case {
  /** Merged into exporters.kafka of the reference config. */
  exporter?: Record<string, unknown>;
  checkWire: (w: Wire) => void;
}

const collectors: Collector[] = [];
const services: StreamService[] = [];
let binary = '';

describe('a real OpenTelemetry Collector in front of kubetriage', () => {
  before(() => {
    // Builds on first use (minutes on a cold Go cache); afterwards a stamp check.
    binary = collectorBinary();
  });
  after(async () => {
    for (const s of services) await s.stop().catch(() => {});
    // Cases that passed have stopped theirs (temp dir removed); a failed case's Collector log stays.
    for (const c of collectors) await c.stop({ keep: true }).catch(() => {});
  });

  it('accepts config/otel-collector.yaml (`otelcol validate`, k8s_events swapped out)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubetriage-otelcol-validate-'));
    try {
      const file = join(dir, 'reference.yaml');
      writeFileSync(file, stringify(referenceConfigWithoutK8sEvents()));
      const ok = spawnSync(binary, ['validate', `--config=file:${file}`], { encoding: 'utf8' });
      assert.equal(ok.status, 0, `otelcol validate failed:\n${ok.stdout}${ok.stderr}`);
      // The validator really checks the exporter's settings: a bad value is refused.
      const badFile = join(dir, 'bad.yaml');
      const bad = referenceConfigWithoutK8sEvents();
      (bad.exporters as Record<string, Record<string, Record<string, unknown>>>).kafka!
        .producer!.compression = 'brotli';
      writeFileSync(badFile, stringify(bad));
      const refused = spawnSync(binary, ['validate', `--config=file:${badFile}`], { encoding: 'utf8' });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /compression should be one of/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('default batching: whole batches as single nil-key records, contexts equal to replay', (t) =>
    e2e(t, {
      checkWire: (w) => {
        for (const signal of ['logs', 'metrics', 'traces'] as const) {
          for (const r of w.records[signal]) assert.equal(r.key, null, `${signal}: nil key by default`);
          assert.deepEqual([...w.codecs[signal]], ['none']);
        }
        // Batching merges requests: never more records than requests (the batch processor may merge
        // several into one; it never splits below send_batch_max_size).
        for (const signal of ['logs', 'metrics', 'traces'] as const) {
          const requests = w.requests.filter((r) => r.signal === signal).length;
          assert.ok(
            w.records[signal].length <= requests,
            `${signal}: ${w.records[signal].length} records for ${requests} requests`,
          );
        }
        // And one record can hold many resources (a k8s_events-style batch: one ResourceLogs per event).
        const maxResources = Math.max(
          ...w.records.logs.map((r) => decode('logs', r.value!).resourceLogs?.length ?? 0),
        );
        assert.ok(maxResources >= 5, `largest logs record has ${maxResources} ResourceLogs`);
      },
    }));

  it('partition_logs_by_resource_attributes: one record per ResourceLogs keyed by a 16-byte hash', (t) =>
    e2e(t, {
      exporter: { partition_logs_by_resource_attributes: true },
      checkWire: (w) => {
        const keyOf = new Map<string, string>();
        const resourceOf = new Map<string, string>();
        for (const r of w.records.logs) {
          assert.ok(r.key, 'logs record has a key');
          assert.equal(r.key.length, 16, `16 raw bytes, got ${r.key.length}`);
          const d = decode('logs', r.value!);
          assert.equal(d.resourceLogs?.length, 1, 'exactly one ResourceLogs per record');
          const res = JSON.stringify(d.resourceLogs[0]?.resource?.attributes ?? []);
          const key = r.key.toString('hex');
          // Same resource attributes ⇔ same key.
          assert.equal(keyOf.get(res) ?? key, key, `resource ${res} always gets the same key`);
          assert.equal(resourceOf.get(key) ?? res, res, `key ${key} belongs to one resource`);
          keyOf.set(res, key);
          resourceOf.set(key, res);
        }
        assert.ok(keyOf.size >= 8, `${keyOf.size} distinct resources`);
        for (const r of [...w.records.metrics, ...w.records.traces]) assert.equal(r.key, null);
      },
    }));

  it('partition_traces_by_id: records keyed by the hex trace id, one trace per record', (t) =>
    e2e(t, {
      exporter: { partition_traces_by_id: true },
      checkWire: (w) => {
        const sentTraces = new Set(w.requests.flatMap((r) => r.traceIds));
        const keys = new Set<string>();
        for (const r of w.records.traces) {
          assert.ok(r.key, 'traces record has a key');
          const key = r.key.toString('latin1');
          assert.match(key, /^[0-9a-f]{32}$/, 'key = 32 lowercase hex chars (ASCII)');
          const d = decode('traces', r.value!);
          // One (resource, scope, trace) per record: a trace crossing services becomes several
          // records with the same key (batchpersignal.SplitTraces splits per ResourceSpans/ScopeSpans).
          assert.equal(d.resourceSpans?.length, 1);
          for (const rs of d.resourceSpans ?? [])
            for (const ss of rs.scopeSpans)
              for (const s of ss.spans) assert.equal(Buffer.from(s.traceId).toString('hex'), key);
          keys.add(key);
        }
        assert.deepEqual([...keys].sort(), [...sentTraces].sort());
        assert.ok(w.records.traces.length > sentTraces.size, 'multi-service traces span several records');
        for (const r of [...w.records.logs, ...w.records.metrics]) assert.equal(r.key, null);
      },
    }));

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`producer.compression: ${codec} record batches, contexts equal to replay`, (t) =>
      e2e(t, {
        exporter: { producer: { compression: codec } },
        checkWire: (w) => {
          for (const signal of ['logs', 'metrics', 'traces'] as const)
            assert.deepEqual([...w.codecs[signal]], [codec], `${signal} batches on the wire`);
        },
      }));
  }
});

async function e2e(t: TestContext, c: Case): Promise<void> {
  const started = Date.now();
  const topics = await testTopics(PARTITIONS);
  const col = await startCollector({
    binary,
    configYaml: testCollectorConfig({ brokers: brokers(), topics, exporter: c.exporter }),
  });
  collectors.push(col);
  const config = serviceConfig(topics, {
    grouping: { groupWait: '500ms', groupInterval: '500ms' },
    anomalies: ANOMALIES,
  });
  const live: IncidentContextDoc[] = [];
  const service = new StreamService({
    config,
    log: createLogger('silent'),
    registry: newRegistry(),
    resolver: new NamePatternResolver(),
    onContext: (d) => live.push(d),
  });
  services.push(service);
  await service.start();

  // Data in the past (like any telemetry arriving a little late), on whole seconds.
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000;
  const phases = buildPhases(t0);
  const captured: CapturedRecord[] = [];
  const sent: Record<OtlpSignal, number> = { logs: 0, metrics: 0, traces: 0 };
  const requests: OtlpRequest[] = [];
  for (const phase of phases) {
    const at = Date.now();
    // A phase's requests go in concurrently, over both transports.
    await Promise.all(phase.requests.map((r) => sendOtlp(r.transport, col, r.signal, r.body)));
    for (const r of phase.requests) {
      captured.push({
        topic: topics[TOPIC_KIND[r.signal]],
        partition: 0,
        offset: captured.length,
        timestamp: at,
        key: null,
        headers: {},
        value: r.body,
      });
      sent[r.signal] += r.items;
      requests.push(r);
    }
    // The Collector has written the phase to Kafka (acknowledged) …
    for (const signal of ['logs', 'metrics', 'traces'] as const)
      await waitFor(
        async () => (await col.metric(SENT_METRIC[signal], { exporter: 'kafka' })) >= sent[signal],
        20_000,
        `the Collector to export ${sent[signal]} ${signal} items (phase "${phase.name}"; log ${col.logFile})`,
      );
    // … and the service has consumed every record of it before the next phase goes out.
    for (const signal of ['logs', 'metrics', 'traces'] as const) {
      const topic = topics[TOPIC_KIND[signal]];
      const end = (await readBatchHeaders(brokers(), topic, PARTITIONS)).reduce(
        (a, p) => a + p.highWatermark,
        0,
      );
      await waitFor(
        () => service.pipeline.stats.records[signal] >= end,
        20_000,
        `kubetriage to consume ${end} ${signal} records (phase "${phase.name}")`,
      );
    }
  }

  // Both transports carried what was sent over them (the Collector's own receiver counters).
  for (const signal of ['logs', 'metrics', 'traces'] as const)
    for (const transport of ['http', 'grpc'] as const) {
      const want = requests
        .filter((r) => r.signal === signal && r.transport === transport)
        .reduce((a, r) => a + r.items, 0);
      assert.ok(want > 0, `the data set sends ${signal} over ${transport}`);
      assert.equal(await col.metric(ACCEPTED_METRIC[signal], { receiver: 'otlp', transport }), want);
    }

  // The same requests, replayed directly.
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-e2e-'));
  const file = join(dir, 'capture.ndjson');
  writeFileSync(file, `${captured.map(formatCaptureLine).join('\n')}\n`);
  const replayed: IncidentContextDoc[] = [];
  const res = await replay({
    input: file,
    config,
    resolver: new NamePatternResolver(),
    onContext: (d) => replayed.push(d),
  });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(res.deadLetters.length, 0);
  const expected = comparable(replayed);

  // The data set is not vacuous: three incidents, every evidence kind it is built to produce.
  const byName = new Map(replayed.map((d) => [d.scope.workload.name, d]));
  assert.deepEqual([...byName.keys()].sort(), ['cart', 'checkout', 'payments']);
  const kinds = new Set(expected.flatMap((d) => (d.evidence as { kind: string }[]).map((e) => e.kind)));
  assert.deepEqual([...kinds].sort(), [
    'k8s_event',
    'log',
    'metric_anomaly',
    'restart',
    'rollout',
    'span_errors',
  ]);

  // The live service's latest contexts converge on exactly that (timers flush the last changes).
  await waitFor(
    () => JSON.stringify(comparable(live)) === JSON.stringify(expected),
    20_000,
    'the live contexts to equal the replayed ones',
  ).catch(() => {});
  assert.deepEqual(comparable(live), expected);
  // What reached the contexts topic is what the service emitted.
  const out = await consumeUntil(topics.contexts, (r) => r.length >= live.length, 20_000);
  const fromTopic = out.map((r) => JSON.parse(r.value!.toString('utf8')) as IncidentContextDoc);
  assert.deepEqual(comparable(fromTopic), expected);

  // The wire: every record, its key and its batch's codec.
  const wire: Wire = {
    topics,
    requests,
    records: { logs: [], metrics: [], traces: [] },
    codecs: { logs: new Set(), metrics: new Set(), traces: new Set() },
  };
  for (const signal of ['logs', 'metrics', 'traces'] as const) {
    const topic = topics[TOPIC_KIND[signal]];
    const parts = await readBatchHeaders(brokers(), topic, PARTITIONS);
    const end = parts.reduce((a, p) => a + p.highWatermark, 0);
    for (const p of parts) for (const b of p.batches) wire.codecs[signal].add(b.codec);
    wire.records[signal] = await consumeUntil(topic, (r) => r.length >= end, 20_000);
    assert.equal(wire.records[signal].length, end);
    let items = 0;
    for (const r of wire.records[signal]) {
      assert.ok(r.value && r.value[0] === 0x0a, `${signal}: otlp_proto request bytes`);
      items += itemsIn(signal, decode(signal, r.value));
    }
    assert.equal(items, sent[signal], `${signal}: every item arrives exactly once`);
  }
  c.checkWire(wire);

  await service.stop();
  await col.stop();
  t.diagnostic(
    `records logs/metrics/traces: ${wire.records.logs.length}/${wire.records.metrics.length}/${wire.records.traces.length}; ` +
      `${expected.length} incidents; ${Date.now() - started} ms`,
  );
}
