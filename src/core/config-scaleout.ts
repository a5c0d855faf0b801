// Scale-out mode of `kubetriage run` (src/stream/scaleout): ingest on any replica, one owner per
// incident scope through a repartition topic, owner state restored per partition. Why each default is
// what it is: src/stream/README.md "Scale-out".
import { z } from 'zod';

export const scaleOutSchema = z
  .object({
    /** Off: every replica keeps its own incidents (one replica only). On: replicas share the work. */
    enabled: z.boolean().default(false),
    /**
     * Partitions of the repartition and changelog topics when this service creates them: the most
     * owners that can share the grouping work. 12 divides by 1, 2, 3, 4 and 6 replicas evenly.
     */
    partitions: z.number().int().min(1).max(10_000).default(12),
    /** The owners' consumer group on the signals topic (default: kafka.groupId + "-owners"). */
    ownerGroupId: z.string().min(1).optional(),
    topics: z
      .object({
        /** Normalised signals partitioned by incident scope (cluster, namespace, workload). */
        signals: z.string().min(1).default('kubetriage-signals'),
        /** Compacted, co-partitioned with `signals`: per incident its last revision and status. */
        changelog: z.string().min(1).default('kubetriage-changelog'),
      })
      .strict()
      .prefault({}),
    /**
     * Retention of the signals topic when this service creates it. Open incidents come back whole from
     * the changelog; an owner re-reads the signals partition to rebuild the floors, baselines and dedup
     * windows, whose longest reach is 1 h (anomaly series, span baselines' half-life; held context
     * 30 m). 2 h covers them with slack and bounds what each assignment re-reads.
     */
    signalsRetentionMs: z
      .number()
      .int()
      .positive()
      .default(2 * 3_600_000),
  })
  .strict();
