// What the incident page does, for /metrics.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface PageMetrics {
  views: Counter<'view'>;
  decisions: Counter<'action' | 'result'>;
  refused: Counter<'reason'>;
  signIns: Counter<'result'>;
  liveClients: Gauge;
}

export function pageMetrics(registry?: Registry): PageMetrics {
  const registers = registry ? [registry] : [];
  return {
    views: new Counter({
      name: 'kubetriage_page_views_total',
      help: 'Incident page views by view (list, incident, not_found)',
      labelNames: ['view'],
      registers,
    }),
    decisions: new Counter({
      name: 'kubetriage_page_decisions_total',
      help: 'Approve, reject and roll back pressed on the incident page, by action and outcome code',
      labelNames: ['action', 'result'],
      registers,
    }),
    refused: new Counter({
      name: 'kubetriage_page_refused_total',
      help: 'State-changing page requests refused before any decision, by reason (cross_site, no_session, csrf, forbidden, bad_request)',
      labelNames: ['reason'],
      registers,
    }),
    signIns: new Counter({
      name: 'kubetriage_page_sign_ins_total',
      help: 'Sign-ins on the incident page by result (ok, refused, error)',
      labelNames: ['result'],
      registers,
    }),
    liveClients: new Gauge({
      name: 'kubetriage_page_live_clients',
      help: 'Browsers connected for live updates (server-sent events)',
      registers,
    }),
  };
}
