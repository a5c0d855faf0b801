// The repartition topic's record: what normalising one input record produced for one incident scope,
// with where it came from. JSON with positional arrays: small, readable with kcat, no schema registry.
//   {"v":1,"src":[topic,partition,offset,index,timestamp],"ops":[op,…]}
// op: ["g", signal] | ["v", site, service, atMs, durationMs, failed] | ["t", site, atMs, failed, traceId]
import type { NormaliseContext } from '../normalise/context.ts';
import type { Signal, SignalSite } from '../signals.ts';

export const SIGNALS_FORMAT_VERSION = 1;

/** The input record a signals record came from; `index` tells apart the scopes of one record. */
export interface SignalSource {
  topic: string;
  partition: number;
  offset: number;
  index: number;
  timestamp: number;
}

export interface SignalsRecord {
  src: SignalSource;
  /** Each op as its JSON text (encoded when the normaliser emits it: normalisers may reuse objects). */
  ops: string[];
}

export const encodeSignal = (s: Signal): string => `["g",${JSON.stringify(s)}]`;

export const encodeServerSpan = (
  site: SignalSite,
  service: string,
  atMs: number,
  durationMs: number,
  failed: boolean,
): string => JSON.stringify(['v', site, service, atMs, durationMs, failed]);

export const encodeSpan = (site: SignalSite, atMs: number, failed: boolean, traceId: string): string =>
  JSON.stringify(['t', site, atMs, failed, traceId]);

export function encodeSignalsRecord(r: SignalsRecord): Buffer {
  const s = r.src;
  return Buffer.from(
    `{"v":${SIGNALS_FORMAT_VERSION},"src":${JSON.stringify([s.topic, s.partition, s.offset, s.index, s.timestamp])},"ops":[${r.ops.join(',')}]}`,
  );
}

/** A decoded signals record; its ops are applied to a pipeline's normalise context. */
export interface DecodedSignals {
  src: SignalSource;
  ops: unknown[][];
}

/** Parses a signals record; undefined for anything foreign or malformed (counted by the caller). */
export function decodeSignalsRecord(value: Buffer | null): DecodedSignals | undefined {
  if (!value) return undefined;
  let doc: { v?: unknown; src?: unknown; ops?: unknown };
  try {
    doc = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (doc?.v !== SIGNALS_FORMAT_VERSION || !Array.isArray(doc.src) || !Array.isArray(doc.ops))
    return undefined;
  const [topic, partition, offset, index, timestamp] = doc.src as unknown[];
  if (
    typeof topic !== 'string' ||
    !Number.isInteger(partition) ||
    !Number.isInteger(offset) ||
    !Number.isInteger(index) ||
    typeof timestamp !== 'number'
  )
    return undefined;
  if (!doc.ops.every((op) => Array.isArray(op) && typeof op[0] === 'string' && isSite(op[1])))
    return undefined;
  return {
    src: {
      topic,
      partition: partition as number,
      offset: offset as number,
      index: index as number,
      timestamp,
    },
    ops: doc.ops as unknown[][],
  };
}

function isSite(x: unknown): x is SignalSite {
  const s = x as SignalSite;
  return (
    typeof s === 'object' && s !== null && typeof s.cluster === 'string' && typeof s.namespace === 'string'
  );
}

/** Replays decoded ops into a normalise context, in the order the ingesting replica emitted them. */
export function applyOps(ops: unknown[][], ctx: NormaliseContext): void {
  for (const op of ops) {
    switch (op[0]) {
      case 'g':
        ctx.emit(op[1] as Signal);
        break;
      case 'v':
        ctx.observeServerSpan(
          op[1] as SignalSite,
          String(op[2]),
          Number(op[3]),
          Number(op[4]),
          op[5] === true,
        );
        break;
      case 't':
        ctx.observeSpan?.(op[1] as SignalSite, Number(op[2]), op[3] === true, String(op[4] ?? ''));
        break;
    }
  }
}
