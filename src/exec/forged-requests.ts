// Requests to /slack/interactions whose signature fails are counted, never audited one by one: an
// unauthenticated sender must not be able to grow the ledger or make us fsync per request. Per
// interval, one `forged_requests` entry sums them: count, reasons, and the busiest source addresses
// (truncated, at most MAX_SOURCES). Nothing the sender claimed (user ids, bodies) is kept.
import { Counter, type Registry } from 'prom-client';

export interface ForgedSummary {
  count: number;
  from: string;
  to: string;
  reasons: Record<string, number>;
  sources: Record<string, number>;
  /** Requests from addresses beyond the first MAX_SOURCES. */
  otherSources: number;
  /** Of them, answered 429 by the rate limit. */
  rateLimited: number;
}

const MAX_SOURCES = 10;
/** An IPv6 address is at most 45 characters; a longer "address" is not one. */
const MAX_SOURCE_CHARS = 45;

export class ForgedRequests {
  readonly #now: () => number;
  readonly #record: (s: ForgedSummary) => void;
  readonly #metric: Counter;
  readonly #timer: NodeJS.Timeout | undefined;
  #window: ForgedSummary | null = null;
  #sources = new Map<string, number>();

  constructor(o: {
    intervalMs: number;
    record: (s: ForgedSummary) => void;
    now?: () => number;
    registry?: Registry;
  }) {
    this.#now = o.now ?? Date.now;
    this.#record = o.record;
    this.#metric = new Counter({
      name: 'kubetriage_exec_forged_requests_total',
      help: 'Slack interaction requests refused before any processing, by reason (signature mismatch/stale/future/missing, rate_limited)',
      labelNames: ['reason'],
      registers: o.registry ? [o.registry] : [],
    });
    if (o.intervalMs > 0) {
      this.#timer = setInterval(() => this.flush(), o.intervalMs);
      this.#timer.unref();
    }
  }

  /** One refused request. Cheap: a counter and a map bounded by MAX_SOURCES. */
  count(reason: string, source: string | undefined, rateLimited = false): void {
    this.#metric.inc({ reason: rateLimited ? 'rate_limited' : reason });
    const at = new Date(this.#now()).toISOString();
    this.#window ??= {
      count: 0,
      from: at,
      to: at,
      reasons: {},
      sources: {},
      otherSources: 0,
      rateLimited: 0,
    };
    const w = this.#window;
    w.count++;
    w.to = at;
    w.reasons[reason] = (w.reasons[reason] ?? 0) + 1;
    if (rateLimited) w.rateLimited++;
    const src = (source ?? 'unknown').slice(0, MAX_SOURCE_CHARS);
    const n = this.#sources.get(src);
    if (n !== undefined) this.#sources.set(src, n + 1);
    else if (this.#sources.size < MAX_SOURCES) this.#sources.set(src, 1);
    else w.otherSources++;
  }

  /** Records the interval's summary (if anything was refused) and starts a new one. */
  flush(): void {
    const w = this.#window;
    if (!w) return;
    w.sources = Object.fromEntries(this.#sources);
    this.#window = null;
    this.#sources = new Map();
    this.#record(w);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.flush();
  }
}
