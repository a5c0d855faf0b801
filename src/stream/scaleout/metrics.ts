// Metrics of scale-out mode: the repartition hop, the owners' dedup of re-delivered signals, restores.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ScaleOutMetrics {
  signalRecords: Counter;
  signalBytes: Counter;
  signalSendFailures: Counter;
  deadLetters: Counter<'code'>;
  internalErrors: Counter<'stage'>;
  ownerRecords: Counter<'result'>;
  ownerGroups: Counter<'result'>;
  restores: Counter;
  restoreSeconds: Histogram;
  ownedPartitions: Gauge;
  contexts: Counter<'status'>;
  changelogSendFailures: Counter;
  changelogSuperseded: Counter;
  producerRebuilds: Counter;
}

export function scaleOutMetrics(registry: Registry): ScaleOutMetrics {
  const r = [registry];
  return {
    signalRecords: new Counter({
      name: 'kubetriage_scaleout_signal_records_total',
      help: 'Signals records (one per signals partition and consumed batch of input records) acknowledged on the repartition topic',
      registers: r,
    }),
    signalBytes: new Counter({
      name: 'kubetriage_scaleout_signal_bytes_total',
      help: 'Bytes of signals records produced to the repartition topic (before compression)',
      registers: r,
    }),
    // The same metric (and alert KubetriageInternalErrors) as single-process mode: one of the two services runs.
    internalErrors: new Counter({
      name: 'kubetriage_internal_errors_total',
      help: 'Records whose processing hit a bug in kubetriage after they decoded (dead-lettered as INTERNAL_ERROR), by stage',
      labelNames: ['stage'],
      registers: r,
    }),
    signalSendFailures: new Counter({
      name: 'kubetriage_scaleout_signal_send_failures_total',
      help: 'Failed deliveries of signals records (each re-sent before any later record of its partition; its input offsets stay uncommitted until it is acknowledged)',
      registers: r,
    }),
    deadLetters: new Counter({
      name: 'kubetriage_scaleout_dead_letters_total',
      help: 'Input records dead-lettered by the ingest side, by error code',
      labelNames: ['code'],
      registers: r,
    }),
    ownerRecords: new Counter({
      name: 'kubetriage_scaleout_owner_records_total',
      help: 'Signals records on the owner side: applied, duplicate (already absorbed: a re-delivery, skipped), malformed (skipped)',
      labelNames: ['result'],
      registers: r,
    }),
    ownerGroups: new Counter({
      name: 'kubetriage_scaleout_owner_groups_total',
      help: "Input records' signals (groups of a signals record) on the owner side: applied, duplicate (already absorbed: a re-delivery, skipped)",
      labelNames: ['result'],
      registers: r,
    }),
    restores: new Counter({
      name: 'kubetriage_scaleout_restores_total',
      help: 'Signals partitions whose state was rebuilt on assignment',
      registers: r,
    }),
    restoreSeconds: new Histogram({
      name: 'kubetriage_scaleout_restore_seconds',
      help: 'Time to rebuild one signals partition (changelog plus signals re-read)',
      buckets: [0.05, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: r,
    }),
    ownedPartitions: new Gauge({
      name: 'kubetriage_scaleout_owned_partitions',
      help: 'Signals partitions whose state this replica holds',
      registers: r,
    }),
    contexts: new Counter({
      name: 'kubetriage_scaleout_contexts_total',
      help: 'Contexts acknowledged by owners (with their changelog entry), by status',
      labelNames: ['status'],
      registers: r,
    }),
    changelogSendFailures: new Counter({
      name: 'kubetriage_scaleout_changelog_send_failures_total',
      help: "Failed deliveries of owners' changelog entries (re-sent while still the newest entry of their incident)",
      registers: r,
    }),
    changelogSuperseded: new Counter({
      name: 'kubetriage_scaleout_changelog_superseded_total',
      help: 'Changelog entries whose delivery failed after a newer revision of their incident was produced: not re-sent (it would land after the newer one and compaction would keep it); their records wait for the newer one',
      registers: r,
    }),
    producerRebuilds: new Counter({
      name: 'kubetriage_scaleout_producer_rebuilds_total',
      help: 'Producers replaced after librdkafka stopped them with a fatal error (e.g. an unrecoverable idempotence sequence error); what they had not delivered is re-sent on the new one',
      registers: r,
    }),
  };
}
