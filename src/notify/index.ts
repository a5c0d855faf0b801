// Notifications of triage reports beyond the triage topic: Alertmanager (API v2), so users' routes,
// receivers, silences and inhibitions apply. `run` hands every durable report to onReport.
import type { Registry } from 'prom-client';
import type { TriageReport } from '../agents/report.ts';
import type { NotifyConfig } from '../core/config-notify.ts';
import type { Logger } from '../core/logger.ts';
import { AlertmanagerNotifier } from './alertmanager-notifier.ts';

export { type AmAlert, alertFor, firstIdentity, nextIdentity } from './alertmanager-alert.ts';
export { backoffMs, postAlerts } from './alertmanager-client.ts';
export { AlertmanagerNotifier, authorizationFrom } from './alertmanager-notifier.ts';

export interface Notify {
  /** Each triage report once durable: the serialized (already redacted) report, or the object. */
  onReport(value: Buffer | TriageReport): void;
  close(timeoutMs: number): Promise<boolean>;
}

const NOOP: Notify = { onReport() {}, close: async () => true };

/** The notifiers the config enables (Alertmanager); a no-op when none is. Throws on missing secrets. */
export function wireNotify(o: {
  config: NotifyConfig;
  log: Logger;
  registry: Registry;
  env?: NodeJS.ProcessEnv;
}): Notify {
  const c = o.config.alertmanager;
  if (!c.enabled) return NOOP;
  const log = o.log.child({ stage: 'alertmanager' });
  const am = new AlertmanagerNotifier({ config: c, log, registry: o.registry, env: o.env });
  am.start();
  log.info(
    { urls: c.urls, resendInterval: c.resendInterval },
    'alertmanager: triage reports are sent as alerts',
  );
  return {
    onReport(value) {
      let report: TriageReport;
      try {
        report = Buffer.isBuffer(value) ? (JSON.parse(value.toString('utf8')) as TriageReport) : value;
      } catch (err) {
        log.error({ err: (err as Error).message }, 'alertmanager: report is not JSON');
        return;
      }
      am.onReport(report);
    },
    close: (ms) => am.close(ms),
  };
}
