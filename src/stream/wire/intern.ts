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
const slotView = new DataView(slotBytes.buffer);

/** The string of buf[start, start + len); `view`, a DataView of the whole of buf, makes the compare faster. */
export function internUtf8(buf: Buffer, start: number, len: number, view?: DataView): string {
  // The slot hashes the length and at most three 4-byte words (the first, the last, one in the
  // middle), not every byte: the full compare below is what makes a hit exact, and names that share
  // a prefix differ at their ends (pod suffixes, uids). With the byte-loop copy below: decode to
  // signals +22 % with the cache cold, +6 % warm (bench/decode-cold.ts, CPU time, median of 7 rounds).
  // Words read through the view where there is one: a hit 15–21 ns against 20–28 ns with the bytes
  // composed one by one (6–36 bytes); without a view the same words, so the same slot.
  const end = start + len;
  let h = Math.imul(len, 0x9e3779b1);
  if (len >= 4) {
    h = Math.imul(h ^ word(buf, view, start), 0x01000193);
    h = Math.imul(h ^ word(buf, view, end - 4), 0x01000193);
    if (len > 8) h = Math.imul(h ^ word(buf, view, start + ((len - 4) >>> 1)), 0x01000193);
  } else for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & MASK;
  const base = slot * INTERN_MAX;
  // Comparing the cached string's code units with the bytes instead (no byte copy per miss) made
  // interning 16 % slower warm and cold: charCodeAt loses to the Uint8Array compare.
  if (slotLen[slot] === len) {
    let i = 0;
    // Four bytes at a time where the caller has a view of buf: interning alone 1.21× cold, 1.26×
    // warm against the byte loop (strings of a bench/decode-cold.ts batch, 15 interleaved rounds).
    if (view !== undefined) {
      const words = len & ~3;
      while (i < words && slotView.getInt32(base + i) === view.getInt32(start + i)) i += 4;
      if (i < words) i = len + 1;
    }
    while (i < len && slotBytes[base + i] === buf[start + i]) i++;
    if (i === len) return slotText[slot]!;
  }
  const text = utf8Text(buf, start, end);
  slotLen[slot] = len;
  slotText[slot] = text;
  // A byte loop, not slotBytes.set(buf.subarray(…)): the subarray is an object per miss.
  for (let i = 0; i < len; i++) slotBytes[base + i] = buf[start + i]!;
  return text;
}

/** The little-endian int32 at buf[at, at + 4), through the view when there is one. */
function word(buf: Buffer, view: DataView | undefined, at: number): number {
  if (view !== undefined) return view.getInt32(at, true);
  return buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
}

/** Buffer's own UTF-8 slicer, which toString('utf8', …) calls after checking its arguments. */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(start: number, end: number): string })
  .utf8Slice;

/**
 * buf.toString('utf8', start, end) for a range already known to lie inside buf, without
 * toString's encoding switch and bounds clamping (4.9 % self time in the cold decode profile,
 * bench/decode-cold.ts --profile cold). Same bytes in, same string out, invalid UTF-8 included.
 * Decode to signals, cold cache: +5 % (bench/ab.ts decode, 7 rounds, median; warm +2 %).
 */
export function utf8Text(buf: Buffer, start: number, end: number): string {
  return utf8Slice.call(buf, start, end);
}
