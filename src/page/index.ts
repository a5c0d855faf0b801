// The incident page (src/page): an in-memory view of incidents, reports and proposal history, served
// as HTML on a fastify server. `run` feeds it from the pipeline; `demo --serve` / `replay --serve`
// from a capture (read-only: no approval stage there).
import type { TriageReport } from '../agents/report.ts';
import type { PageConfig } from '../core/config-page.ts';

export { PageFeed, pageFeedFor, pageSourceOf } from './kafka-feed.ts';
export { setPageLinks } from './links.ts';
export { type PageApprovals, registerPageRoutes } from './routes.ts';
export { servePage, untilSignal } from './serve.ts';
export { IncidentStore } from './store.ts';

/** A report as `run` hands it on (the serialized bytes the producer sent), parsed; undefined if not JSON. */
export function parseReport(value: Buffer | TriageReport): TriageReport | undefined {
  if (!Buffer.isBuffer(value)) return value;
  try {
    return JSON.parse(value.toString('utf8')) as TriageReport;
  } catch {
    return undefined;
  }
}

export type { PageConfig };
