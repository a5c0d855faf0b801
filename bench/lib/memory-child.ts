// Child process for the memory benchmark (run with --expose-gc): grows the pipeline's state step by
// step with real OTLP records and prints one JSON line per step with RSS and heap after a full GC.

import { validateConfig } from '../../src/core/config.ts';
import { attrs, nanos } from '../../src/sim/attrs.ts';
import { k8sEventsRequest } from '../../src/sim/k8s-events.ts';
import { encodeOtlp } from '../../src/sim/otlp-proto.ts';
import { ManualClock } from '../../src/stream/clock.ts';
import { Pipeline } from '../../src/stream/pipeline.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';

const steps = (process.argv[2] ?? '1000,2500,5000,10000').split(',').map(Number);
// Then, optionally, this many batches of steady traffic: 50 known pods' Warning events again with a
// higher count (evidence updates, no new state), printed as one more line.
const steadyBatches = Number(process.argv[3] ?? 0);
const CONTAINERS = 10;
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const clock = new ManualClock(T0);
let contexts = 0;
const pipeline = new Pipeline({
  config: validateConfig({ grouping: { groupWait: '1h', resolveTimeout: '1h' } }),
  clock,
  resolver: new NamePatternResolver(),
  sink: () => {
    contexts++;
  },
});

function warningEvent(p: number, count: number, atMs: number) {
  return {
    namespace: `ns-${p % 50}`,
    reason: 'BackOff',
    message: `Back-off restarting failed container c0 in pod app-${p}-7d9f8c6b5-x2kqz`,
    type: 'Warning' as const,
    object: {
      kind: 'Pod',
      name: `app-${p}-7d9f8c6b5-x2kqz`,
      uid: `uid-${p}`,
      fieldPath: 'spec.containers{c0}',
    },
    uid: `ev-${p}`,
    count,
    atMs,
  };
}

function gcAndMeasure(): { rssMB: number; heapMB: number } {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const m = process.memoryUsage();
  if (process.env.KT_MEM_DEBUG) process.stderr.write(`${JSON.stringify(m)}\n`);
  return { rssMB: Math.round(m.rss / 1e5) / 10, heapMB: Math.round(m.heapUsed / 1e5) / 10 };
}

const base = gcAndMeasure();
process.stdout.write(`${JSON.stringify({ pods: 0, series: 0, incidents: 0, ...base })}\n`);
let pods = 0;
for (const target of steps) {
  // Each pod: its own Deployment (so one incident per pod), ten containers with a restart counter each
  // (ten anomaly series), and one Warning event.
  while (pods < target) {
    // Small batches: the encoder's garbage must not set the RSS high-water mark we are measuring.
    const n = Math.min(50, target - pods);
    const resourceMetrics: Record<string, unknown>[] = [];
    const events = [];
    for (let i = 0; i < n; i++) {
      const p = pods + i;
      for (let c = 0; c < CONTAINERS; c++) {
        resourceMetrics.push({
          resource: {
            attributes: attrs({
              'k8s.namespace.name': `ns-${p % 50}`,
              'k8s.pod.name': `app-${p}-7d9f8c6b5-x2kqz`,
              'k8s.deployment.name': `app-${p}`,
              'k8s.container.name': `c${c}`,
              'k8s.node.name': `node-${p % 100}`,
            }),
          },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'k8s.container.restarts',
                  gauge: { dataPoints: [{ timeUnixNano: nanos(T0), asInt: 0 }] },
                },
              ],
            },
          ],
        });
      }
      events.push(warningEvent(p, 1, T0));
    }
    clock.advance(clock.now() + 10);
    pipeline.ingest(
      'otlp_metrics',
      encodeOtlp('ExportMetricsServiceRequest', { resourceMetrics }),
      clock.now(),
    );
    pipeline.ingest(
      'otlp_logs',
      encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events)),
      clock.now(),
    );
    pods += n;
  }
  const m = gcAndMeasure();
  process.stdout.write(
    `${JSON.stringify({ pods, series: pipeline.anomalies.seriesCount, incidents: pipeline.grouper.open, dedupEntries: pipeline.dedup.size, ...m })}\n`,
  );
}
if (steadyBatches > 0) {
  for (let b = 0; b < steadyBatches; b++) {
    const events = [];
    for (let i = 0; i < 50; i++) {
      const p = (b * 50 + i) % pods;
      events.push(warningEvent(p, 2 + Math.floor((b * 50) / pods), clock.now()));
    }
    clock.advance(clock.now() + 10);
    pipeline.ingest(
      'otlp_logs',
      encodeOtlp('ExportLogsServiceRequest', k8sEventsRequest(events)),
      clock.now(),
    );
  }
  const m = gcAndMeasure();
  process.stdout.write(
    `${JSON.stringify({ pods, steadyUpdates: steadyBatches * 50, series: pipeline.anomalies.seriesCount, incidents: pipeline.grouper.open, dedupEntries: pipeline.dedup.size, ...m })}\n`,
  );
}
void contexts;
