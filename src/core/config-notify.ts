// The `notify` config section (src/notify): where triage reports go besides the triage topic and Slack.
// Defaults live here. Secrets never come from the file: Alertmanager credentials are read from the
// environment (KUBETRIAGE_ALERTMANAGER_USERNAME / _PASSWORD for basic auth, _TOKEN for a bearer token).
import { z } from 'zod';
import { duration } from './config-duration.ts';

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), { message: 'an http:// or https:// URL' });

/** A Prometheus label name (Alertmanager refuses anything else). */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Labels kubetriage sets itself; extra labels may not override them. */
export const ALERT_OWN_LABELS = [
  'alertname',
  'incident',
  'team',
  'severity',
  'namespace',
  'workload',
  'cause',
  'cluster',
] as const;

export const alertmanagerSchema = z
  .object({
    /** Off by default: sending alerts somewhere is a decision the operator makes. */
    enabled: z.boolean().default(false),
    /** Every Alertmanager of an HA cluster (each gets every alert, as Prometheus does), e.g. http://am:9093. */
    urls: z.array(httpUrl).default([]),
    /** The `alertname` label: what routes and silences match on. */
    alertname: z.string().min(1).default('KubetriageIncident'),
    /** Static labels added to every alert (e.g. `source: kubetriage`, an environment). */
    labels: z
      .record(z.string().regex(LABEL_NAME, 'a label name: letters, digits, _'), z.string())
      .default({}),
    /**
     * Link to an incident for the `link` annotation and the alert's generatorURL; `{incident}` is replaced
     * by the incident id (e.g. https://grafana.example/d/kt?var-incident={incident}). null: no link.
     */
    externalUrl: z.string().min(1).nullable().default(null),
    /**
     * Open alerts are re-sent this often, each valid for 4 intervals (endsAt in the future, as Prometheus
     * does): Alertmanager keeps them firing without relying on its resolve_timeout (5m by default), and
     * they resolve by themselves if kubetriage goes away.
     */
    resendInterval: duration('1m'),
    /** One HTTP request's limit. */
    timeout: duration('5s'),
    retry: z
      .object({
        /** Tries per post and Alertmanager (1 = no retry); the resend loop tries again later anyway. */
        attempts: z.number().int().min(1).max(20).default(5),
        /** First backoff, doubled per try up to maxBackoff (with jitter). */
        initialBackoff: duration('500ms'),
        maxBackoff: duration('10s'),
      })
      .strict()
      .prefault({}),
    /** Incidents waiting to be posted; beyond this a report is dropped (counted) and the resend loop covers it. */
    queueSize: z.number().int().min(1).default(1000),
    /** Alerts per POST (Alertmanager takes a list). */
    batchSize: z.number().int().min(1).max(1000).default(64),
    /** Open incidents remembered (labels, startsAt) for re-sends; the least recently updated goes first. */
    maxIncidents: z.number().int().min(1).default(10_000),
    /** `basic` reads KUBETRIAGE_ALERTMANAGER_USERNAME/_PASSWORD, `bearer` reads KUBETRIAGE_ALERTMANAGER_TOKEN. */
    auth: z.enum(['none', 'basic', 'bearer']).default('none'),
    /** PEM file of the CA that signed the Alertmanagers' certificates (https); null: the system's CAs. */
    tlsCaFile: z.string().min(1).nullable().default(null),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.enabled && a.urls.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['urls'],
        message: 'enabled needs at least one Alertmanager URL',
      });
    for (const k of Object.keys(a.labels))
      if ((ALERT_OWN_LABELS as readonly string[]).includes(k))
        ctx.addIssue({ code: 'custom', path: ['labels', k], message: `"${k}" is set by kubetriage` });
    if (a.retry.maxBackoff < a.retry.initialBackoff)
      ctx.addIssue({ code: 'custom', path: ['retry', 'maxBackoff'], message: 'smaller than initialBackoff' });
  });

export type AlertmanagerConfig = z.infer<typeof alertmanagerSchema>;

export const notifySchema = z
  .object({
    alertmanager: alertmanagerSchema.prefault({}),
  })
  .strict();

export type NotifyConfig = z.infer<typeof notifySchema>;

/** The alertmanager section with defaults applied (tests, wiring). */
export function alertmanagerConfig(raw: z.input<typeof alertmanagerSchema> = {}): AlertmanagerConfig {
  return alertmanagerSchema.parse(raw);
}
