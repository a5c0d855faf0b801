// @kubernetes/client-node, loaded on first use: it costs ~0.35 CPU-seconds to load even from a warm
// compile cache (bench/startup.ts), and `kubetriage --help`, `replay` and a `run` without enrichment
// never use it before ready (exec loads it with its first request, src/exec/kube-client.ts).
// require() of the ES module is synchronous, so the callers stay synchronous.
import { createRequire } from 'node:module';

type KubeClientLib = typeof import('@kubernetes/client-node');

const require = createRequire(import.meta.url);
let lib: KubeClientLib | undefined;

export function kubeClientLib(): KubeClientLib {
  lib ??= require('@kubernetes/client-node') as KubeClientLib;
  return lib;
}

/** Whether the library has been loaded in this process (start-up stays without it where it can). */
export function kubeClientLibLoaded(): boolean {
  return lib !== undefined;
}
