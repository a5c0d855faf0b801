// A FAKE of Ollama's HTTP API (not Ollama): a real loopback socket (node:http, port 0) that speaks the
// non-streaming `/api/chat` wire format, so the real `ollama` npm client and our fetch wrapper are
// exercised end to end. Each test scripts the replies; every request body is recorded.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  format: Record<string, unknown>;
  stream: boolean;
  options: Record<string, unknown>;
  /** Which agent asked, from the format's title ("kubetriage diagnosis"). */
  agent: string;
}

export type FakeReply =
  /** A normal answer whose message.content is this value, JSON-encoded (or the string as-is). */
  | { content: unknown; raw?: false }
  /** message.content exactly this string (e.g. malformed JSON). */
  | { content: string; raw: true }
  | { status: number; text: string }
  /** Never answers (until the fake closes). */
  | { hang: true }
  /** Sends headers and half the body, then stalls. */
  | { trickle: unknown };

export type FakeHandler = (req: FakeChatRequest) => FakeReply;

export function chatResponse(model: string, content: string): Record<string, unknown> {
  return {
    model,
    created_at: new Date(Date.UTC(2026, 10, 28, 10, 0, 0)).toISOString(),
    message: { role: 'assistant', content },
    done: true,
    done_reason: 'stop',
    total_duration: 1_234_567,
    load_duration: 12_345,
    prompt_eval_count: 512,
    prompt_eval_duration: 100_000,
    eval_count: 64,
    eval_duration: 200_000,
  };
}

export class FakeOllama {
  readonly requests: FakeChatRequest[] = [];
  handler: FakeHandler = () => ({ status: 500, text: 'no handler' });
  readonly #server: Server;
  readonly #open = new Set<ServerResponse>();
  #waiters: { n: number; resolve: () => void }[] = [];
  #stalled = 0;
  #stallWaiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Forgets recorded requests and stalls (between tests); stalled replies stay stalled until close. */
  reset(): void {
    this.requests.length = 0;
    this.#stalled = 0;
    this.#waiters = [];
    this.#stallWaiters = [];
  }

  calls(agent?: string): number {
    return agent ? this.requests.filter((r) => r.agent === agent).length : this.requests.length;
  }

  /** Resolves once `n` requests have arrived in total. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Resolves once `n` replies are stalled (hung or trickling). */
  waitForStalls(n: number): Promise<void> {
    if (this.#stalled >= n) return Promise.resolve();
    return new Promise((resolve) => this.#stallWaiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #settle(
    waiters: { n: number; resolve: () => void }[],
    count: number,
  ): { n: number; resolve: () => void }[] {
    const left = [];
    for (const w of waiters) {
      if (count >= w.n) w.resolve();
      else left.push(w);
    }
    return left;
  }

  #stall(res: ServerResponse): void {
    this.#open.add(res);
    this.#stalled++;
    this.#stallWaiters = this.#settle(this.#stallWaiters, this.#stalled);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/chat') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<FakeChatRequest, 'agent'>;
      const title = String((body.format as { title?: unknown })?.title ?? '');
      const r: FakeChatRequest = { ...body, agent: title.replace(/^kubetriage /, '') || 'unknown' };
      this.requests.push(r);
      this.#waiters = this.#settle(this.#waiters, this.requests.length);
      const reply = this.handler(r);
      if ('hang' in reply) return this.#stall(res);
      if ('status' in reply) {
        res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8' }).end(reply.text);
        return;
      }
      const json = (content: unknown, raw: boolean) =>
        JSON.stringify(chatResponse(r.model, raw ? (content as string) : JSON.stringify(content)));
      if ('trickle' in reply) {
        const text = json(reply.trickle, false);
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.write(text.slice(0, text.length >> 1));
        return this.#stall(res);
      }
      res
        .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
        .end(json(reply.content, reply.raw === true));
    });
  }
}
