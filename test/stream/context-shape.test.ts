import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { getScenario, listScenarios } from '../../src/sim/scenarios/index.ts';
import { formatCaptureLine } from '../../src/stream/capture.ts';
import { contextShapeProblem } from '../../src/stream/incidents/context-shape.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { Incident } from '../../src/stream/incidents/incident.ts';
import { OffsetLedger } from '../../src/stream/offsets.ts';
import { replay } from '../../src/stream/replay.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';

// The shape check guards restore against records that are no context; it must never refuse one the
// pipeline wrote. Every revision of every simulated scenario's incidents passes it and restores.

describe('context shape check', () => {
  it('accepts every context the pipeline writes in the simulated scenarios, and each one restores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-shape-'));
    const ledger = new OffsetLedger();
    let checked = 0;
    for (const scenario of listScenarios()) {
      const file = join(dir, `${scenario.name}.ndjson`);
      writeFileSync(
        file,
        `${getScenario(scenario.name).generate({ seed: 1 }).records.map(formatCaptureLine).join('\n')}\n`,
      );
      const docs: IncidentContextDoc[] = [];
      await replay({
        input: file,
        config: validateConfig({}),
        resolver: new NamePatternResolver(),
        onContext: (d) => docs.push(JSON.parse(JSON.stringify(d))),
      });
      for (const d of docs) {
        assert.equal(contextShapeProblem(d), undefined, `${scenario.name} ${d.id} r${d.revision}`);
        Incident.fromDoc(d, Date.now(), 60_000, (t, p) => ledger.partition(t, p));
        checked++;
      }
    }
    assert.ok(checked > 20, `${checked} contexts checked`);
  });

  it('names what is wrong with a record that is no usable context', () => {
    const cases: [unknown, string][] = [
      [[1, 2], 'foreign'],
      [{ resourceLogs: [] }, 'foreign'],
      [{ schema: 'kubetriage.io/incident-context/v2', id: 'inc-00000000000000000000' }, 'wrong_version'],
      [{ schema: 'kubetriage.io/incident-context/v1', id: 'inc-1' }, 'malformed'],
    ];
    for (const [doc, reason] of cases)
      assert.equal(contextShapeProblem(doc)?.reason, reason, JSON.stringify(doc));
  });
});
