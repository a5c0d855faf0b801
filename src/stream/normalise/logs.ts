import type { SignalSite } from '../signals.ts';
import type { KeyValue, LogsRequest } from '../wire/otlp-model.ts';
import { getStringAttr, KeyValueList } from '../wire/otlp-model.ts';
import { L_EXCEPTION_TYPE, type LogsScan, R_CLUSTER } from '../wire/scan-logs.ts';
import { clip, hex, type NormaliseContext, nanosToMs } from './context.ts';
import { fromK8sEventsReceiver, fromK8sEventsReceiverScan, fromK8sObjectsReceiver } from './events.ts';
import { resourceSite, serviceName } from './site.ts';

const SEVERITY_ERROR = 17;
// A severity given only as text (no number), as some log shippers do.
const ERROR_TEXT = /^(err|error|fatal|crit|critical|panic|emerg|emergency|alert)$/i;

/** One ResourceLogs' site, computed when its first log signal needs it (not per record). */
interface ResourceSite {
  site: SignalSite | undefined;
  service: string;
}

/**
 * Logs carry three kinds of signal: Kubernetes events (two receivers, several shapes), application
 * errors (severity ERROR and above) and exception log records (semconv ≥ 1.40 records exceptions
 * as log records with event_name `exception` or `<operation>.exception`). Anything else is skipped.
 */
export function normaliseLogs(req: LogsRequest, ctx: NormaliseContext): void {
  for (const rl of req.resourceLogs) {
    const attrs = rl.resource?.attributes ?? [];
    const cluster = getStringAttr(attrs, 'k8s.cluster.name') || ctx.defaultCluster;
    const where: ResourceSite = { site: undefined, service: '' };
    for (const sl of rl.scopeLogs) {
      for (const rec of sl.logRecords) {
        if (fromK8sEventsReceiver(rec, attrs, cluster, ctx)) continue;
        if (rec.body instanceof KeyValueList && fromK8sObjectsReceiver(rec, attrs, cluster, ctx)) continue;
        const exceptionType = getStringAttr(rec.attributes, 'exception.type') ?? '';
        const logClass = appLogClass(
          rec.severityNumber,
          rec.severityText,
          rec.eventName,
          exceptionType,
          rec.body,
          ctx,
        );
        if (logClass === undefined) continue;
        const body =
          typeof rec.body === 'string'
            ? rec.body
            : (getStringAttr(rec.attributes, 'exception.message') ?? '');
        const atMs = nanosToMs(rec.timeUnixNano) || nanosToMs(rec.observedTimeUnixNano) || ctx.recordTimeMs;
        emitAppLog(
          body,
          rec.severityNumber,
          atMs,
          hex(rec.traceId),
          attrs,
          where,
          exceptionType,
          logClass,
          ctx,
        );
      }
    }
  }
}

/**
 * normaliseLogs over a payload scanned by scanLogs: the same signals in the same order, but the
 * fields that decide (event reason, severity, event name, exception type) are read first, and a
 * record is materialised only as far as its signal needs. logs × 1000 to signals against
 * normaliseLogs(decodeLogs(…)) (main 619a950): 1.6–1.7× warm, 1.4–1.7× cold on its own; with the
 * hand-scanned pod names 1.9× warm, 1.6–2.2× cold (bench/ab.ts decode, 5–9 rounds, medians).
 * Scanning alone runs at 1.4M records/s, near the no-allocation walk's 1.6–1.7M (the rest is the
 * strings and objects a signal keeps).
 */
export function normaliseLogsScan(scan: LogsScan, ctx: NormaliseContext): void {
  let rl = -1;
  let attrs: readonly KeyValue[] | undefined;
  let cluster = '';
  // Made when the ResourceLogs' first log signal needs it: k8seventsreceiver sends one ResourceLogs
  // per event, and an object per event that no event uses is garbage.
  let where: ResourceSite | undefined;
  for (let rec = 0; rec < scan.recCount; rec++) {
    if (scan.rlOf(rec) !== rl) {
      rl = scan.rlOf(rec);
      attrs = undefined;
      cluster = scan.resourceString(rl, R_CLUSTER) || ctx.defaultCluster;
      where = undefined;
    }
    if (fromK8sEventsReceiverScan(scan, rec, cluster, ctx)) continue;
    const body = scan.body(rec);
    if (body instanceof KeyValueList) {
      attrs ??= scan.resourceAttributes(rl);
      if (fromK8sObjectsReceiver(scan.record(rec), attrs, cluster, ctx)) continue;
    }
    const exceptionType = scan.logString(rec, L_EXCEPTION_TYPE) ?? '';
    const logClass = appLogClass(
      scan.severityNumber(rec),
      scan.severityText(rec),
      scan.eventName(rec),
      exceptionType,
      body,
      ctx,
    );
    if (logClass === undefined) continue;
    attrs ??= scan.resourceAttributes(rl);
    where ??= { site: undefined, service: '' };
    // The record's fields from the scan, not the record decoded (its attributes, ids and times as
    // objects: 14 of the 120 ms its log signals took in a CPU profile of `kubetriage run` over the e2e
    // topic, bench/lib/profile-child.ts); decoded only for an exception.message in place of the body.
    // Over that topic's stream (its 4.5k error logs) the pipeline allocates 725 → 699 bytes per record;
    // CPU within the noise: 0.99× (min 0.95, max 1.11), decode + normalise alone 1.05× and 0.99× in two
    // runs (`node --expose-gc bench/ab-run-path.ts pipeline|normalise <old>`, machine at load 19).
    const text =
      typeof body === 'string'
        ? body
        : (getStringAttr(scan.record(rec).attributes, 'exception.message') ?? '');
    const atMs = scan.timeMs(rec) || scan.observedTimeMs(rec) || ctx.recordTimeMs;
    emitAppLog(
      text,
      scan.severityNumber(rec),
      atMs,
      scan.traceIdHex(rec),
      attrs,
      where,
      exceptionType,
      logClass,
      ctx,
    );
  }
}

/**
 * undefined when the record is no application error: below ERROR and no exception, unless a line
 * without any severity has a class by its content (floors.logPatterns); else that class ('' for none).
 */
function appLogClass(
  severityNumber: number,
  severityText: string,
  eventName: string,
  exceptionType: string,
  body: unknown,
  ctx: NormaliseContext,
): string | undefined {
  const isException = exceptionType !== '' || eventName === 'exception' || eventName.endsWith('.exception');
  if (severityNumber >= SEVERITY_ERROR || isException || ERROR_TEXT.test(severityText)) return '';
  // Container stdout carries no severity: its content decides (floors.logPatterns).
  if (severityNumber !== 0 || severityText !== '' || typeof body !== 'string') return undefined;
  return ctx.classifyLog?.(body) || undefined;
}

function emitAppLog(
  body: string,
  severity: number,
  atMs: number,
  traceId: string,
  attrs: readonly KeyValue[],
  where: ResourceSite,
  exceptionType: string,
  logClassIn: string,
  ctx: NormaliseContext,
): void {
  if (!where.site) {
    where.site = resourceSite(attrs, ctx);
    where.service = serviceName(attrs, where.site);
  }
  // An ERROR line that names a missing setting is a config error, whatever its severity said.
  let logClass = logClassIn;
  if (!logClass && body) logClass = ctx.classifyLog?.(body) ?? '';
  ctx.emit({
    type: 'log',
    atMs,
    ...where.site,
    service: where.service,
    severity,
    exceptionType,
    body: clip(body),
    traceId,
    logClass,
  });
}
