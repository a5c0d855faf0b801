// Child of tracing-lazy.test.ts: records every module specifier resolved, runs startTracing with the
// config given in argv[2], and prints the @opentelemetry packages that were loaded.
import { registerHooks } from 'node:module';

const seen = new Set<string>();
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('@opentelemetry/')) seen.add(specifier.split('/').slice(0, 2).join('/'));
    return next(specifier, context);
  },
});
const { startTracing } = await import('../../src/core/tracing.ts');
const tracing = await startTracing(JSON.parse(process.argv[2]!), {});
tracing.span('probe', 'inc-1').end();
await tracing.shutdown();
process.stdout.write(JSON.stringify({ enabled: tracing.enabled, loaded: [...seen].sort() }));
