// What the engine needs from a model server: one bounded chat call with a JSON-schema answer format.
// Ollama's native API (client.ts) and any OpenAI-compatible server (openai-client.ts) implement it;
// the guardrails (deadline, breaker, limits, parsing, validation) stay in engine.ts and its callers.
import type { LlmFailure } from './failure.ts';
import type { ChatMessage } from './prompt.ts';

export const LLM_PROVIDERS = ['ollama', 'openai'] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

/** Token counts as the server reported them (absent when it did not). */
export interface ChatUsage {
  inputTokens?: number;
  outputTokens?: number;
}

export type ChatOutcome = { ok: true; content: string; usage: ChatUsage } | LlmFailure;

export interface ChatBackend {
  readonly provider: LlmProvider;
  readonly model: string;
  /** Never throws: every failure is an LlmFailure. `signal` aborts the request and the body read. */
  chat(messages: ChatMessage[], format: Record<string, unknown>, signal: AbortSignal): Promise<ChatOutcome>;
}
