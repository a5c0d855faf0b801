// One chat call to Ollama through its npm client, non-streaming, with structured output (`format`).
// The client has no per-request abort or size limit for non-streaming calls, so both live in the fetch
// it is given: our signal on every request, and the body read with a byte cap.
import type { ChatBackend, ChatOutcome } from './backend.ts';
import { failure, type LlmFailure } from './failure.ts';
import type { ChatMessage } from './prompt.ts';

export interface ChatOptions {
  url: string;
  model: string;
  maxOutputTokens: number;
  temperature: number;
  maxResponseBytes: number;
  /** For tests and proxies; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class TooLarge extends Error {}

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new TooLarge(`response larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A fetch that carries `signal` on every request and reads at most `maxBytes` of each body. */
export function boundedFetch(base: typeof fetch, signal: AbortSignal, maxBytes: number): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await base(input, { ...init, signal });
    const text = await readCapped(res, maxBytes);
    const headers = { 'content-type': 'application/json' };
    // The client prints non-JSON error bodies with console.log, which would land in replay's stdout:
    // hand it JSON always.
    if (!res.ok)
      return new Response(JSON.stringify({ error: `HTTP ${res.status}: ${text.slice(0, 200)}` }), {
        status: res.status,
        statusText: res.statusText,
        headers,
      });
    return new Response(text, { status: res.status, headers });
  }) as typeof fetch;
}

function classify(err: unknown, signal: AbortSignal): LlmFailure {
  const e = err as { name?: string; message?: string; status_code?: number; cause?: { code?: string } };
  if (signal.aborted) return failure('timeout', 'no complete answer before the deadline');
  if (err instanceof TooLarge) return failure('bad_response', e.message ?? 'too large');
  if (e?.name === 'ResponseError')
    return failure('http_error', `HTTP ${e.status_code}: ${(e.message ?? '').slice(0, 200)}`);
  if (e?.name === 'SyntaxError')
    return failure('bad_response', `body is not JSON: ${(e.message ?? '').slice(0, 120)}`);
  const code = e?.cause?.code ?? '';
  return failure(
    'unreachable',
    `${code || e?.name || 'error'}: ${(e?.message ?? String(err)).slice(0, 200)}`,
  );
}

export class OllamaChat implements ChatBackend {
  readonly provider = 'ollama' as const;
  readonly model: string;
  readonly #opts: ChatOptions;

  constructor(opts: ChatOptions) {
    this.model = opts.model;
    this.#opts = opts;
  }

  async chat(
    messages: ChatMessage[],
    format: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<ChatOutcome> {
    const o = this.#opts;
    // A client per call is cheap (no connection state of its own) and carries this call's signal.
    // The library (and the fetch polyfill it brings) loads with the first call: rules-only processes
    // (`replay`, `eval`, a `run` without a model) never pay for it.
    const { Ollama } = await import('ollama');
    const client = new Ollama({
      host: o.url,
      fetch: boundedFetch(o.fetch ?? fetch, signal, o.maxResponseBytes),
    });
    try {
      const res = await client.chat({
        model: o.model,
        messages,
        format,
        stream: false,
        options: { temperature: o.temperature, num_predict: o.maxOutputTokens, seed: 0 },
      });
      const r = res as { message?: { content?: unknown }; prompt_eval_count?: number; eval_count?: number };
      const content = r?.message?.content;
      if (typeof content !== 'string')
        return failure('bad_response', 'no message.content in the chat response');
      return {
        ok: true,
        content,
        usage: { inputTokens: r.prompt_eval_count, outputTokens: r.eval_count },
      };
    } catch (err) {
      return classify(err, signal);
    }
  }
}
