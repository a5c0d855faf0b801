// One Kafka record of a signal topic: decoded whole, then normalised, so a corrupt tail never leaves
// half a record emitted. `decoded` is called between the two steps: whatever throws after it is a bug
// in kubetriage (INTERNAL_ERROR, stage normalise), not a bad record. Shared by Pipeline.processRecord
// (single process, replay) and the scale-out ingest (src/stream/scaleout/ingest.ts).
import { decodeMetrics } from '../wire/decode-metrics.ts';
import { decodeTraces } from '../wire/decode-traces.ts';
import { scanLogs } from '../wire/scan-logs.ts';
import type { NormaliseContext } from './context.ts';
import { normaliseLogsScan } from './logs.ts';
import { normaliseMetrics } from './metrics.ts';
import { normaliseTraces } from './traces.ts';

export type SignalTopicKind = 'logs' | 'metrics' | 'traces';

export function decodeAndNormalise(
  kind: SignalTopicKind,
  value: Uint8Array,
  topic: string,
  ctx: NormaliseContext,
  decoded: () => void,
): void {
  if (kind === 'logs') {
    // Validated whole as decodeLogs would, but only scanned: normaliseLogsScan reads what it keeps.
    const scan = scanLogs(value, topic);
    decoded();
    normaliseLogsScan(scan, ctx);
    scan.release();
  } else if (kind === 'metrics') {
    const req = decodeMetrics(value, topic);
    decoded();
    normaliseMetrics(req, ctx);
  } else {
    const req = decodeTraces(value, topic);
    decoded();
    normaliseTraces(req, ctx);
  }
}
