// Sends triage reports to Alertmanager (every configured URL: an HA cluster dedups what it receives).
// onReport never blocks and never throws: it records the incident's latest alert and marks it due; one
// worker posts what is due in batches. Due incidents are a bounded set (a revision replaces the one still
// waiting), beyond it a report is dropped (counted) and the next re-send carries the incident anyway.
// Open alerts are re-sent every resendInterval with endsAt a few intervals ahead (see config-notify.ts).
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TriageReport } from '../agents/report.ts';
import type { AlertmanagerConfig } from '../core/config-notify.ts';
import { KubetriageError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { settledWithin } from '../core/settle.ts';
import {
  type AlertIdentity,
  type AmAlert,
  alertFor,
  firstIdentity,
  nextIdentity,
  resolvedAlert,
} from './alertmanager-alert.ts';
import { type PostOptions, postAlerts } from './alertmanager-client.ts';

/** Open alerts stay valid for this many re-send intervals (Prometheus uses 4 as well). */
const VALID_INTERVALS = 4;

interface Tracked {
  identity: AlertIdentity;
  report: TriageReport;
  /** Alerts of an older label set (an escalation re-keyed it) still to be resolved. */
  superseded: AmAlert[];
}

export interface AlertmanagerNotifierOptions {
  config: AlertmanagerConfig;
  log: Logger;
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
  /** The wall clock (Alertmanager compares endsAt with its own clock). */
  now?: () => Date;
}

/** The Authorization header from the environment, as `auth` asks; a missing secret is a start-up error. */
export function authorizationFrom(
  auth: AlertmanagerConfig['auth'],
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (auth === 'none') return undefined;
  if (auth === 'bearer') {
    const t = env.KUBETRIAGE_ALERTMANAGER_TOKEN;
    if (!t)
      throw new KubetriageError(
        'CONFIG_INVALID',
        'notify.alertmanager.auth is bearer but KUBETRIAGE_ALERTMANAGER_TOKEN is not set',
      );
    return `Bearer ${t}`;
  }
  const u = env.KUBETRIAGE_ALERTMANAGER_USERNAME;
  const p = env.KUBETRIAGE_ALERTMANAGER_PASSWORD;
  if (!u || p === undefined)
    throw new KubetriageError(
      'CONFIG_INVALID',
      'notify.alertmanager.auth is basic but KUBETRIAGE_ALERTMANAGER_USERNAME / _PASSWORD are not set',
    );
  return `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
}

export class AlertmanagerNotifier {
  readonly #c: AlertmanagerConfig;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #post: PostOptions;
  readonly #open: LRUCache<string, Tracked>;
  /** Incidents whose latest alert is waiting to be posted (insertion order = post order). */
  readonly #due = new Set<string>();
  /** Resolved alerts waiting to be posted (their incident is no longer tracked). */
  readonly #resolvedDue = new Map<string, AmAlert[]>();
  readonly #abort = new AbortController();
  readonly #posts: Counter;
  readonly #dropped: Counter;
  #worker: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(o: AlertmanagerNotifierOptions) {
    this.#c = o.config;
    this.#log = o.log;
    this.#now = o.now ?? (() => new Date());
    const env = o.env ?? process.env;
    this.#post = {
      timeoutMs: o.config.timeout,
      attempts: o.config.retry.attempts,
      initialBackoffMs: o.config.retry.initialBackoff,
      maxBackoffMs: o.config.retry.maxBackoff,
      authorization: authorizationFrom(o.config.auth, env),
      ca: o.config.tlsCaFile ? readFileSync(o.config.tlsCaFile, 'utf8') : undefined,
      signal: this.#abort.signal,
      onRetry: () => this.#posts.inc({ result: 'retried' }),
    };
    this.#open = new LRUCache({ max: o.config.maxIncidents });
    const registers = o.registry ? [o.registry] : [];
    this.#posts = new Counter({
      name: 'kubetriage_alertmanager_posts_total',
      help: 'POSTs of alerts to an Alertmanager, by result (sent, retried: a try that failed and is retried, failed: tries used up, rejected: 4xx)',
      labelNames: ['result'],
      registers,
    });
    this.#dropped = new Counter({
      name: 'kubetriage_alertmanager_dropped_total',
      help: 'Reports not queued for Alertmanager because the queue was full (the next re-send carries an open incident anyway)',
      registers,
    });
    const open = this.#open;
    new Gauge({
      name: 'kubetriage_alertmanager_open_alerts',
      help: 'Open incidents kubetriage keeps firing in Alertmanager (re-sent every resendInterval)',
      registers,
      collect() {
        this.set(open.size);
      },
    });
  }

  /** Starts the re-send loop. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.resendOpen(), this.#c.resendInterval);
    this.#timer.unref();
  }

  /** Hand it every triage report (each revision and the resolution). Never throws, never blocks. */
  onReport(r: TriageReport): void {
    if (this.#closed) return;
    try {
      this.#record(r);
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, incident: r?.incident },
        'alertmanager: report not understood',
      );
    }
  }

  #record(r: TriageReport): void {
    const prev = this.#open.get(r.incident);
    if (prev && prev.report.revision > r.revision) return; // an older revision finishing late
    let t: Tracked;
    if (!prev) t = { identity: firstIdentity(r, this.#c), report: r, superseded: [] };
    else {
      const identity = nextIdentity(prev.identity, r);
      const superseded = [...prev.superseded];
      if (identity !== prev.identity) superseded.push(resolvedAlert(this.#alert(prev), this.#now()));
      t = { identity, report: r, superseded };
    }
    const full = this.#due.size + this.#resolvedDue.size >= this.#c.queueSize;
    if (r.status === 'resolved') {
      // Resolved: sent once (with retries), then forgotten; its superseded label sets resolve with it.
      // Dropped when full: the alert then ends by itself at its endsAt (a few re-send intervals).
      this.#open.delete(r.incident);
      this.#due.delete(r.incident);
      if (full) this.#dropped.inc();
      else this.#resolvedDue.set(r.incident, [...t.superseded, this.#alert(t)]);
    } else {
      // Always remembered: a report not queued now goes with the next re-send.
      this.#open.set(r.incident, t);
      if (!this.#due.has(r.incident) && full) this.#dropped.inc();
      else this.#due.add(r.incident);
    }
    this.#kick();
  }

  #alert(t: Tracked): AmAlert {
    const validUntil = new Date(this.#now().getTime() + VALID_INTERVALS * this.#c.resendInterval);
    return alertFor(t.report, t.identity, this.#c, validUntil);
  }

  /** Marks every open incident due (the re-send loop; also callable from tests). */
  resendOpen(): void {
    for (const id of this.#open.keys()) this.#due.add(id);
    this.#kick();
  }

  #kick(): void {
    if (this.#worker || this.#closed) return;
    this.#worker = this.#drain()
      .catch((err: Error) => this.#log.error({ err: err.message }, 'alertmanager: worker failed'))
      .finally(() => {
        this.#worker = null;
        if ((this.#due.size > 0 || this.#resolvedDue.size > 0) && !this.#closed) this.#kick();
      });
  }

  /** The next batch: resolutions first (they end pages), then due open incidents. */
  #takeBatch(): AmAlert[] {
    const batch: AmAlert[] = [];
    for (const [id, alerts] of this.#resolvedDue) {
      if (batch.length >= this.#c.batchSize) break;
      batch.push(...alerts);
      this.#resolvedDue.delete(id);
    }
    for (const id of this.#due) {
      if (batch.length >= this.#c.batchSize) break;
      this.#due.delete(id);
      const t = this.#open.get(id);
      if (!t) continue;
      batch.push(...t.superseded, this.#alert(t));
      t.superseded = [];
    }
    return batch;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const batch = this.#takeBatch();
      if (batch.length === 0) return;
      await Promise.all(
        this.#c.urls.map(async (url) => {
          const out = await postAlerts(url, batch, this.#post);
          this.#posts.inc({ result: out.result });
          if (out.result !== 'sent')
            this.#log.warn(
              { url, result: out.result, attempts: out.attempts, detail: out.detail, alerts: batch.length },
              'alertmanager: alerts not delivered (open ones go again at the next re-send)',
            );
        }),
      );
    }
  }

  /**
   * Stops re-sending and waits (at most `timeoutMs`) for what is due to be posted; true when it all went.
   * At the bound, posts in flight and backoffs are aborted, so nothing keeps running after close.
   */
  async close(timeoutMs: number): Promise<boolean> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const done = (async () => {
      while (this.#worker) await this.#worker;
    })();
    const inTime = await settledWithin(done, timeoutMs);
    this.#closed = true;
    if (!inTime) {
      this.#abort.abort();
      await settledWithin(done, 1000);
    }
    return inTime;
  }
}
