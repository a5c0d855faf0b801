// Redactor.json walks first and scans the JSON text only when the walk changed something (a speed-up,
// issue 18). It must write exactly what the scan-first path wrote — for every context of every
// simulator scenario, and for documents with credentials planted in them — and count the same.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { type RedactOutput, Redactor } from '../../src/core/redact.ts';
import { mayHoldCredential, PERSONAL_TRIGGER } from '../../src/core/redact-patterns.ts';
import { getScenario, scenarioNames } from '../../src/sim/scenarios/index.ts';
import { replay } from '../../src/stream/replay.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';

/** The scan-first path as it was: the whole JSON text pre-checked, the walk only when it may match. */
function scanFirst(r: Redactor, value: unknown, output: RedactOutput, personal: boolean): string {
  const text = JSON.stringify(value);
  if (!r.enabled || text === undefined) return text;
  const probe = text.includes('#') ? text.replace(/#/g, '0') : text;
  if (!mayHoldCredential(text) && !(personal && PERSONAL_TRIGGER.test(probe))) return text;
  return JSON.stringify(r.deep(value, output));
}

async function scenarioContexts(name: string): Promise<unknown[]> {
  const run = getScenario(name).generate({ seed: 1 });
  const docs: unknown[] = [];
  async function* records() {
    yield* run.records;
  }
  await replay({
    input: records(),
    config: validateConfig({}),
    resolver: new NamePatternResolver(),
    onContext: (doc) => docs.push(doc),
  });
  return docs;
}

/** The same document with credentials and personal data in a message, a key and a secret-named field. */
function planted(doc: unknown, i: number): unknown {
  const d = doc as { evidence: Record<string, unknown>[] };
  return {
    ...d,
    evidence: d.evidence.map((e, j) =>
      j === i % Math.max(1, d.evidence.length)
        ? {
            ...e,
            summary: `${e.summary} password=Hunter2-Hunter2 postgres://u:p4ss@db:5432/x ops@example.com 10.0.0.1`,
            refs: { ...(e.refs as object), apiKey: 'AKIAIOSFODNN7EXAMPLE', 'token=abc123def456': 1 },
          }
        : e,
    ),
  };
}

function compare(docs: unknown[], output: RedactOutput, personal: boolean): number {
  const walkFirst = new Redactor();
  const reference = new Redactor();
  let changed = 0;
  for (const doc of docs) {
    const a = walkFirst.json(doc, output);
    const b = scanFirst(reference, doc, output, personal);
    assert.equal(a, b);
    if (a !== JSON.stringify(doc)) changed++;
  }
  assert.deepEqual([...walkFirst.stats], [...reference.stats]);
  return changed;
}

describe('Redactor.json: byte for byte the scan-first path', () => {
  for (const name of scenarioNames()) {
    it(`${name}: every context, as emitted and with credentials planted`, async () => {
      const docs = await scenarioContexts(name);
      // The quiet scenarios raise nothing; every other one must give this comparison documents.
      if (!name.startsWith('quiet') && name !== 'noise-only') assert.ok(docs.length > 0, 'contexts');
      compare(docs, 'context', false);
      compare(docs, 'llm', true);
      if (docs.length === 0) return;
      const dirty = docs.map(planted);
      assert.equal(compare(dirty, 'context', false), dirty.length, 'every planted document is redacted');
      compare(dirty, 'llm', true);
    });
  }

  it('an Error inside a document is written as JSON.stringify writes it unless the text needs redaction', () => {
    const r = new Redactor();
    const doc = { note: 'fine', err: new Error('password=Hunter2-Hunter2') };
    assert.equal(r.json(doc, 'context'), JSON.stringify(doc));
    const dirty = { note: 'password=Hunter2-Hunter2', err: new Error('boom') };
    assert.equal(r.json(dirty, 'context'), scanFirst(new Redactor(), dirty, 'context', false));
  });
});
