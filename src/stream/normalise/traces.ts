import type { TracesRequest } from '../wire/otlp-model.ts';
import {
  getNumberAttr,
  getStringAttr,
  SPAN_KIND_CLIENT,
  SPAN_KIND_SERVER,
  STATUS_CODE_ERROR,
} from '../wire/otlp-model.ts';
import { hex, type NormaliseContext, nanosToMs } from './context.ts';
import { peerOf } from './peer.ts';
import { resourceSite, serviceName } from './site.ts';

// OTLP Span.SpanKind PRODUCER: a message to a broker, a call too when the broker is a workload.
const SPAN_KIND_PRODUCER = 4;

/**
 * Spans give two things: failed operations (status ERROR, HTTP 5xx, an `exception` event) as
 * span_error signals, and server-span latency / failure observations for the derived series that
 * the anomaly rules compare with their own baseline (FORMATS.md §8: 4xx is not an error on servers).
 */
export function normaliseTraces(req: TracesRequest, ctx: NormaliseContext): void {
  for (const rs of req.resourceSpans) {
    const attrs = rs.resource?.attributes ?? [];
    const site = resourceSite(attrs, ctx);
    const service = serviceName(attrs, site);
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const atMs = nanosToMs(span.endTimeUnixNano) || nanosToMs(span.startTimeUnixNano) || ctx.recordTimeMs;
        const httpStatus =
          getNumberAttr(span.attributes, 'http.response.status_code') ??
          getNumberAttr(span.attributes, 'http.status_code') ??
          0;
        let exceptionType = '';
        for (const ev of span.events) {
          if (ev.name === 'exception') {
            exceptionType = getStringAttr(ev.attributes, 'exception.type') ?? 'exception';
            break;
          }
        }
        const failed = span.statusCode === STATUS_CODE_ERROR || httpStatus >= 500 || exceptionType !== '';
        if (span.kind === SPAN_KIND_SERVER) {
          const durationMs = Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
          ctx.observeServerSpan(site, service, atMs, Math.max(0, durationMs), failed);
        }
        const traceId = hex(span.traceId);
        ctx.observeSpan?.(site, atMs, failed, traceId);
        if (!failed) continue;
        // Only failing calls need their callee (the call graph links failures to peers' incidents).
        const callee =
          span.kind === SPAN_KIND_CLIENT || span.kind === SPAN_KIND_PRODUCER
            ? peerOf(span.attributes, site.namespace)
            : undefined;
        ctx.emit({
          type: 'span_error',
          atMs,
          ...site,
          service,
          operation: span.name,
          spanKind: span.kind,
          httpStatus,
          errorType: getStringAttr(span.attributes, 'error.type') ?? exceptionType ?? '',
          peer:
            getStringAttr(span.attributes, 'peer.service') ??
            getStringAttr(span.attributes, 'server.address') ??
            getStringAttr(span.attributes, 'net.peer.name') ??
            callee?.service ??
            '',
          traceId,
          callee,
        });
      }
    }
  }
}
