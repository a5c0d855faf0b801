// scripts/build-js.ts (the build-step start-up variant bench/startup.ts measures): the emitted dist/
// runs the real CLI, and an import it could not rewrite fails the build instead of the start.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildJs, toJavaScript } from '../../scripts/build-js.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('scripts/build-js.ts', () => {
  // Inside the repository (packages resolve up the tree), in the gitignored dist/.
  const out = join(ROOT, 'dist', `.test-${process.pid}`);
  after(() => rmSync(out, { recursive: true, force: true }));

  test('emits JavaScript that starts the CLI without type stripping', () => {
    const n = buildJs(out);
    assert.ok(n > 100, `${n} modules`);
    const main = readFileSync(join(out, 'src/cli/main.js'), 'utf8');
    assert.match(main, /import\('\.\/run-command\.js'\)/);
    assert.doesNotMatch(main, /: Command\b|\.ts'/);
    assert.ok(existsSync(join(out, 'src/page/assets/page.css')), 'the page assets are copied');
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    const env = { ...process.env, KUBETRIAGE_COMPILE_CACHE: 'off' };
    // --no-experimental-strip-types: a .ts module left in the graph would fail to load.
    const run = (...args: string[]) =>
      execFileSync(
        process.execPath,
        ['--no-experimental-strip-types', join(out, 'bin/kubetriage.js'), ...args],
        {
          env,
          encoding: 'utf8',
        },
      );
    assert.equal(run('--version').trim(), version);
    assert.match(run('--help'), /Commands:[\s\S]*\brun\b[\s\S]*\breplay\b/);
  });

  test('rewrites relative .ts specifiers and refuses one it cannot', () => {
    assert.equal(
      toJavaScript("import { a } from './a.ts';\nconst b = await import('../b.ts');\n", 'x.ts'),
      "import { a } from './a.js';\nconst b = await import('../b.js');\n",
    );
    assert.equal(toJavaScript("import type { T } from './t.ts';\nexport {};\n", 'x.ts').trim(), 'export {};');
    assert.throws(() => toJavaScript("const p = './c.ts';\n", 'x.ts'), /x\.ts: a relative \.ts specifier/);
    assert.throws(() => buildJs(join(ROOT, '..', 'elsewhere')), /must be a folder inside/);
  });
});
