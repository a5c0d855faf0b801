// The owners' changelog sends. Compaction keeps the last record of a key, so an incident's entries must
// reach the partition in the order they were produced. The producer keeps that order while deliveries
// succeed; one that fails (librdkafka gives it up after message.timeout.ms, e.g. while the broker is
// away) and is re-sent after the next revision's entry was acknowledged would end up last, and a rebuild
// would continue from the older revision and status.
//
// A failed entry is therefore re-sent only while it is still the newest one produced for its key. One
// that a newer entry of its incident replaced is given up: the newer one holds everything it held (the
// whole context up to a later signals offset), so the older entry counts as delivered when the newer
// one is acknowledged (or in turn when whatever replaced that one is). The newest entry is re-sent until
// it is acknowledged, as before. Chosen over one entry per incident in flight (a queue per key): nothing
// waits while deliveries succeed, and no older revision is written once a newer one was produced.
import { type OutRecord, SupersededSendError } from '../kafka/producer.ts';

/** The producer's `send` (AckedProducer): resolves when acknowledged, retries while `resend` says so. */
export type ChangelogSend = (
  rec: OutRecord,
  onRetry: (err: Error, attempt: number) => void,
  resend: () => boolean,
) => Promise<unknown>;

interface Entry {
  /** Settles when this entry, or the newest entry that replaced it, is acknowledged (or refused). */
  done: Promise<void>;
  /** Its partitions were revoked: never re-sent, and it counts as delivered only if it was. */
  abandoned: boolean;
}

/** A changelog entry whose partition was revoked before it was delivered: its records stay uncommitted. */
export class ChangelogAbandonedError extends Error {
  constructor(key: string) {
    super(`changelog entry ${key} not delivered before its partition was revoked; not re-sent`);
    this.name = 'ChangelogAbandonedError';
  }
}

export class ChangelogWriter {
  /**
   * Per key, the newest entry produced, until it is acknowledged; older ones pending are superseded.
   * Bounded by the incidents with an entry in flight (plus those whose newest entry was refused).
   */
  readonly #newest = new Map<string, Entry>();
  /** Entries whose own send has not settled (in flight, or backing off before a re-send). */
  readonly #unsettled = new Set<Entry>();
  readonly #send: ChangelogSend;
  readonly #onFailure: (key: string, err: Error, attempt: number) => void;
  readonly #onSuperseded: (key: string) => void;
  /** Failed deliveries (each re-sent), and entries given up because a newer one of their key was produced. */
  readonly stats = { failed: 0, superseded: 0 };

  constructor(opts: {
    send: ChangelogSend;
    onFailure?: (key: string, err: Error, attempt: number) => void;
    onSuperseded?: (key: string) => void;
  }) {
    this.#send = opts.send;
    this.#onFailure = opts.onFailure ?? (() => {});
    this.#onSuperseded = opts.onSuperseded ?? (() => {});
  }

  /** Entries of keys whose newest entry is not acknowledged yet. */
  get pendingKeys(): number {
    return this.#newest.size;
  }

  /**
   * After a revoke whose drain timed out (the partitions go to new owners, which rebuild from what was
   * committed): entries not delivered yet are not re-sent any more, where they could land after a new
   * owner's newer entry of the same incident. Their records stay uncommitted (they reject with
   * ChangelogAbandonedError unless the attempt under way is acknowledged). Returns how many.
   */
  abandonAll(): number {
    for (const e of this.#unsettled) e.abandoned = true;
    this.#newest.clear();
    return this.#unsettled.size;
  }

  /**
   * Resolves once the broker has this entry or a newer one of its key; rejects as the newest entry's
   * send rejects (refused as too large, given up at shutdown or after a revoke).
   */
  write(rec: OutRecord & { key: string }): Promise<void> {
    const key = rec.key;
    const entry: Entry = { done: Promise.resolve(), abandoned: false };
    this.#newest.set(key, entry);
    this.#unsettled.add(entry);
    const isNewest = () => !entry.abandoned && this.#newest.get(key) === entry;
    entry.done = this.#send(
      rec,
      (err, attempt) => {
        this.stats.failed++;
        this.#onFailure(key, err, attempt);
      },
      isNewest,
    ).then(
      () => {
        this.#unsettled.delete(entry);
        if (this.#newest.get(key) === entry) this.#newest.delete(key);
      },
      (err: unknown) => {
        this.#unsettled.delete(entry);
        // A newest entry refused or given up at shutdown stays in the map (until its key is written
        // again): entries it replaced take its outcome, never "delivered".
        if (!(err instanceof SupersededSendError)) throw err;
        if (entry.abandoned) throw new ChangelogAbandonedError(key);
        this.stats.superseded++;
        this.#onSuperseded(key);
        // No newer entry pending: the one that replaced it is acknowledged already.
        return this.#newest.get(key)?.done;
      },
    );
    return entry.done;
  }
}
