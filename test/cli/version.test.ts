// `kubetriage --version` prints package.json's version (what the image and the Helm chart's appVersion name).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

test('kubetriage --version prints the version in package.json', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const out = execFileSync(process.execPath, ['bin/kubetriage.js', '--version'], { encoding: 'utf8' });
  assert.equal(out.trim(), pkg.version);
});
