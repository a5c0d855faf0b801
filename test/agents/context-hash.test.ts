import assert from 'node:assert/strict';
import { it } from 'node:test';
import { contextHash } from '../../src/agents/chain.ts';
import type { IncidentContextDoc } from '../../src/stream/incidents/document.ts';
import { logsRecord, POD_ATTRS } from '../helpers/otlp.ts';
import { testPipeline } from '../helpers/pipeline.ts';

it('provenance alone (more sources, a truncation mark) does not change what the agents judge', () => {
  const t = testPipeline({ floors: { enabled: false } });
  const at = t.clock.now();
  t.feed(
    'otlp_logs',
    logsRecord([
      {
        attrs: POD_ATTRS('shop', 'api', 'api-7d9f8c6b5-x2kqz'),
        records: [
          {
            timeUnixNano: String(BigInt(at) * 1_000_000n),
            severityNumber: 17,
            body: { stringValue: 'boom' },
          },
        ],
      },
    ]),
  );
  t.pipeline.flushAll();
  const doc = t.docs.at(-1) as IncidentContextDoc;
  const truncated: IncidentContextDoc = {
    ...doc,
    sources: doc.sources.map((s) => ({
      ...s,
      ranges: [[1, 1], ...s.ranges],
      dropped: { ranges: 3, offsets: 9 },
    })),
    sourcesTruncated: true,
  };
  assert.equal(contextHash(truncated), contextHash(doc));
});
