// Tracing off costs nothing: no OpenTelemetry package is even resolved unless tracing.enabled (checked
// in a child process with a module resolve hook, so nothing else this test runner loaded counts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const CHILD = new URL('./tracing-lazy-child.ts', import.meta.url).pathname;

async function loadedWith(cfg: object): Promise<{ enabled: boolean; loaded: string[] }> {
  const r = await promisify(execFile)(process.execPath, [CHILD, JSON.stringify(cfg)]);
  return JSON.parse(r.stdout);
}

describe('tracing is loaded lazily', () => {
  it('off: no @opentelemetry package is resolved', async () => {
    assert.deepEqual(await loadedWith({ enabled: false, endpoint: null, serviceName: 'x' }), {
      enabled: false,
      loaded: [],
    });
  });
  it('on: the SDK and the OTLP exporter are loaded (the measure is not vacuous)', async () => {
    const r = await loadedWith({ enabled: true, endpoint: 'http://127.0.0.1:1/v1/traces', serviceName: 'x' });
    assert.equal(r.enabled, true);
    for (const p of [
      '@opentelemetry/api',
      '@opentelemetry/sdk-trace',
      '@opentelemetry/exporter-trace-otlp-proto',
    ])
      assert.ok(r.loaded.includes(p), `${p} loaded: ${r.loaded.join(', ')}`);
  });
});
