// The owners' changelog: compacted, co-partitioned with the signals topic, one record per incident
// (key `inc/<id>`): its last revision sent and status, and the signals offset at which it was sent.
// Together with the signals partition itself (re-read on assignment) it restores an owner exactly.
export const CHANGELOG_FORMAT_VERSION = 1;

export interface ChangelogEntry {
  id: string;
  revision: number;
  status: 'open' | 'resolved';
  /** Next signals offset of the partition when this revision was sent: later records came after it. */
  at: number;
}

export const changelogKey = (id: string): string => `inc/${id}`;

export function encodeChangelog(e: ChangelogEntry): Buffer {
  return Buffer.from(JSON.stringify({ v: CHANGELOG_FORMAT_VERSION, ...e }));
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
    return { id: e.id, revision: e.revision, status: e.status, at: e.at };
  } catch {
    return undefined;
  }
}
