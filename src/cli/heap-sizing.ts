// Node sizes V8's heap from the container's memory limit. At or below 512 MiB V8 takes its low-memory
// configuration: a heap limit of ~270 MB and ~1 MB semi-spaces, and garbage collection then about
// doubles kubetriage's CPU per record (`node bench/gc-sizing.ts`, 512 MiB memory cgroup: 30.6k records
// per CPU-second at Node's defaults, 59.3k with --max-semi-space-size=16). The Helm chart sets the
// flag; other deployments get a warning at start-up.

/** Memory limits at or below this put V8 in its low-memory configuration (measured: 512 MiB yes, 600 MiB no). */
export const LOW_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;

const SEMI_SPACE_FLAG = /--max[-_]semi[-_]space[-_]size\b/;

/**
 * The warning to log when the process runs under a low memory limit with V8's young generation left
 * to Node's sizing; undefined when there is no such limit or the flag is given (argv or NODE_OPTIONS).
 * `limitBytes`: process.constrainedMemory() (0, or about 2^64, when there is no limit).
 */
export function youngGenerationWarning(
  limitBytes: number | undefined,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | undefined {
  if (!limitBytes || limitBytes > LOW_MEMORY_LIMIT_BYTES) return undefined;
  if (execArgv.some((a) => SEMI_SPACE_FLAG.test(a)) || SEMI_SPACE_FLAG.test(nodeOptions ?? ''))
    return undefined;
  return (
    `memory limit ${Math.round(limitBytes / 2 ** 20)} MiB: Node gives V8 ~1 MB semi-spaces and garbage ` +
    'collection about doubles the CPU per record; set NODE_OPTIONS=--max-semi-space-size=16 (bench/README.md "Sizing")'
  );
}
