// Restart counters (`increase` anomaly rules) counted from the samples seen, whatever order they arrive
// in. The Collector's kafka exporter with partition_metrics_by_resource_attributes hashes every resource
// attribute, and k8s_cluster's container resource changes with each restart (container.id,
// k8s.container.status.last_terminated_reason): one counter's samples hop partitions, and a consumer
// interleaves partitions as their fetches come back. Comparing each sample with the one read before it
// took a late lower sample for a counter reset and counted the next rise again (simulated cascade:
// 15 restarts of inventory in time order, 21 to 36 in other interleavings).
//
// So a series is kept as its runs in sample-time order (a run: consecutive samples of one value and
// termination reason, from its first sample's time to its last's), and its rises are the sum over
// neighbouring runs of `value − previous value` (at least minDelta; a drop is a counter reset and adds
// nothing, as before), each attributed to the termination reason of the run it rises into. That is a
// function of the set of samples, not of their order. A sample after the newest run (the usual case)
// adds its rise, exactly what comparing with the previous sample gave; a late one is inserted where its
// time puts it and changes the rises by the difference (negative when a rise moves to another
// termination reason, never below zero in total).
//
// Memory: the newest run of every series lives in typed arrays indexed by the series' slot
// (anomaly-series.ts), 25 bytes outside the JS heap, its termination reason as the index of an interned
// string; only series whose value ever changed (restarting containers) keep the older runs, at most
// MAX_RUNS. A sample older than the oldest run kept after trimming is ignored: it is outside
// what is remembered, and would have been compared with a sample long gone.

/** Runs kept per series (newest included): a container restarting every 5 minutes keeps 80 minutes. */
export const MAX_RUNS = 16;
// Distinct termination reasons a newest run can name (Kubernetes has a handful; telemetry is untrusted):
// beyond them a newest run's reason reads as '' (its later rises still carry their own samples' reasons).
const MAX_REASONS = 256;

interface Run {
  from: number;
  to: number;
  value: number;
  detail: string;
}

interface History {
  /** Older runs, oldest first (the newest run is in the typed arrays). */
  runs: Run[];
  /** Runs were dropped: a sample before runs[0] is ignored. */
  trimmed: boolean;
}

/** What one sample changes: the rises attributed to `detail` grow (or shrink) by `add`. */
export interface CounterIncrease {
  detail: string;
  add: number;
  /** The pair that shows it: the value risen from and to. */
  expected: number;
  observed: number;
}

export class CounterRuns {
  #from = new Float64Array(0);
  #to = new Float64Array(0);
  #value = new Float64Array(0);
  #reason = new Uint8Array(0);
  readonly #history = new Map<number, History>();
  readonly #reasons: string[] = [''];
  readonly #reasonNo = new Map<string, number>([['', 0]]);
  /** The series table's bound: slots never reach it, so the arrays need not either. */
  readonly #maxSlots: number;

  constructor(maxSlots = 1 << 30) {
    this.#maxSlots = maxSlots;
  }

