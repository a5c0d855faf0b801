// The incident page's own Kafka feed (page.source kafka): with several replicas behind one Service, a
// link from Slack lands on any of them, and each must show every incident. So every replica reads the
// contexts and triage topics (and, with replicated approvals, the proposals topic: each proposal's
// chain) from a point in the past and follows them live. It assigns every partition itself (no group,
// no commits: it is a view, not a consumer of work) and looks for new topics and partitions now and
// then. Records that are not ours or are damaged are skipped with a metric and a sampled log line.
import { hostname } from 'node:os';
import kafka from '@confluentinc/kafka-javascript';
import type { Registry } from 'prom-client';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { decodeProposalRecord } from '../exec/proposal-record.ts';
import { contextShapeProblem } from '../stream/incidents/context-shape.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import { consumerConfig, type RdKafkaConfig } from '../stream/kafka/client-config.ts';
import { type PageFeedMetrics, pageFeedMetrics } from './metrics.ts';
import { decodeReport } from './report-shape.ts';
import type { IncidentStore } from './store.ts';

const { KafkaConsumer } = kafka;

export type FeedKind = 'contexts' | 'triage' | 'proposals';

export interface PageFeedOptions {
  /** consumerConfig(config.kafka): brokers, security, fetch sizes. */
  kafka: RdKafkaConfig;
  /** The topics to follow; proposals only with replicated approvals. */
  topics: Partial<Record<FeedKind, string>>;
  /** Records older than this (record timestamp) are not read at start. */
  sinceMs: number;
  store: IncidentStore;
  log: Logger;
  registry?: Registry | undefined;
  /** Topics created later and partitions added are looked for this often. */
  discoverMs?: number;
}

/** Skipped records logged one by one per kind; beyond these only the metric counts them. */
const LOGGED_SKIPS = 10;

function promisify<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

