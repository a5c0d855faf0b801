// After a restart: a context the broker acknowledged may never have got its triage report (the process
// stopped while the chain or the report's produce was in flight), and if the incident does not change
// again no later revision would bring one. So the latest context of every open incident the stream
// stage read back is triaged again when the triage topic has no report for that revision yet. Slack
// proposals follow reports, so this never posts one twice for a revision.
import { TRIAGE_REPORT_SCHEMA, type TriagePublisher } from '../agents/index.ts';
import type { Logger } from '../core/logger.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import type { RdKafkaConfig } from '../stream/kafka/client-config.ts';
import { readTopicSince } from '../stream/kafka/context-reader.ts';

/** The newest report revision per incident written to the triage topic since `sinceMs`. */
export async function reportedRevisions(
  kafka: RdKafkaConfig,
  topic: string,
  sinceMs: number,
): Promise<{ revisions: Map<string, number>; records: number; invalid: number }> {
  const revisions = new Map<string, number>();
  let invalid = 0;
  const records = await readTopicSince(kafka, topic, sinceMs, (value) => {
    let r: { schema?: unknown; incident?: unknown; revision?: unknown };
    try {
      r = JSON.parse(value?.toString('utf8') ?? '');
    } catch {
      invalid++;
      return;
    }
    if (
      r?.schema !== TRIAGE_REPORT_SCHEMA ||
      typeof r.incident !== 'string' ||
      typeof r.revision !== 'number'
    ) {
      invalid++;
      return;
    }
    if (r.revision > (revisions.get(r.incident) ?? 0)) revisions.set(r.incident, r.revision);
  });
  return { revisions, records, invalid };
}

/**
 * Triages the restored contexts that have no report yet. Never throws: the stream must start even
 * when the triage topic cannot be read (those incidents get a report at their next revision).
 */
export async function catchUpTriage(opts: {
  docs: readonly IncidentContextDoc[];
  kafka: RdKafkaConfig;
  topic: string;
  sinceMs: number;
  publisher: Pick<TriagePublisher, 'onContext'>;
  log: Logger;
}): Promise<void> {
  if (opts.docs.length === 0) return;
  const started = Date.now();
  let back: Awaited<ReturnType<typeof reportedRevisions>>;
  try {
    back = await reportedRevisions(opts.kafka, opts.topic, opts.sinceMs);
  } catch (err) {
    opts.log.warn(
      { err: (err as Error).message, open: opts.docs.length },
      'triage catch-up failed; continuing',
    );
    return;
  }
  let queued = 0;
  for (const doc of opts.docs) {
    if ((back.revisions.get(doc.id) ?? 0) >= doc.revision) continue;
    opts.publisher.onContext(doc);
    queued++;
  }
  opts.log.info(
    { open: opts.docs.length, reread: back.records, invalid: back.invalid, queued, ms: Date.now() - started },
    'triage catch-up: open incidents whose latest revision had no report are triaged again',
  );
}
