// The cost of redacting context documents where they leave the process (src/core/redact.ts), on the
// pipeline benchmark's own contexts: JSON.stringify alone vs Redactor.json (the memoised walk, the
// text scan only when it changed something), interleaved, best of N, in one process so a loaded machine skews both alike.
// Also the same documents with a credential planted in every one (every document walked).
//   node --expose-gc bench/redact-cost.ts
import { validateConfig } from '../src/core/config.ts';
import { Redactor } from '../src/core/redact.ts';
import { ManualClock } from '../src/stream/clock.ts';
import type { IncidentContextDoc } from '../src/stream/incidents/document.ts';
import { Pipeline } from '../src/stream/pipeline.ts';
import { NamePatternResolver } from '../src/stream/workload.ts';
import { feedLogBatches } from './lib/feed.ts';
import { logsStream } from './lib/fixtures.ts';

const RECORDS = 40 * 1000;
const batches = logsStream(40, 1000, 0);

/**
 * The contexts of one pipeline pass, built afresh: their strings have never been hashed, as in a
 * running process (documents reused across passes would make every later pass's memo lookups cheap).
 */
function contexts(): IncidentContextDoc[] {
  const docs: IncidentContextDoc[] = [];
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
  const p = new Pipeline({
    config: validateConfig({ grouping: { groupWait: '10s', groupInterval: '10s' } }),
    clock,
    resolver: new NamePatternResolver(),
    sink: (d) => docs.push(d),
  });
  feedLogBatches(p, clock, batches);
  return docs;
}

function planted(docs: IncidentContextDoc[]): IncidentContextDoc[] {
  return docs.map((d) => ({
    ...d,
    evidence: d.evidence.map((e, i) =>
      i === 0 ? { ...e, summary: `${e.summary} password=Hunter2-Hunter2 postgres://u:p4ss@db:5432/x` } : e,
    ),
  }));
}

/** Best of `reps` passes, each over fresh documents (built untimed); `fn` is timed alone. */
function best(make: () => IncidentContextDoc[], fn: (docs: IncidentContextDoc[]) => void, reps = 9): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const docs = make();
    globalThis.gc?.();
    const t0 = performance.now();
    fn(docs);
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

// One redactor for the whole run, as the process has: its memo lives across passes.
const r = new Redactor();
const docs = contexts();
const bytes = docs.reduce((n, d) => n + JSON.stringify(d).length, 0);
const plain = best(contexts, (ds) => {
  for (const d of ds) JSON.stringify(d);
});
const clean = best(contexts, (ds) => {
  for (const d of ds) r.json(d, 'context');
});
const plainDirty = best(
  () => planted(contexts()),
  (ds) => {
    for (const d of ds) JSON.stringify(d);
  },
);
const walked = best(
  () => planted(contexts()),
  (ds) => {
    for (const d of ds) r.json(d, 'context');
  },
);
const us = (ms: number) => ((ms * 1000) / docs.length).toFixed(1);
process.stdout.write(
  [
    `${docs.length} contexts (${(bytes / docs.length / 1024).toFixed(1)} KiB each on average) from ${RECORDS} records`,
    '| documents | JSON.stringify µs/context | redacted JSON µs/context | ratio | per record µs |',
    '|---|---:|---:|---:|---:|',
    `| clean (the usual case) | ${us(plain)} | ${us(clean)} | ${(clean / plain).toFixed(2)} | ${(((clean - plain) * 1000) / RECORDS).toFixed(2)} |`,
    `| one credential each | ${us(plainDirty)} | ${us(walked)} | ${(walked / plainDirty).toFixed(2)} | ${(((walked - plainDirty) * 1000) / RECORDS).toFixed(2)} |`,
    '',
  ].join('\n'),
);
