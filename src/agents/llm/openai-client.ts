// One chat call to an OpenAI-compatible server (vLLM, llama.cpp, LiteLLM, Ollama's /v1, OpenAI) through
// the official `openai` client: non-streaming, `response_format` with the agent's JSON schema. The same
// bounded fetch as the Ollama client carries our deadline and the body cap; the client's own retries
// and timeout are off, because the engine owns both (one deadline per call, the breaker counts failures).
import type OpenAI from 'openai';
import type { ChatBackend, ChatOutcome } from './backend.ts';
import { boundedFetch, type ChatOptions, TooLarge } from './client.ts';
import { failure, type LlmFailure } from './failure.ts';
import type { ChatMessage } from './prompt.ts';

/**
 * The `openai` package, imported on the first call: loading it costs ~0.15 CPU-seconds at start-up
 * (bench/startup.ts) and only a configured OpenAI-compatible model uses it.
 */
let openaiLib: typeof OpenAI | undefined;

export interface OpenAIChatOptions extends ChatOptions {
  /** The bearer token; local servers ignore it, so a placeholder is sent when none is configured. */
  apiKey: string | undefined;
}

/** `response_format.json_schema.name` allows [a-zA-Z0-9_-] only: "kubetriage triage" → kubetriage_triage. */
export function schemaName(format: Record<string, unknown>): string {
  const title = typeof format.title === 'string' ? format.title : 'kubetriage_answer';
  return title.replace(/[^a-zA-Z0-9_-]+/g, '_').slice(0, 64);
}

function classify(err: unknown, signal: AbortSignal): LlmFailure {
  if (signal.aborted) return failure('timeout', 'no complete answer before the deadline');
  const e = err as { message?: string; cause?: unknown };
  const cause = e?.cause as { code?: string; name?: string; message?: string } | undefined;
  if (err instanceof TooLarge || cause instanceof TooLarge)
    return failure('bad_response', (cause ?? e)?.message ?? 'too large');
  // Errors of the client's own classes can only exist once it was loaded.
  if (openaiLib && err instanceof openaiLib.APIConnectionError)
    return failure(
      'unreachable',
      `${cause?.code ?? cause?.name ?? 'connection'}: ${(cause?.message ?? e.message ?? '').slice(0, 200)}`,
    );
  if (openaiLib && err instanceof openaiLib.APIError && err.status !== undefined)
    return failure('http_error', `HTTP ${err.status}: ${(err.message ?? '').slice(0, 200)}`);
  if ((err as Error)?.name === 'SyntaxError')
    return failure('bad_response', `body is not JSON: ${(e.message ?? '').slice(0, 120)}`);
  return failure(
    'unreachable',
    `${(err as Error)?.name ?? 'error'}: ${String(e?.message ?? err).slice(0, 200)}`,
  );
}

export class OpenAIChat implements ChatBackend {
  readonly provider = 'openai' as const;
  readonly model: string;
  readonly #opts: OpenAIChatOptions;

  constructor(opts: OpenAIChatOptions) {
    this.model = opts.model;
    this.#opts = opts;
  }

  async chat(
    messages: ChatMessage[],
    format: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<ChatOutcome> {
    const o = this.#opts;
    openaiLib ??= (await import('openai')).default;
    const client = new openaiLib({
      apiKey: o.apiKey || 'unset',
      baseURL: o.url,
      maxRetries: 0,
      // The engine's deadline aborts first; this only keeps the client from adding its own 10-minute one.
      timeout: 24 * 3600_000,
      fetch: boundedFetch(o.fetch ?? fetch, signal, o.maxResponseBytes),
    });
    try {
      const res = await client.chat.completions.create(
        {
          model: o.model,
          messages,
          // strict: false because the schemas use keywords (maxLength, minItems, enums of numbers) that
          // OpenAI's strict mode refuses; servers with grammar-based decoding enforce them anyway, and
          // validate.ts checks every answer whatever the server did.
          response_format: {
            type: 'json_schema',
            json_schema: { name: schemaName(format), schema: format, strict: false },
          },
          max_tokens: o.maxOutputTokens,
          temperature: o.temperature,
          seed: 0,
          stream: false,
        },
        { signal },
      );
      const content = (res as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message
        ?.content;
      if (typeof content !== 'string')
        return failure('bad_response', 'no choices[0].message.content in the chat completion');
      return {
        ok: true,
        content,
        usage: { inputTokens: res.usage?.prompt_tokens, outputTokens: res.usage?.completion_tokens },
      };
    } catch (err) {
      return classify(err, signal);
    }
  }
}
