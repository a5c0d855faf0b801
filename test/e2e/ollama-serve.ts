// Runs the test harness's real Ollama server (test/harness/ollama.ts: CPU-only v0.11.4 + SmolLM2-135M)
// until interrupted, for `kubetriage eval --ollama` and `node bench/agents.ts --ollama` by hand:
//
//   node test/e2e/ollama-serve.ts            # prints: OLLAMA_URL=http://127.0.0.1:PORT MODEL=smollm2-135m
//   kubetriage eval --ollama "$OLLAMA_URL" --model smollm2-135m
//
// Builds / fetches what is missing first (see the harness). Stops the server on SIGINT / SIGTERM.
import { startOllama } from '../harness/ollama.ts';

const o = await startOllama({ log: (s) => process.stderr.write(`${s}\n`) });
process.stdout.write(`OLLAMA_URL=${o.url} MODEL=${o.model}\n`);
process.stderr.write(
  `[ollama-serve] timings ms: ${JSON.stringify(Object.fromEntries(Object.entries(o.timings).map(([k, v]) => [k, Math.round(v)])))}\n`,
);
const keepAlive = setInterval(() => {}, 1 << 30);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    clearInterval(keepAlive);
    void o.stop().then(() => process.stderr.write('[ollama-serve] stopped\n'));
  });