  /** A new series in `slot` (a fresh one, or a reused slot: what it held before is forgotten). */
  start(slot: number, atMs: number, value: number, detail: string): void {
    if (slot >= this.#from.length) this.#grow(slot + 1);
    this.#from[slot] = atMs;
    this.#to[slot] = atMs;
    this.#value[slot] = value;
    this.#reason[slot] = this.#reasonOf(detail);
    this.#history.delete(slot);
  }

  /** The newest run's value (the series' current reading). */
  last(slot: number): number {
    return this.#value[slot]!;
  }

  /** How many runs the series in `slot` holds, the newest included. */
  runCount(slot: number): number {
    return (this.#history.get(slot)?.runs.length ?? 0) + 1;
  }

  /** A sample of the series in `slot`; returns the changes to its rises (none for most samples). */
  observe(slot: number, atMs: number, value: number, detail: string, minDelta: number): CounterIncrease[] {
    const last = this.#value[slot]!;
    const lastReason = this.#reason[slot]!;
    const lastDetail = this.#reasons[lastReason]!;
    // A reason beyond MAX_REASONS reads as '' in both: a steady series of one keeps one run.
    const sameReason = detail === lastDetail || (lastReason === 0 && this.#reasonOf(detail) === 0);
    if (value === last && sameReason && atMs >= this.#from[slot]!) {
      // The same run (a steady counter, a re-delivery): only its end may move.
      if (atMs > this.#to[slot]!) this.#to[slot] = atMs;
      return NONE;
    }
    if (atMs > this.#to[slot]!) {
      // After the newest run, as samples usually come: its rise over the newest run.
      const h = this.#historyOf(slot);
      h.runs.push({ from: this.#from[slot]!, to: this.#to[slot]!, value: last, detail: lastDetail });
      this.#trim(h);
      this.#setNewest(slot, { from: atMs, to: atMs, value, detail });
      const add = rise(last, value, minDelta);
      return add > 0 ? [{ detail, add, expected: last, observed: value }] : NONE;
    }
    return this.#insertLate(slot, { from: atMs, to: atMs, value, detail }, minDelta);
  }

  /** A sample at or before the newest run's end that is not part of it: the runs are rebuilt around it. */
  #insertLate(slot: number, sample: Run, minDelta: number): CounterIncrease[] {
    const h = this.#history.get(slot);
    const newest: Run = {
      from: this.#from[slot]!,
      to: this.#to[slot]!,
      value: this.#value[slot]!,
      detail: this.#reasons[this.#reason[slot]!]!,
    };
    const runs = h ? [...h.runs, newest] : [newest];
    if (h?.trimmed && sample.from < runs[0]!.from) return NONE;
    const before = risesByDetail(runs, minDelta);
    const next = withSample(runs, sample);
    const after = risesByDetail(next, minDelta);
    const out: CounterIncrease[] = [];
    const at = next.findIndex(
      (r) =>
        r.from <= sample.from &&
        sample.from <= r.to &&
        r.value === sample.value &&
        r.detail === sample.detail,
    );
    for (const detail of new Set([...before.keys(), ...after.keys()])) {
      const add = (after.get(detail) ?? 0) - (before.get(detail) ?? 0);
      if (add === 0) continue;
      // The neighbouring pair that shows the change: into the sample, or out of it into the next run.
      const into = next[at]!.detail === detail && at > 0;
      const [a, b] = into ? [next[at - 1]!, next[at]!] : [next[at]!, next[at + 1] ?? next[at]!];
      out.push({ detail, add, expected: a.value, observed: b.value });
    }
    const hist = this.#historyOf(slot);
    hist.runs = next.slice(0, -1);
    this.#trim(hist);
    this.#setNewest(slot, next.at(-1)!);
    return out;
  }

  #setNewest(slot: number, r: Run): void {
    this.#from[slot] = r.from;
    this.#to[slot] = r.to;
    this.#value[slot] = r.value;
    this.#reason[slot] = this.#reasonOf(r.detail);
  }

  #historyOf(slot: number): History {
    let h = this.#history.get(slot);
    if (!h) {
      h = { runs: [], trimmed: false };
      this.#history.set(slot, h);
    }
    return h;
  }

  #trim(h: History): void {
    if (h.runs.length < MAX_RUNS) return;
    h.runs.splice(0, h.runs.length - (MAX_RUNS - 1));
    h.trimmed = true;
  }

  #reasonOf(s: string): number {
    const known = this.#reasonNo.get(s);
    if (known !== undefined) return known;
    if (this.#reasons.length >= MAX_REASONS) return 0;
    this.#reasonNo.set(s, this.#reasons.length);
    this.#reasons.push(s);
    return this.#reasons.length - 1;
  }

  #grow(min: number): void {
    // Doubling, up to the table's bound, as the table's own arrays grow (anomaly-series.ts).
    const n = Math.max(min, Math.min(Math.max(1024, this.#from.length * 2), this.#maxSlots));
    this.#from = grown(this.#from, n);
    this.#to = grown(this.#to, n);
    this.#value = grown(this.#value, n);
    const reason = new Uint8Array(n);
    reason.set(this.#reason);
    this.#reason = reason;
  }
}

const NONE: CounterIncrease[] = [];

function rise(from: number, to: number, minDelta: number): number {
  const d = to - from;
  return d >= minDelta ? d : 0;
}

/** The rises between neighbouring runs, summed per termination reason of the run risen into. */
function risesByDetail(runs: readonly Run[], minDelta: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 1; i < runs.length; i++) {
    const add = rise(runs[i - 1]!.value, runs[i]!.value, minDelta);
    if (add > 0) out.set(runs[i]!.detail, (out.get(runs[i]!.detail) ?? 0) + add);
  }
  return out;
}

/**
 * The runs with one more sample: every run is its first and last sample, the sample goes where its
 * time puts it (equal times: the lower value first, then by reason), and neighbours of one value and reason merge.
 */
function withSample(runs: readonly Run[], sample: Run): Run[] {
  const points: Run[] = [];
  for (const r of runs) {
    points.push({ from: r.from, to: r.from, value: r.value, detail: r.detail });
    if (r.to !== r.from) points.push({ from: r.to, to: r.to, value: r.value, detail: r.detail });
  }
  points.push(sample);
  points.sort(
    (a, b) =>
      a.from - b.from || a.value - b.value || (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0),
  );
  const out: Run[] = [];
  for (const p of points) {
    const prev = out.at(-1);
    if (prev && prev.value === p.value && prev.detail === p.detail) prev.to = p.from;
    else out.push({ ...p });
  }
  return out;
}

function grown(old: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const next = new Float64Array(n);
  next.set(old);
  return next;
}
