// A direct-mapped string cache for short, repetitive strings on the decode hot path (attribute keys,
// reasons, kinds, namespaces, node and pod names). Telemetry repeats the same few thousand short
// strings millions of times; hashing and comparing the bytes in JS is cheaper than crossing into C++
// to build a new string each time, and it spares the GC the copies. Bounded: 4096 slots of at most
// 48 bytes; a string that misses its slot twice in a row takes it over, so the cache adapts as pods
// come and go while one-off strings (uids, unique names) pass through without evicting anything.
// Measured in bench/decode.ts (compare runs with INTERN_MAX = 0).

const SLOTS = 4096;
const SLOT_SHIFT = 32 - 12; // log2(SLOTS)
/** Longer strings (uids, messages) are rarely repeated byte for byte: decoded directly. */
export const INTERN_MAX = 48;

const slotText: (string | undefined)[] = new Array(SLOTS).fill(undefined);
const slotLen = new Int32Array(SLOTS).fill(-1);
/** The hash of the last string that missed the slot and was not cached: cached on its second miss. */
const slotPending = new Int32Array(SLOTS);
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
  // The slot is the hash's top 12 bits: they depend on every hashed byte, where the low bits hardly
  // saw the last byte (node-0…node-9 shared slots; 1106 misses in a warm 1000-record batch's 10620
  // lookups, now 241; counted with a counter patched in, bench/ab.ts's batches). With the admission
  // below, decode to signals in separate processes (`node bench/ab-decode-procs.ts <base> . 9`, CPU,
  // medians): warm 1.09× (min 0.96, max 1.32), cold 1.05× (min 0.88, max 1.36); an earlier 7-round
  // run 1.13×, 1.11× (the top bits alone: warm 1.15×, cold 1.01×). In one process (`node bench/ab.ts decode`, 21 rounds)
  // the side named second reads slower when the two differ: base→this warm 1.03×, cold 0.87×;
  // this→base base at warm 0.87×, cold 0.81×; both orders together warm 1.09×, cold 1.04×.
  const slot = h >>> SLOT_SHIFT;
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
  // Cached on its second miss in a row: a cold batch's one-off strings (2794 of its 10446 lookups)
  // neither evict a slot's string nor pay the byte copy, nor stay alive in the cache for the GC.
  if (slotPending[slot] !== h) {
    slotPending[slot] = h;
    return text;
  }
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
