// A direct-mapped string cache for short, repetitive strings on the decode hot path (attribute keys,
// reasons, kinds, namespaces, node and pod names). Telemetry repeats the same few thousand short
// strings millions of times; hashing and comparing the bytes in JS is cheaper than crossing into C++
// to build a new string each time, and it spares the GC the copies. Bounded: 4096 slots of at most
// 48 bytes; a miss simply overwrites its slot, so the cache adapts as pods come and go.
// Measured in bench/decode.ts (compare runs with INTERN_MAX = 0).

const SLOTS = 4096;
const MASK = SLOTS - 1;
/** Longer strings (uids, messages) are rarely repeated byte for byte: decoded directly. */
export const INTERN_MAX = 48;

const slotText: (string | undefined)[] = new Array(SLOTS).fill(undefined);
const slotLen = new Int32Array(SLOTS).fill(-1);
const slotBytes = new Uint8Array(SLOTS * INTERN_MAX);

export function internUtf8(buf: Buffer, start: number, len: number): string {
  let h = 0x811c9dc5;
  for (let i = start, end = start + len; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & MASK;
  const base = slot * INTERN_MAX;
  if (slotLen[slot] === len) {
    let i = 0;
    while (i < len && slotBytes[base + i] === buf[start + i]) i++;
    if (i === len) return slotText[slot]!;
  }
  const text = buf.toString('utf8', start, start + len);
  slotLen[slot] = len;
  slotText[slot] = text;
  slotBytes.set(buf.subarray(start, start + len), base);
  return text;
}
