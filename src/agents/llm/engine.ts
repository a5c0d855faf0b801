// Every model call goes through here: circuit breaker, rate limit, concurrency limit with a bounded
// queue, and one deadline that covers waiting for a slot, the request and reading the answer.
// Returns data, never throws: the caller keeps the rules result on any failure.
import type { AgentsConfig } from '../../core/config.ts';
import type { AgentName } from '../report.ts';
import { realTimers, type Timers } from '../timers.ts';
import type { ChatBackend, ChatUsage } from './backend.ts';
import { CircuitBreaker } from './breaker.ts';
import { OllamaChat } from './client.ts';
import { ENDPOINT_FAILURES, failure, type LlmFailure } from './failure.ts';
import { Semaphore, TokenBucket } from './limits.ts';
import { OpenAIChat } from './openai-client.ts';
import type { ChatMessage } from './prompt.ts';

export type AskOutcome = { ok: true; value: unknown; usage?: ChatUsage } | LlmFailure;

export interface LlmEngineOptions {
  timers?: Timers;
  fetch?: typeof fetch;
  /** Called once per request that actually goes out (tests and metrics). */
  onCall?: (agent: AgentName) => void;
  /** The environment the API key is read from (process.env otherwise). */
  env?: Record<string, string | undefined>;
}

/** The backend `agents.llm.provider` names; the key comes from the environment, never the config file. */
export function chatBackend(
  cfg: AgentsConfig['llm'] & { url: string },
  opts: Pick<LlmEngineOptions, 'fetch' | 'env'> = {},
): ChatBackend {
  const common = {
    url: cfg.url,
    model: cfg.model,
    maxOutputTokens: cfg.maxOutputTokens,
    temperature: cfg.temperature,
    maxResponseBytes: cfg.maxResponseBytes,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  };
  if (cfg.provider === 'openai')
    return new OpenAIChat({ ...common, apiKey: (opts.env ?? process.env)[cfg.apiKeyEnv] });
  return new OllamaChat(common);
}

export class LlmEngine {
  readonly model: string;
  readonly agents: ReadonlySet<AgentName>;
  readonly breaker: CircuitBreaker;
  readonly provider: ChatBackend['provider'];
  readonly #chat: ChatBackend;
  readonly #bucket: TokenBucket;
  readonly #slots: Semaphore;
  readonly #timers: Timers;
  readonly #timeoutMs: number;
  readonly #onCall: ((agent: AgentName) => void) | undefined;

  constructor(cfg: AgentsConfig['llm'] & { url: string }, opts: LlmEngineOptions = {}) {
    this.#timers = opts.timers ?? realTimers;
    const now = () => this.#timers.now();
    this.model = cfg.model;
    this.agents = new Set(cfg.agents);
    this.#chat = chatBackend(cfg, opts);
    this.provider = this.#chat.provider;
    this.breaker = new CircuitBreaker(cfg.breaker.failures, cfg.breaker.cooldown, now);
    this.#bucket = new TokenBucket(cfg.ratePerMinute, cfg.burst, now);
    this.#slots = new Semaphore(cfg.maxConcurrent, cfg.maxQueue);
    this.#timeoutMs = cfg.timeout;
    this.#onCall = opts.onCall;
  }

  get inFlight(): number {
    return this.#slots.active;
  }

  async ask(agent: AgentName, messages: ChatMessage[], format: Record<string, unknown>): Promise<AskOutcome> {
    if (!this.breaker.canTry()) return failure('circuit_open', 'circuit breaker open');
    const deadline = new AbortController();
    const finished = new AbortController();
    void this.#timers.sleep(this.#timeoutMs, finished.signal).then((elapsed) => {
      if (elapsed) deadline.abort();
    });
    try {
      const slot = await this.#slots.acquire(deadline.signal);
      if (!slot.ok)
        return slot.why === 'full'
          ? failure('overloaded', 'too many model calls waiting')
          : failure('timeout', 'deadline passed while waiting for a free slot');
      try {
        // Checked again: the breaker may have opened while this call waited.
        if (!this.breaker.canTry()) return failure('circuit_open', 'circuit breaker open');
        if (!this.#bucket.take()) return failure('rate_limited', 'over agents.llm.ratePerMinute');
        this.breaker.begin();
        this.#onCall?.(agent);
        const out = await this.#chat.chat(messages, format, deadline.signal);
        const parsed = out.ok ? parseContent(out.content) : out;
        const result: AskOutcome = out.ok && parsed.ok ? { ...parsed, usage: out.usage } : parsed;
        if (!result.ok && ENDPOINT_FAILURES.has(result.kind)) this.breaker.failure();
        else this.breaker.success();
        return result;
      } finally {
        slot.release();
      }
    } finally {
      finished.abort();
    }
  }
}

function parseContent(content: string): AskOutcome {
  try {
    return { ok: true, value: JSON.parse(content) };
  } catch (err) {
    return failure('malformed_json', `model output is not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
}
