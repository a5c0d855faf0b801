// A fetch for the agent chain that forwards every request to the REAL Ollama server and records what
// went out and what came back: which agent and incident asked, when the call started and when its body
// had been read, the model's raw message content, and how many calls were in flight at once. Nothing is
// answered here: every reply is the real server's, from the real model.
//
// A test may rewrite a request on its way (`rewrite`): drop `format` (a server that ignores structured
// output), or swap it for a grammar that forces the real model to say something our validators must
// reject (a model or server that goes outside the schema we asked for).
import type { ChatMessage } from '../../src/agents/llm/prompt.ts';

export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  format?: Record<string, unknown>;
  stream: boolean;
  options: Record<string, unknown>;
  /** The OpenAI-compatible request (/v1/chat/completions) carries these instead of format/options. */
  response_format?: {
    type: string;
    json_schema?: { name: string; schema: Record<string, unknown>; strict?: boolean };
  };
  max_tokens?: number;
}

export interface RecordedCall {
  /** From the format's title ("kubetriage diagnosis" → diagnosis); `unknown` when it was stripped. */
  agent: string;
  /** From the prompt's first line ("Incident <id> revision <n>, …"). */
  incident: string;
  revision: number;
  /** The request body as the chain sent it (before any stripping). */
  request: ChatRequestBody;
  /** performance.now() when the request was handed to fetch, and when its body had been read. */
  start: number;
  end: number;
  status?: number;
  /** message.content of the server's answer (the model's raw output). */
  content?: string;
  promptTokens?: number;
  outputTokens?: number;
  doneReason?: string;
  /** The request failed before an answer was read (abort, refused connection): its error name. */
  error?: string;
}

export interface RecorderOptions {
  /** Changes the request body before it is forwarded (the recorded `request` is the original). */
  rewrite?: (body: ChatRequestBody, agent: string) => ChatRequestBody;
}

/** A rewrite that removes `format`: the server then generates free text (a server that ignores it). */
export function stripFormat({ format: _dropped, ...rest }: ChatRequestBody): ChatRequestBody {
  return rest;
}

export class OllamaRecorder {
  readonly calls: RecordedCall[] = [];
  #inFlight = 0;
  #maxInFlight = 0;
  readonly #opts: RecorderOptions;

  constructor(opts: RecorderOptions = {}) {
    this.#opts = opts;
  }

  /** Most requests that were in flight (sent, body not yet read) at the same moment. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  /** Calls for one incident / agent. */
  of(incident: string, agent?: string): RecordedCall[] {
    return this.calls.filter((c) => c.incident === incident && (agent === undefined || c.agent === agent));
  }

  /** Pairs of recorded calls whose [start, end] intervals overlap. */
  overlaps(): [RecordedCall, RecordedCall][] {
    const sorted = [...this.calls].sort((a, b) => a.start - b.start);
    const out: [RecordedCall, RecordedCall][] = [];
    for (let i = 0; i < sorted.length; i++)
      for (let j = i + 1; j < sorted.length; j++) {
        const a = sorted[i]!;
        const b = sorted[j]!;
        if (b.start < a.end) out.push([a, b]);
      }
    return out;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const request = JSON.parse(String(init?.body ?? '{}')) as ChatRequestBody;
    const user = request.messages?.find((m) => m.role === 'user')?.content ?? '';
    const m = /^Incident (\S+) revision (\d+)/.exec(user);
    const schema = request.format ?? request.response_format?.json_schema?.schema;
    const title = String((schema as { title?: unknown } | undefined)?.title ?? '');
    const call: RecordedCall = {
      agent: title.replace(/^kubetriage /, '') || 'unknown',
      incident: m?.[1] ?? '?',
      revision: Number(m?.[2] ?? -1),
      request,
      start: performance.now(),
      end: Number.NaN,
    };
    this.calls.push(call);
    this.#inFlight++;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
    try {
      const rewrite = this.#opts.rewrite;
      const forwarded = rewrite
        ? { ...init, body: JSON.stringify(rewrite(structuredClone(request), call.agent)) }
        : init;
      const res = await fetch(input, forwarded);
      // Read the whole body here, so the interval covers the complete answer.
      const text = await res.text();
      call.status = res.status;
      try {
        const j = JSON.parse(text) as {
          message?: { content?: string };
          prompt_eval_count?: number;
          eval_count?: number;
          done_reason?: string;
          // OpenAI-compatible answers.
          choices?: { message?: { content?: string }; finish_reason?: string }[];
          usage?: { prompt_tokens?: number; completion_tokens?: number };
        };
        const choice = j.choices?.[0];
        const content = j.message?.content ?? choice?.message?.content;
        if (typeof content === 'string') call.content = content;
        const promptTokens = j.prompt_eval_count ?? j.usage?.prompt_tokens;
        const outputTokens = j.eval_count ?? j.usage?.completion_tokens;
        const doneReason = j.done_reason ?? choice?.finish_reason;
        if (promptTokens !== undefined) call.promptTokens = promptTokens;
        if (outputTokens !== undefined) call.outputTokens = outputTokens;
        if (doneReason !== undefined) call.doneReason = doneReason;
      } catch {
        // Not JSON: the chain classifies it (bad_response).
      }
      return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      call.error = (err as Error)?.name ?? String(err);
      throw err;
    } finally {
      call.end = performance.now();
      this.#inFlight--;
    }
  };
}
