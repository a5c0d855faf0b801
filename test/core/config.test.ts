import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, validateConfig } from '../../src/core/config.ts';
import { KubetriageError } from '../../src/core/errors.ts';

function writeTmp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kt-config-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('config', () => {
  it('has working defaults (Collector topic names, Alertmanager-like timing)', () => {
    const c = validateConfig({});
    assert.deepEqual(c.kafka.topics.logs, ['otlp_logs']);
    assert.deepEqual(c.kafka.topics.traces, ['otlp_spans']);
    assert.equal(c.kafka.topics.dlq, 'kubetriage-dlq');
    assert.equal(c.grouping.groupWait, 30_000);
    assert.equal(c.grouping.resolveTimeout, 300_000);
    assert.ok(c.anomalies.some((a) => a.name === 'restarts-rising' && a.evidence === 'restart'));
  });

  it('loads the documented example config/kubetriage.yaml', () => {
    const c = loadConfig(new URL('../../config/kubetriage.yaml', import.meta.url).pathname, {});
    assert.deepEqual(c.kafka.topics.logs, ['otel-logs']);
    assert.equal(c.anomalies.length, 4);
  });

  it('names the bad key in its error', () => {
    const f = writeTmp('bad.yaml', 'grouping:\n  groupWait: soon\nkafka:\n  brokerz: [x]\n');
    assert.throws(
      () => loadConfig(f, {}),
      (err: unknown) =>
        err instanceof KubetriageError &&
        err.code === 'CONFIG_INVALID' &&
        /grouping\.groupWait: "soon" is not a duration/.test(err.message) &&
        /kafka: Unrecognized key: "brokerz"/.test(err.message),
    );
  });

  it('rejects an anomaly rule that cannot work, naming the rule path', () => {
    assert.throws(
      () => validateConfig({ anomalies: [{ name: 'x', metrics: ['m'], detect: 'below_ratio' }] }),
      /anomalies\.0\.ratioTo: below_ratio needs ratioTo/,
    );
  });

  it('reports YAML syntax errors with the file name', () => {
    const f = writeTmp('broken.yaml', 'kafka: [unclosed\n');
    assert.throws(() => loadConfig(f, {}), /broken\.yaml is not valid YAML/);
  });

  it('applies the reference Deployment env overrides', () => {
    const c = loadConfig(undefined, {
      KAFKA_BROKERS: 'a:9092, b:9092',
      INCIDENT_TOPIC: 'otel-logs',
      OUTPUT_TOPIC: 'ctx',
    });
    assert.deepEqual(c.kafka.brokers, ['a:9092', 'b:9092']);
    assert.deepEqual(c.kafka.topics.logs, ['otel-logs']);
    assert.equal(c.kafka.topics.contexts, 'ctx');
  });
});
