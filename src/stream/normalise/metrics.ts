import { BAD_CONTAINER_REASONS, type SignalSite } from '../signals.ts';
import type { MetricsRequest, NumberDataPoint } from '../wire/otlp-model.ts';
import { getStringAttr } from '../wire/otlp-model.ts';
import { resolveByName } from '../workload.ts';
import { type NormaliseContext, nanosToMs } from './context.ts';
import { resourceSite } from './site.ts';

const STATUS_REASON = 'k8s.container.status.reason';

/**
 * k8s_cluster / kubelet_stats metrics (FORMATS.md §6). Two uses:
 *  - every metric an anomaly rule watches becomes a numeric sample of its series;
 *  - `k8s.container.status.reason` (one point per reason, 1 = current) reports container trouble directly.
 * Unwatched metrics cost one Set lookup and nothing else.
 */
export function normaliseMetrics(req: MetricsRequest, ctx: NormaliseContext): void {
  for (const rm of req.resourceMetrics) {
    const attrs = rm.resource?.attributes ?? [];
    let site: SignalSite | undefined;
    for (const sm of rm.scopeMetrics) {
      for (const metric of sm.metrics) {
        const data = metric.data;
        if (data.type !== 'gauge' && data.type !== 'sum') continue;
        const isStatus = metric.name === STATUS_REASON;
        if (!isStatus && !ctx.watchedMetrics.has(metric.name)) continue;
        // HPA metrics describe the HPA object; by convention it is named after the workload it scales.
        if (!site) {
          const hpa = metric.name.startsWith('k8s.hpa.') ? getStringAttr(attrs, 'k8s.hpa.name') : undefined;
          site = resourceSite(attrs, ctx);
          if (hpa) site = { ...site, workload: resolveByName('HorizontalPodAutoscaler', hpa) };
        }
        const container = getStringAttr(attrs, 'k8s.container.name') ?? '';
        for (const p of data.dataPoints) {
          const value = pointValue(p);
          if (value === undefined) continue;
          const atMs = nanosToMs(p.timeUnixNano) || ctx.recordTimeMs;
          if (isStatus) {
            const reason = getStringAttr(p.attributes, STATUS_REASON) ?? '';
            if (value === 1 && BAD_CONTAINER_REASONS.has(reason)) {
              ctx.emit({
                type: 'container',
                atMs,
                ...site,
                container,
                reason,
                restarts: undefined,
                via: 'metric',
                eventUid: '',
                count: 1,
              });
            }
            continue;
          }
          ctx.emit({
            type: 'metric',
            atMs,
            ...site,
            name: metric.name,
            value,
            series: container || seriesOf(p),
            detail: getStringAttr(attrs, 'k8s.container.status.last_terminated_reason') ?? '',
          });
        }
      }
    }
  }
}

function pointValue(p: NumberDataPoint): number | undefined {
  // Flag bit 0: "no recorded value" (a stale marker), not a zero.
  if (p.flags & 1) return undefined;
  const v = p.value;
  return v === undefined ? undefined : typeof v === 'bigint' ? Number(v) : v;
}

function seriesOf(p: NumberDataPoint): string {
  if (p.attributes.length === 0) return '';
  let s = '';
  for (const kv of p.attributes) s += `${kv.key}=${String(kv.value)},`;
  return s;
}
