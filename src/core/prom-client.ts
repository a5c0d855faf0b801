// prom-client, loaded on first use. With its dependencies (tdigest, bintrees, @opentelemetry/api) it
// is about 60 ms of every start-up, and `replay`, `eval` and `demo` never export a metric: only a
// process that builds a registry (`run`) loads it. require() keeps the callers synchronous.
import { createRequire } from 'node:module';

type PromClient = typeof import('prom-client');

const require = createRequire(import.meta.url);
let lib: PromClient | undefined;

export function promClient(): PromClient {
  lib ??= require('prom-client') as PromClient;
  return lib;
}
