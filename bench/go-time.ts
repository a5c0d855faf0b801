// k8s.event.start_time to epoch ms, distinct strings (a real cluster's Events each have their own start
// time, so goTimeMs's one-entry memo rarely hits): the hand reader against the regex + Date.parse it
// replaced, rounds alternated, ns per string (CPU time of this process).
//   node bench/go-time.ts [rounds]
import { goTimeMs } from '../src/stream/normalise/events.ts';

const GO_TIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([+-])(\d\d)(\d\d)\b/;
function regexMs(v: string): number {
  if (!v) return 0;
  const m = GO_TIME.exec(v);
  const ms = Date.parse(m ? `${m[1]}T${m[2]}${m[3]}${m[4]}:${m[5]}` : v);
  return Number.isNaN(ms) || ms <= 0 ? 0 : ms;
}

const rounds = Number(process.argv[2] ?? 11);
const t0 = Date.UTC(2026, 10, 28);
// Go's time.Time.String() of a metav1.Time: whole seconds, UTC.
const inputs = Array.from({ length: 100_000 }, (_, i) =>
  new Date(t0 + i * 1777)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' +0000 UTC'),
);
const cpuNs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
};
function nsPer(fn: (v: string) => number): number {
  let sink = 0;
  const start = cpuNs();
  for (const v of inputs) sink += fn(v);
  const ns = (cpuNs() - start) / inputs.length;
  if (sink === 0) throw new Error('no times read');
  return ns;
}
for (const v of inputs) if (goTimeMs(v) !== regexMs(v)) throw new Error(`differs on ${v}`);
const old: number[] = [];
const hand: number[] = [];
for (let r = 0; r < rounds; r++) {
  old.push(nsPer(regexMs));
  hand.push(nsPer(goTimeMs));
}
const stats = (xs: number[], digits = 0, unit = ' ns') => {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => `${x.toFixed(digits)}${unit}`;
  return `median ${f(s[s.length >> 1]!)} (min ${f(s[0]!)}, max ${f(s.at(-1)!)})`;
};
console.log(`regex + Date.parse: ${stats(old)}`);
console.log(`hand reader:        ${stats(hand)}`);
console.log(
  `speed-up:           ${stats(
    old.map((x, i) => x / hand[i]!),
    2,
    '×',
  )}`,
);
