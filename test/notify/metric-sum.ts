// Sum of a counter in Prometheus text format over the series whose labels include `labels` (the
// notify tests read kubetriage's own /metrics and registries; no real part needed for that).
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || (m[1] !== name && m[1] !== `${name}_total`)) continue;
    const got = new Map<string, string>();
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      got.set(lm[1]!, lm[2]!);
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}
