// The owners' changelog: compacted, co-partitioned with the signals topic, one record per incident
// (key `inc/<id>`): its last revision sent and status, the signals offset at which it was sent, and
// while it is open the context itself (its whole state). With the signals records after that offset
// (re-read on assignment) it restores an incident exactly, however long ago it opened.
import { INCIDENT_CONTEXT_SCHEMA, type IncidentContextDoc } from '../incidents/document.ts';

export const CHANGELOG_FORMAT_VERSION = 1;

export interface ChangelogEntry {
  id: string;
  revision: number;
  status: 'open' | 'resolved';
  /** Next signals offset of the partition when this revision was sent: later records came after it. */
  at: number;
  /** The context sent (open incidents only): the incident's state up to `at`. */
  doc?: IncidentContextDoc;
}

export const changelogKey = (id: string): string => `inc/${id}`;

/** `docJson`: the context as sent (redacted JSON), kept for open incidents. */
export function encodeChangelog(e: Omit<ChangelogEntry, 'doc'>, docJson?: string): Buffer {
  const head = JSON.stringify({ v: CHANGELOG_FORMAT_VERSION, ...e });
  return Buffer.from(docJson ? `${head.slice(0, -1)},"doc":${docJson}}` : head);
}

/** Undefined for tombstones, foreign and malformed records (the caller counts them). */
export function decodeChangelog(value: Buffer | null): ChangelogEntry | undefined {
  if (!value) return undefined;
  try {
    const e = JSON.parse(value.toString('utf8'));
    if (
      e?.v !== CHANGELOG_FORMAT_VERSION ||
      typeof e.id !== 'string' ||
      !Number.isInteger(e.revision) ||
      (e.status !== 'open' && e.status !== 'resolved') ||
      !Number.isInteger(e.at)
    )
      return undefined;
    const doc = e.doc as IncidentContextDoc | undefined;
    // A context that is not one of ours (or not this incident's) restores nothing; the entry still counts.
    const usable =
      doc?.schema === INCIDENT_CONTEXT_SCHEMA &&
      doc.id === e.id &&
      doc.status === 'open' &&
      Array.isArray(doc.evidence) &&
      typeof doc.scope?.workload?.name === 'string';
    return { id: e.id, revision: e.revision, status: e.status, at: e.at, ...(usable ? { doc } : {}) };
  } catch {
    return undefined;
  }
}
