#!/usr/bin/env node
// Runs the TypeScript sources directly: Node >= 22.18 strips types natively, so no build step.
// Node's module compile cache keeps the compiled (and type-stripped) modules on disk: start-up CPU of
// `kubetriage --help` 0.64 → 0.34 and `run` → ready 0.77 → 0.48 CPU-seconds on the 2-core dev machine
// (bench/startup.ts; emitting JavaScript once, scripts/build-js.ts, gives 0.44 warm, 0.49 off). Cache
// directory: KUBETRIAGE_COMPILE_CACHE (a path, or `off`), else $XDG_CACHE_HOME/kubetriage/compile-cache,
// else <os.tmpdir()>/kubetriage-compile-cache; a directory that cannot be written only costs the speed-up.
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const setting = process.env.KUBETRIAGE_COMPILE_CACHE;
if (setting !== 'off' && typeof module.enableCompileCache === 'function') {
  const xdg = process.env.XDG_CACHE_HOME;
  module.enableCompileCache(
    setting || (xdg ? join(xdg, 'kubetriage', 'compile-cache') : join(tmpdir(), 'kubetriage-compile-cache')),
  );
}

// Imported after the cache is on: static imports would be compiled before this module's body runs.
const { main } = await import('../src/cli/main.ts');

main(process.argv).catch((err) => {
  process.stderr.write(`kubetriage: ${err?.message ?? err}\n`);
  process.exit(1);
});
