// The `page` config section (src/page): the incident page served on the HTTP port. Defaults live here.
import { z } from 'zod';
import { duration } from './config-duration.ts';

export const pageSchema = z
  .object({
    /** On by default: it only reads what the service already holds, on the port that already listens. */
    enabled: z.boolean().default(true),
    /**
     * The page's address as people reach it (https://kubetriage.example.com): links in Slack messages
     * and Alertmanager annotations point to `<externalUrl>/incidents/<id>`. null: no links are added.
     */
    externalUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), { message: 'an http:// or https:// URL' })
      .nullable()
      .default(null),
    /** Resolved incidents stay on the list this long after they resolved (data clock). */
    resolvedRetention: duration('24h'),
    /** Incidents held for the page; the least recently updated goes first. */
    maxIncidents: z.number().int().min(1).default(2000),
    /** How long an approver stays signed in on the page (a shift's quiet stretch, not days). */
    sessionTtl: duration('1h'),
    /** Live-update (server-sent events) connections at most; beyond them 503 and pages stay static. */
    maxLiveClients: z.number().int().min(1).default(200),
    /** A comment line on idle live-update connections this often, so proxies do not cut them. */
    heartbeat: duration('25s'),
    /**
     * Where the page's incidents come from. `local`: what this process produced (and its audit file).
     * `kafka`: the contexts, triage and (replicated approvals) proposals topics, read in full by every
     * replica, so a link that lands on any replica shows the incident. `auto`: kafka with scale-out or
     * replicated approvals (several replicas behind one Service), else local (one process holds it all).
     */
    source: z.enum(['auto', 'local', 'kafka']).default('auto'),
  })
  .strict();

export type PageConfig = z.infer<typeof pageSchema>;

/** The page link for an incident, or undefined without page.externalUrl. */
export function incidentPageUrl(externalUrl: string | null, incident: string): string | undefined {
  if (!externalUrl) return undefined;
  return `${externalUrl.replace(/\/+$/, '')}/incidents/${encodeURIComponent(incident)}`;
}
