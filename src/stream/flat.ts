/**
 * A flat copy of a string built by concatenation, for keys that long-lived caches hold.
 *
 * V8 keeps `a + b` (and template literals) as a tree of cons cells, 32 bytes each plus every piece,
 * and a Map key stays that tree for as long as the entry lives. With 100k metric series and 10k
 * incidents those trees were the largest part of the heap (bench/memory.ts heap snapshot at 5,000 pods:
 * 647k cons strings, 20.7 MB of 75 MB). JSON round-tripping is the one portable way to get a new
 * sequential string; it costs ~0.2 µs, so call it where a new entry is stored, never per lookup.
 */
export function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
