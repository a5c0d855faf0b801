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
      help: 'Approve, reject and roll back pressed on the incident page, by action and outcome code (forwarded: sent to the replica that owns the proposal, outcome not waited for)',
      labelNames: ['action', 'result'],
      registers,
    }),
    refused: new Counter({
      name: 'kubetriage_page_refused_total',
      help: 'State-changing page requests refused before any decision, by reason (cross_site, no_session, csrf, forbidden, bad_request, not_forwarded)',
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

export interface PageFeedMetrics {
  records: Counter<'kind'>;
  skipped: Counter<'kind' | 'reason'>;
  partitions: Gauge<'kind'>;
  caughtUp: Gauge;
}

/** The page feed's (src/page/kafka-feed.ts), registered once per feed. */
export function pageFeedMetrics(registry?: Registry): PageFeedMetrics {
  const registers = registry ? [registry] : [];
  return {
    records: new Counter({
      name: 'kubetriage_page_feed_records_total',
      help: 'Records the incident page read from Kafka (page.source kafka), by kind (contexts, triage, proposals)',
      labelNames: ['kind'],
      registers,
    }),
    skipped: new Counter({
      name: 'kubetriage_page_feed_skipped_total',
      help: 'Records the incident page skipped, by kind and reason (empty, not_json, foreign, wrong_version, malformed, key_mismatch, broken_chain, unusable)',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    partitions: new Gauge({
      name: 'kubetriage_page_feed_partitions',
      help: 'Partitions the incident page follows, by kind (every partition of each topic)',
      labelNames: ['kind'],
      registers,
    }),
    caughtUp: new Gauge({
      name: 'kubetriage_page_feed_caught_up',
      help: '1 once the page feed has read every partition up to where it ended when the feed started',
      registers,
    }),
  };
}
