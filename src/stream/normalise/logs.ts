import type { SignalSite } from '../signals.ts';
import type { LogsRequest } from '../wire/otlp-model.ts';
import { getStringAttr, KeyValueList } from '../wire/otlp-model.ts';
import { clip, hex, type NormaliseContext, nanosToMs } from './context.ts';
import { fromK8sEventsReceiver, fromK8sObjectsReceiver } from './events.ts';
import { resourceSite, serviceName } from './site.ts';

const SEVERITY_ERROR = 17;
// A severity given only as text (no number), as some log shippers do.
const ERROR_TEXT = /^(err|error|fatal|crit|critical|panic|emerg|emergency|alert)$/i;

/**
 * Logs carry three kinds of signal: Kubernetes events (two receivers, several shapes), application
 * errors (severity ERROR and above) and exception log records (semconv ≥ 1.40 records exceptions
 * as log records with event_name `exception` or `<operation>.exception`). Anything else is skipped.
 */
export function normaliseLogs(req: LogsRequest, ctx: NormaliseContext): void {
  for (const rl of req.resourceLogs) {
    const attrs = rl.resource?.attributes ?? [];
    const cluster = getStringAttr(attrs, 'k8s.cluster.name') || ctx.defaultCluster;
    let site: SignalSite | undefined;
    let service = '';
    for (const sl of rl.scopeLogs) {
      for (const rec of sl.logRecords) {
        if (fromK8sEventsReceiver(rec, attrs, cluster, ctx)) continue;
        if (rec.body instanceof KeyValueList && fromK8sObjectsReceiver(rec, attrs, cluster, ctx)) continue;
        const exceptionType = getStringAttr(rec.attributes, 'exception.type') ?? '';
        const isException =
          exceptionType !== '' || rec.eventName === 'exception' || rec.eventName.endsWith('.exception');
        let logClass = '';
        if (rec.severityNumber < SEVERITY_ERROR && !isException && !ERROR_TEXT.test(rec.severityText)) {
          // Container stdout carries no severity: its content decides (floors.logPatterns).
          if (rec.severityNumber !== 0 || rec.severityText !== '' || typeof rec.body !== 'string') continue;
          logClass = ctx.classifyLog?.(rec.body) ?? '';
          if (!logClass) continue;
        }
        if (!site) {
          site = resourceSite(attrs, ctx);
          service = serviceName(attrs, site);
        }
        const body =
          typeof rec.body === 'string'
            ? rec.body
            : (getStringAttr(rec.attributes, 'exception.message') ?? '');
        // An ERROR line that names a missing setting is a config error, whatever its severity said.
        if (!logClass && body) logClass = ctx.classifyLog?.(body) ?? '';
        ctx.emit({
          type: 'log',
          atMs: nanosToMs(rec.timeUnixNano) || nanosToMs(rec.observedTimeUnixNano) || ctx.recordTimeMs,
          ...site,
          service,
          severity: rec.severityNumber,
          exceptionType,
          body: clip(body),
          traceId: hex(rec.traceId),
          logClass,
        });
      }
    }
  }
}