interface Skip {
  reason: string;
  detail: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class PageFeed {
  readonly #o: PageFeedOptions;
  readonly #m: PageFeedMetrics;
  readonly #kinds = new Map<string, FeedKind>();
  /** Next offset to read per `topic\0partition`. */
  readonly #next = new Map<string, number>();
  /** Where each partition ended when it was first found: reaching them all is "caught up". */
  readonly #behind = new Map<string, number>();
  readonly #logged = new Map<FeedKind, number>();
  #consumer: kafka.KafkaConsumer | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #started = 0;
  #caughtUp = false;
  /** Ends the current wait between tries at once (close). */
  #wake: () => void = () => {};

  constructor(o: PageFeedOptions) {
    this.#o = o;
    this.#m = pageFeedMetrics(o.registry);
    for (const [kind, topic] of Object.entries(o.topics) as [FeedKind, string | undefined][])
      if (topic) this.#kinds.set(topic, kind);
  }

  /** Starts reading in the background; never throws (the broker may be away: it keeps trying). */
  start(): void {
    this.#running = true;
    this.#started = performance.now();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    let nextDiscover = 0;
    let failures = 0;
    while (this.#running) {
      try {
        if (!this.#consumer) this.#consumer = await this.#connect();
        if (performance.now() >= nextDiscover) {
          const every = this.#o.discoverMs ?? 30_000;
          // A topic not there yet (nothing written to it so far) is looked for again soon.
          const complete = await this.#discover(this.#consumer);
          nextDiscover = performance.now() + (complete ? every : Math.min(every, 2_000));
        }
        if (this.#next.size === 0) {
          await this.#pause(500);
          continue;
        }
        const consumer = this.#consumer;
        const msgs = await promisify<kafka.Message[]>((cb) => consumer.consume(500, cb as never));
        for (const m of msgs) this.#take(m);
        failures = 0;
      } catch (err) {
        if (!this.#running) break;
        // 1 s, 2 s, 4 s … 30 s: a broker away for long is one log line every 30 s, not a flood.
        const wait = Math.min(30_000, 1000 * 2 ** failures++);
        this.#o.log.warn(
          { err: (err as Error).message, retryInMs: wait },
          'page feed: reading Kafka failed; retrying',
        );
        await this.#pause(wait);
      }
    }
  }

  async #connect(): Promise<kafka.KafkaConsumer> {
    const consumer = new KafkaConsumer(
      {
        ...this.#o.kafka,
        // Never joins or commits: the id only satisfies librdkafka.
        'group.id': `kubetriage-page-${hostname()}-${process.pid}`,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
      } as never,
      {},
    );
    try {
      await promisify<unknown>((cb) => consumer.connect({ timeout: 30_000 } as never, cb as never));
    } catch (err) {
      // Each try makes a new client: this one must not linger (threads, sockets) while the broker is away.
      await Promise.race([new Promise<void>((r) => consumer.disconnect(() => r())), sleep(5_000)]);
      throw err;
    }
    consumer.setDefaultConsumeTimeout(500);
    // The first record is waited for, then what is already fetched is taken: live updates stay prompt.
    (
      consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    return consumer;
  }

  /** New topics and partitions: each starts at the first record since `sinceMs`. */
  async #discover(consumer: kafka.KafkaConsumer): Promise<boolean> {
    let added = 0;
    let complete = true;
    for (const [topic, kind] of this.#kinds) {
      try {
        added += await this.#discoverTopic(consumer, topic, kind);
      } catch (err) {
        complete = false;
        // Not there yet, or its leader is moving: looked for again at the next round.
        this.#o.log.debug({ topic, err: (err as Error).message }, 'page feed: topic not readable yet');
      }
    }
    for (const topic of this.#kinds.keys())
      if (![...this.#next.keys()].some((k) => k.startsWith(`${topic}\0`))) complete = false;
    if (added === 0) return complete;
    // The whole assignment again, at the offsets reached: the partitions already followed go on.
    consumer.assign(
      [...this.#next].map(([key, offset]) => {
        const [topic, partition] = key.split('\0') as [string, string];
        return { topic, partition: Number(partition), offset };
      }),
    );
    this.#o.log.info(
      { partitions: this.#next.size, added, since: new Date(this.#o.sinceMs).toISOString() },
      'page feed: following the topics',
    );
    this.#checkCaughtUp();
    return complete;
  }

  /** A topic's partitions not followed yet, added (all of them or none); how many. */
  async #discoverTopic(consumer: kafka.KafkaConsumer, topic: string, kind: FeedKind): Promise<number> {
    const meta = await promisify<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) =>
      consumer.getMetadata({ topic, timeout: 10_000 } as never, cb as never),
    );
    const ids = (meta.topics.find((t) => t.name === topic)?.partitions ?? []).map((p) => p.id);
    const fresh = ids.filter((p) => !this.#next.has(`${topic}\0${p}`));
    if (fresh.length === 0) return 0;
    const starts = await promisify<{ partition: number; offset: number }[]>((cb) =>
      consumer.offsetsForTimes(
        fresh.map((partition) => ({ topic, partition, offset: this.#o.sinceMs })),
        10_000,
        cb as never,
      ),
    );
    const found: [string, number, number][] = [];
    for (const partition of fresh) {
      const w = await promisify<{ lowOffset: number; highOffset: number }>((cb) =>
        consumer.queryWatermarkOffsets(topic, partition, 10_000, cb as never),
      );
      const s = starts.find((x) => x.partition === partition)?.offset ?? -1;
      // offsetsForTimes answers -1 when nothing is that new.
      const start = s < 0 ? w.highOffset : Math.max(s, w.lowOffset);
      found.push([`${topic}\0${partition}`, start, w.highOffset]);
    }
    for (const [key, start, end] of found) {
      this.#next.set(key, start);
      if (end > start) this.#behind.set(key, end);
    }
    this.#m.partitions.set({ kind }, ids.length);
    return found.length;
  }

  #take(m: kafka.Message): void {
    const key = `${m.topic}\0${m.partition}`;
    const next = this.#next.get(key);
    // Fetched before a re-assignment and fetched again after it: once is enough.
    if (next === undefined || m.offset < next) return;
    this.#next.set(key, m.offset + 1);
    const end = this.#behind.get(key);
    if (end !== undefined && m.offset + 1 >= end) {
      this.#behind.delete(key);
      this.#checkCaughtUp();
    }
    const kind = this.#kinds.get(m.topic);
    if (!kind) return;
    this.#m.records.inc({ kind });
    let problem: Skip | undefined;
    try {
      problem = this.#apply(kind, m);
    } catch (err) {
      // Shaped right, still unusable: one record, never the feed.
      problem = { reason: 'unusable', detail: (err as Error).message.slice(0, 200) };
    }
    if (problem) this.#skip(kind, problem.reason, problem.detail, m);
  }

  /** Hands the record to the store; what is wrong with it when it is not ours or damaged. */
  #apply(kind: FeedKind, m: kafka.Message): Skip | undefined {
    const value = m.value ?? undefined;
    if (kind === 'triage') {
      const d = decodeReport(value);
      if (!d.ok) return d;
      this.#o.store.onReport(d.report);
      return undefined;
    }
    if (kind === 'proposals') {
      const d = decodeProposalRecord((m.key ?? null) as Buffer | string | null, value ?? null);
      if (!d.ok) return d;
      this.#o.store.onProposalChain(d.record.proposal, d.record.entries);
      return undefined;
    }
    if (!value || value.length === 0) return { reason: 'empty', detail: 'no value (a tombstone)' };
    let v: unknown;
    try {
      v = JSON.parse(value.toString('utf8'));
    } catch (err) {
      return { reason: 'not_json', detail: (err as Error).message.slice(0, 200) };
    }
    const problem = contextShapeProblem(v);
    if (problem) return problem;
    const t = (v as { timings?: { updated?: unknown; firstSignal?: unknown } }).timings;
    // The page also reads when it started and was last updated.
    if (typeof t?.updated !== 'string' || typeof t.firstSignal !== 'string')
      return { reason: 'malformed', detail: 'timings' };
    this.#o.store.onContext(v as IncidentContextDoc);
    return undefined;
  }

  #skip(kind: FeedKind, reason: string, detail: string, m: kafka.Message): void {
    this.#m.skipped.inc({ kind, reason });
    const n = (this.#logged.get(kind) ?? 0) + 1;
    this.#logged.set(kind, n);
    if (n <= LOGGED_SKIPS)
      this.#o.log.warn(
        { topic: m.topic, partition: m.partition, offset: m.offset, reason, detail },
        `page feed: skipped a record (not ours or damaged)${n === LOGGED_SKIPS ? '; further ones are only counted (kubetriage_page_feed_skipped_total)' : ''}`,
      );
  }

  #checkCaughtUp(): void {
    if (this.#behind.size > 0 || this.#caughtUp) return;
    this.#caughtUp = true;
    this.#m.caughtUp.set(1);
    this.#o.log.info(
      { seconds: Number(((performance.now() - this.#started) / 1000).toFixed(2)) },
      'page feed: caught up',
    );
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Stops reading and disconnects (bounded: librdkafka's close may wait for an absent broker). */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#running = false;
    this.#wake();
    await Promise.race([this.#loop?.catch(() => {}), sleep(timeoutMs)]);
    const c = this.#consumer;
    if (!c) return;
    await Promise.race([new Promise<void>((resolve) => c.disconnect(() => resolve())), sleep(timeoutMs)]);
  }
}

/** Where the page's incidents come from: page.source, `auto` resolved (kafka with several replicas). */
export function pageSourceOf(config: Config): 'local' | 'kafka' {
  if (config.page.source !== 'auto') return config.page.source;
  // Several replicas (scale-out or replicated approvals): each one shows every replica's incidents.
  if (config.scaleOut.enabled) return 'kafka';
  return config.exec.enabled && config.exec.replicated.commandsTopic ? 'kafka' : 'local';
}

/** The feed `run` starts for page.source kafka, or undefined for local. */
export function pageFeedFor(
  config: Config,
  store: IncidentStore,
  log: Logger,
  registry?: Registry,
): PageFeed | undefined {
  if (pageSourceOf(config) !== 'kafka') return undefined;
  const replicated = config.exec.enabled && config.exec.replicated.commandsTopic !== null;
  return new PageFeed({
    kafka: consumerConfig(config.kafka),
    topics: {
      contexts: config.kafka.topics.contexts,
      triage: config.kafka.topics.triage,
      ...(replicated ? { proposals: config.exec.replicated.proposalsTopic } : {}),
    },
    // What the list shows (resolved incidents for resolvedRetention) and every incident still open
    // that the stream stage itself would restore.
    sinceMs: Date.now() - Math.max(config.page.resolvedRetention, config.grouping.restoreLookback),
    store,
    log: log.child({ stage: 'page' }),
    registry,
  });
}
