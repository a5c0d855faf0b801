// `run`: each acknowledged context goes through the chain and its report is sent to the triage topic,
// keyed by incident id. The sender is injected (the CLI wires a Kafka producer) so this stage never
// imports the stream's runtime. Reports can finish out of order (a model call for revision 2 may
// outlast the rules fallback for revision 3): a report older than one already sent is dropped.
import { LRUCache } from 'lru-cache';
import type { Counter, Registry } from 'prom-client';
import type { Logger } from '../core/logger.ts';
import { promClient } from '../core/prom-client.ts';
import { redactor } from '../core/redact.ts';
import { settledWithin } from '../core/settle.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import type { TriageChain } from './chain.ts';
import type { TriageReport } from './report.ts';

export interface TriagePublisherOptions {
  chain: TriageChain;
  /** Resolves when the report is durable (e.g. acknowledged by the broker). */
  send: (key: string, value: Buffer) => Promise<unknown>;
  log: Logger;
  registry?: Registry;
  /** Reports being computed or sent at once; beyond this a context is skipped (counted). */
  maxPending?: number;
  /** Incidents whose last sent revision is remembered (for the out-of-order check). */
  maxIncidents?: number;
}

export class TriagePublisher {
  readonly #chain: TriageChain;
  readonly #send: (key: string, value: Buffer) => Promise<unknown>;
  readonly #log: Logger;
  readonly #maxPending: number;
  readonly #sent: LRUCache<string, number>;
  readonly #pending = new Set<Promise<void>>();
  readonly #published: Counter;

  constructor(opts: TriagePublisherOptions) {
    this.#chain = opts.chain;
    this.#send = opts.send;
    this.#log = opts.log;
    this.#maxPending = opts.maxPending ?? 1000;
    this.#sent = new LRUCache({ max: opts.maxIncidents ?? 50_000 });
    this.#published = new (promClient().Counter)({
      name: 'kubetriage_triage_published_total',
      help: 'Triage reports sent to the triage topic, by result (sent, stale, skipped, failed)',
      labelNames: ['result'],
      registers: opts.registry ? [opts.registry] : [],
    });
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** The StreamService onContext hook: never throws, never blocks the consume loop. */
  onContext(doc: IncidentContextDoc): void {
    if (this.#pending.size >= this.#maxPending) {
      this.#published.inc({ result: 'skipped' });
      this.#log.warn({ incident: doc.id, revision: doc.revision }, 'triage backlog full: report skipped');
      return;
    }
    const p: Promise<void> = this.#chain
      .triage(doc)
      .then((report) => this.#publish(report))
      .catch((err: Error) => {
        this.#published.inc({ result: 'failed' });
        this.#log.error({ err: err.message, incident: doc.id, revision: doc.revision }, 'triage failed');
      })
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #publish(report: TriageReport): Promise<void> {
    const last = this.#sent.get(report.incident);
    if (last !== undefined && last >= report.revision) {
      this.#published.inc({ result: 'stale' });
      return;
    }
    this.#sent.set(report.incident, report.revision);
    // Explanations quote evidence: redacted on the way out (and so is the Slack message built from it).
    await this.#send(report.incident, Buffer.from(redactor().json(report, 'report')));
    this.#published.inc({ result: 'sent' });
  }

  /** Waits for reports in flight (at shutdown); true when all finished within the timeout. */
  drain(timeoutMs: number): Promise<boolean> {
    return settledWithin(Promise.allSettled([...this.#pending]), timeoutMs);
  }
}
