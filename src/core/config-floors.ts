// Noise floors: when a signal may open an incident (src/stream/floors.ts). Defaults live here; why each
// number is what it is: src/stream/README.md "Noise floors".
import { z } from 'zod';
import { parseDuration } from './duration.ts';

/** Floors need a positive window: a zero window would make every rate test meaningless. */
const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a positive duration like 30s, 5m, 1h` });
        return z.NEVER;
      }
      return ms;
    });

const regex = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s, 'i');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression /${s}/: ${(err as Error).message}` });
  }
});

/** A log body pattern (case-insensitive) and the class a matching line without severity is given. */
const logPattern = z
  .object({
    class: z.enum(['config_error', 'crash', 'error']),
    pattern: regex,
  })
  .strict();

export const DEFAULT_LOG_PATTERNS: z.input<typeof logPattern>[] = [
  // A missing or bad setting: the cause an operator fixes, not a symptom.
  {
    class: 'config_error',
    pattern:
      '\\b(env(ironment)? var(iable)?|setting|config(uration)? (key|value|option)|option|flag|key)\\b.{0,80}\\b(is undefined|undefined|not set|is not set|is required|missing|not defined|must be set)\\b',
  },
  {
    class: 'config_error',
    pattern:
      '\\bmissing required\\b|\\binvalid config(uration)?\\b|\\bconfig(uration)? (error|invalid|file not found)\\b|couldn\'t find key|(configmaps?|secrets?) "[^"]*" not found',
  },
  { class: 'config_error', pattern: 'executable file not found|exec format error|no such file or directory' },
  {
    class: 'crash',
    pattern: '^panic:|\\bfatal( error)?:|\\bFATAL\\b|\\bsegmentation fault\\b|\\bcore dumped\\b',
  },
  {
    class: 'crash',
    pattern: 'Traceback \\(most recent call last\\)|^Exception in thread|^goroutine \\d+ \\[running\\]',
  },
  {
    class: 'error',
    pattern:
      '\\bunhandled (exception|rejection)\\b|\\b[A-Z]\\w*(Exception|Error):|\\bexit(ed)? (with )?(code|status) [1-9]|\\bpermission denied\\b|\\bEACCES\\b',
  },
];

export const floorsSchema = z
  .object({
    /** Off: every problem signal opens an incident at once (the behaviour before floors). */
    enabled: z.boolean().default(true),
    /** Long window of the rate tests (failed spans, ERROR logs). */
    window: duration('5m'),
    /** Short window: the departure must still be happening now (the burn-rate pair's short leg). */
    shortWindow: duration('1m'),
    /** One-sided significance level of the Poisson tests against the baseline. */
    alpha: z.number().gt(0).lt(0.5).default(0.001),
    /** Baseline memory: counts older than the long window decay with this half-life. */
    baselineHalfLife: duration('1h'),
    spans: z
      .object({
        /** Failed requests (distinct traces, README "Requests, not spans") needed in the long window. */
        minCount: z.number().int().min(1).default(5),
        /** Failed share of all spans in the long window (and the short window) that may open. */
        minRate: z.number().gt(0).max(1).default(0.01),
        /** Failure rate assumed before a workload has its own history. */
        priorRate: z.number().gt(0).lt(1).default(0.005),
        /** How many spans the prior weighs, against the workload's own (decayed) history. */
        priorWeight: z.number().min(1).default(10_000),
        /** (workload, trace) pairs remembered so that a request counts once however many spans record it. */
        recentTraces: z.number().int().min(1).default(50_000),
      })
      .strict()
      .prefault({}),
    logs: z
      .object({
        /** ERROR (or content-classified) lines needed in the long window. */
        minCount: z.number().int().min(1).default(5),
        /** Lines per minute assumed before a workload has its own history. */
        priorPerMinute: z.number().gt(0).default(0.2),
        /** Minutes of history the prior weighs. */
        priorMinutes: z.number().min(1).default(30),
      })
      .strict()
      .prefault({}),
    restarts: z
      .object({
        /** Restarts of one container within `window` that open (kube-prometheus KubePodCrashLooping). */
        count: z.number().int().min(1).default(3),
        window: duration('15m'),
      })
      .strict()
      .prefault({}),
    probes: z
      .object({
        /** Probe misses (Unhealthy events, by their count) of a workload within `window` that open. */
        count: z.number().int().min(1).default(6),
        window: duration('5m'),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /** Warning events that open at once: the fact is decisive on its own. */
        decisive: z
          .array(z.string().min(1))
          .default([
            'FailedScheduling',
            'FailedCreate',
            'Evicted',
            'Preempted',
            'OOMKilling',
            'SystemOOM',
            'FailedAttachVolume',
          ]),
        /** Container reasons (from events or status) that open at once. */
        decisiveContainerReasons: z
          .array(z.string().min(1))
          .default([
            'CrashLoopBackOff',
            'OOMKilled',
            'ImagePullBackOff',
            'ErrImagePull',
            'InvalidImageName',
            'CreateContainerConfigError',
            'CreateContainerError',
            'RunContainerError',
            'ContainerCannotRun',
          ]),
        /** Any other Warning event opens once its occurrences on the workload reach this within `window`. */
        minCount: z.number().int().min(1).default(3),
        window: duration('10m'),
      })
      .strict()
      .prefault({}),
    anomalies: z
      .object({
        /** A below_ratio finding (replicas unavailable) must persist this long (rollouts, HPA scale-ups pass). */
        persistFor: duration('5m'),
        /** A gap longer than this between findings of a series starts its streak over. */
        maxGap: duration('90s'),
        /** above_baseline findings (latency) needed within the long window. */
        minFindings: z.number().int().min(1).default(2),
      })
      .strict()
      .prefault({}),
    context: z
      .object({
        /** Sub-floor updates kept per workload, attached as context evidence when an incident opens. */
        maxPerWorkload: z.number().int().min(0).max(1000).default(32),
        /** How long a sub-floor update stays attachable. */
        ttl: duration('30m'),
        maxWorkloads: z.number().int().min(1).default(20_000),
      })
      .strict()
      .prefault({}),
    /** Log records without a severity are classified by content; the first matching pattern wins. */
    logPatterns: z.array(logPattern).prefault(DEFAULT_LOG_PATTERNS),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.shortWindow > f.window)
      ctx.addIssue({ code: 'custom', path: ['shortWindow'], message: 'must not exceed window' });
  });

export type FloorsConfig = z.infer<typeof floorsSchema>;
export type LogClass = z.infer<typeof logPattern>['class'];
