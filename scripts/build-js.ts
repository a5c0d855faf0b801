// Emits JavaScript once into dist/ (gitignored), for measuring start-up without type stripping:
// every src/**/*.ts and bin/*.js through Node's own module.stripTypeScriptTypes (no other toolchain),
// relative `.ts` import specifiers rewritten to `.js`, other files under src/ (the page's assets)
// copied, package.json copied (its "type": "module" and version) and proto/ linked, so the paths that
// src/ reads next to itself resolve the same from dist/. Start it with `node dist/bin/kubetriage.js`.
// Not the default: bench/startup.ts measures it beside the compile cache (README, "Start-up").
// Run: node scripts/build-js.ts [--out DIR]
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;

/** `from './x.ts'`, `import './x.ts'`, `import('./x.ts')` with a relative specifier; types are gone by then. */
const RELATIVE_TS = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]+)\.ts\2/g;

export function toJavaScript(source: string, file: string): string {
  const js = file.endsWith('.ts') ? stripTypeScriptTypes(source, { mode: 'strip' }) : source;
  const out = js.replace(
    RELATIVE_TS,
    (_m, lead: string, q: string, spec: string) => `${lead}${q}${spec}.js${q}`,
  );
  // A specifier the pattern missed would fail at run time (ERR_UNKNOWN_FILE_EXTENSION): fail here instead.
  const left = /(['"])\.{1,2}\/[^'"\n]+\.ts\1/.exec(out.replace(/^\s*\/\/.*$/gm, ''));
  if (left) throw new Error(`${file}: a relative .ts specifier was not rewritten: ${left[0]}`);
  return out;
}

function emitTree(from: string, to: string): number {
  let count = 0;
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    if (entry.isDirectory()) {
      count += emitTree(src, join(to, entry.name));
      continue;
    }
    mkdirSync(to, { recursive: true });
    if (entry.name.endsWith('.ts') || entry.name.endsWith('.js')) {
      const name = entry.name.replace(/\.ts$/, '.js');
      writeFileSync(join(to, name), toJavaScript(readFileSync(src, 'utf8'), relative(ROOT, src)));
      count++;
    } else copyFileSync(src, join(to, entry.name));
  }
  return count;
}

export function buildJs(out: string): number {
  // dist/src/... resolves packages up the tree, so out must sit inside the repository (and out is
  // emptied first: never a folder outside it, never the repository itself).
  const rel = relative(ROOT, out);
  if (!rel || rel.startsWith('..')) throw new Error(`--out must be a folder inside ${ROOT}`);
  rmSync(out, { recursive: true, force: true });
  const count = emitTree(join(ROOT, 'src'), join(out, 'src')) + emitTree(join(ROOT, 'bin'), join(out, 'bin'));
  copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  symlinkSync(relative(out, join(ROOT, 'proto')), join(out, 'proto'));
  return count;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist') } } });
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  const n = buildJs(out);
  process.stdout.write(`${n} modules → ${relative(process.cwd(), out) || '.'}\n`);
}
