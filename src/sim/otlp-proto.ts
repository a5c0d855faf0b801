// The pinned OTLP protos (proto/, opentelemetry-proto v1.11.0) loaded with protobufjs reflection.
// Used to *encode* OTLP the way the Collector's pdata marshaler does (the simulator, tests) and as the
// reference decoder in differential tests and benchmarks. The hot path uses src/stream/wire instead.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type protobuf from 'protobufjs';

// Loaded on first use: every command imports the simulator (demo, eval, simulate), few encode, and
// protobufjs costs ~0.015 CPU-s of `kubetriage run` start-up (bench/startup.ts).
const require = createRequire(import.meta.url);

const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

let root: protobuf.Root | undefined;

export function otlpRoot(): protobuf.Root {
  if (root) return root;
  const r = new (require('protobufjs') as typeof protobuf).Root();
  r.resolvePath = (_origin, target) => (target.startsWith('/') ? target : PROTO_ROOT + target);
  r.loadSync(
    [
      'opentelemetry/proto/collector/logs/v1/logs_service.proto',
      'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
      'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    ],
    { keepCase: false },
  );
  r.resolveAll();
  root = r;
  return r;
}

export function otlpType(
  name: 'ExportLogsServiceRequest' | 'ExportMetricsServiceRequest' | 'ExportTraceServiceRequest',
): protobuf.Type {
  const pkg =
    name === 'ExportLogsServiceRequest'
      ? 'logs'
      : name === 'ExportMetricsServiceRequest'
        ? 'metrics'
        : 'trace';
  return otlpRoot().lookupType(`opentelemetry.proto.collector.${pkg}.v1.${name}`);
}

/** Encodes a plain object shaped like the proto (camelCase fields) to otlp_proto bytes. */
export function encodeOtlp(
  name: 'ExportLogsServiceRequest' | 'ExportMetricsServiceRequest' | 'ExportTraceServiceRequest',
  message: Record<string, unknown>,
): Buffer {
  const type = otlpType(name);
  // fromObject (not verify) because fixed64 timestamps are given as decimal strings to keep precision.
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}
