// contextJson reuses the redaction verdict of evidence parts that did not change since an earlier
// revision (issue 18). It must write exactly what redactor.json writes for every revision, count the
// same redactions, and never let a secret through: one arriving in a later revision, or one in a part
// that stays the same from revision to revision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/core/config.ts';
import { Redactor } from '../../src/core/redact.ts';
import { getScenario, scenarioNames } from '../../src/sim/scenarios/index.ts';
import { contextJson } from '../../src/stream/incidents/context-json.ts';
import { blankUpdate, type EvidenceUpdate } from '../../src/stream/incidents/evidence.ts';
import { Incident } from '../../src/stream/incidents/incident.ts';
import { replay } from '../../src/stream/replay.ts';
import { NamePatternResolver } from '../../src/stream/workload.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const SECRET = 'AKIAIOSFODNN7EXAMPLE';

function eventUpdate(uid: string, count: number, message: string, podUid = 'pod-uid-1'): EvidenceUpdate {
  const u = blankUpdate('k8s_event', 'k8s_event|Pod/api-1|BackOff', T0 + count * 1000, `BackOff: ${message}`);
  u.eventUid = uid;
  u.eventCount = count;
  u.message = message;
  u.object = { kind: 'Pod', name: 'api-1', uid: podUid };
  u.pod = 'api-1';
  return u;
}

function incident(): Incident {
  return new Incident(
    { cluster: 'c', namespace: 'shop', workload: { kind: 'Deployment', name: 'api' } },
    T0,
    T0,
    0,
  );
}

/** The next revision's document, serialised both ways; returns contextJson's text. */
function both(inc: Incident, reusing: Redactor, plain: Redactor): string {
  inc.revision++;
  const doc = inc.toDocument(T0 + inc.revision * 10_000);
  const text = contextJson(doc, reusing);
  assert.equal(text, plain.json(doc, 'context'));
  return text;
}

describe('contextJson: redactor.json byte for byte, verdicts reused across revisions', () => {
  for (const name of scenarioNames()) {
    it(`${name}: every revision as emitted, same redaction counts`, async () => {
      const reusing = new Redactor();
      const plain = new Redactor();
      let n = 0;
      async function* records() {
        yield* getScenario(name).generate({ seed: 1 }).records;
      }
      await replay({
        input: records(),
        config: validateConfig({}),
        resolver: new NamePatternResolver(),
        onContext: (doc) => {
          n++;
          assert.equal(contextJson(doc, reusing), plain.json(doc, 'context'));
        },
      });
      if (!name.startsWith('quiet') && name !== 'noise-only') assert.ok(n > 0, 'contexts');
      assert.deepEqual([...reusing.stats], [...plain.stats]);
    });
  }

  it('a secret arriving in a later revision of an unchanged item is redacted', () => {
    const reusing = new Redactor();
    const plain = new Redactor();
    const inc = incident();
    inc.absorb(eventUpdate('ev-1', 1, 'Back-off restarting failed container'), 50);
    assert.ok(!both(inc, reusing, plain).includes('REDACTED'));
    // The same event again (nothing changes) and one more revision: the parts found clean are reused.
    inc.absorb(eventUpdate('ev-1', 1, 'Back-off restarting failed container'), 50);
    both(inc, reusing, plain);
    // A second event on the same item brings a credential in its message.
    inc.absorb(eventUpdate('ev-2', 1, `Back-off: aws_access_key_id=${SECRET}`), 50);
    const text = both(inc, reusing, plain);
    assert.ok(!text.includes(SECRET), text);
    assert.ok(text.includes('REDACTED'));
    // Later revisions keep it redacted, and count it each time, as redactor.json does.
    inc.absorb(eventUpdate('ev-1', 2, 'Back-off restarting failed container'), 50);
    assert.ok(!both(inc, reusing, plain).includes(SECRET));
    assert.deepEqual([...reusing.stats], [...plain.stats]);
    assert.ok([...reusing.stats.values()].reduce((a, b) => a + b, 0) >= 2);
  });

  it('a secret in a part that stays the same every revision is redacted in every revision', () => {
    const reusing = new Redactor();
    const plain = new Redactor();
    const inc = incident();
    // The object ref (sealed, reused while unchanged) carries the credential from the first revision on.
    inc.absorb(eventUpdate('ev-1', 1, 'Back-off restarting failed container', SECRET), 50);
    for (let i = 2; i <= 4; i++) {
      const text = both(inc, reusing, plain);
      assert.ok(!text.includes(SECRET), text);
      inc.absorb(eventUpdate('ev-1', i, 'Back-off restarting failed container', SECRET), 50);
    }
    assert.deepEqual([...reusing.stats], [...plain.stats]);
  });

  it('the scope is reused while unchanged, rebuilt (and walked) when the team changes to a secret', () => {
    const reusing = new Redactor();
    const plain = new Redactor();
    const inc = incident();
    inc.absorb(eventUpdate('ev-1', 1, 'Back-off restarting failed container'), 50);
    inc.revision++;
    const first = inc.toDocument(T0);
    contextJson(first, reusing);
    inc.revision++;
    const second = inc.toDocument(T0 + 10_000);
    assert.equal(second.scope, first.scope, 'same sealed scope while nothing in it changed');
    inc.team = `team aws_secret_access_key=${'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'}`;
    inc.teamSource = 'label:team';
    const text = both(inc, reusing, plain);
    assert.ok(!text.includes('wJalrXUtnFEMI'), text);
    assert.ok(text.includes('label:team'));
  });

  it('a redactor installed later (other patterns) does not reuse the first one’s verdicts', () => {
    const inc = incident();
    inc.absorb(eventUpdate('ev-1', 1, 'order 4711 failed for tenant acme-corp'), 50);
    const first = new Redactor();
    assert.ok(!both(inc, first, new Redactor()).includes('[REDACTED:tenant]'));
    const config = {
      enabled: true,
      patterns: [{ name: 'tenant', regex: 'acme-corp' }],
      disable: [],
      personalData: [],
    };
    const text = both(inc, new Redactor(config), new Redactor(config));
    assert.ok(text.includes('[REDACTED:tenant]'), text);
    assert.ok(!text.includes('acme-corp'));
  });
});
