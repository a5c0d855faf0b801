// The container image scripts/image/build.sh builds (the Dockerfile's equivalent, without a container
// runtime): unpacked with umoci, its configuration read from the OCI layout, and kubetriage run inside
// its root filesystem with chroot, as the image's non-root user, on a read-only root.
// The image is built by `.ci/run` (step "image") or by hand: `scripts/image/build.sh` (minutes).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const cacheRoot =
  process.env.KUBETRIAGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kubetriage');
const LAYOUT = process.env.KUBETRIAGE_IMAGE_LAYOUT ?? join(cacheRoot, 'image', 'oci');
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const TAG = process.env.IMAGE_TAG ?? VERSION;

function requireImage(): void {
  let reason = '';
  if (process.getuid?.() !== 0) reason = 'needs root (umoci unpack keeps ownership; chroot)';
  else if (!existsSync(join(LAYOUT, 'index.json')))
    reason = `no image at ${LAYOUT}: build it with \`scripts/image/build.sh\``;
  else if (!existsSync('/usr/bin/umoci'))
    reason = 'umoci is not installed (scripts/image/build.sh installs it)';
  if (!reason) return;
  // Never a silent skip: scripts/prepare-test-parts.sh (npm test, ./run test, .ci/run) builds the image.
  throw new Error(`image tests: ${reason} (bash scripts/prepare-test-parts.sh builds it)`);
}

function run(
  cmd: string,
  args: string[],
  timeout = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout, maxBuffer: 16 * 1024 * 1024, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

// The Dockerfile cannot be built here (no container runtime): hold it to what build.sh builds and these
// tests run, so the two images stay equivalent.
test('the Dockerfile and scripts/image/build.sh agree: base suite, runtime libraries, user, entrypoint', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const script = readFileSync('scripts/image/build.sh', 'utf8');
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
  const dockerPkgs = (runtime.match(/--no-install-recommends\s*\\\s*\n\s*([^\\\n]+)/)?.[1] ?? '')
    .trim()
    .split(/\s+/)
    .sort();
  const scriptPkgs = (script.match(/^RUNTIME_PKGS="([^"]+)"/m)?.[1] ?? '').split(',').sort();
  assert.ok(scriptPkgs.length >= 6, scriptPkgs.join());
  assert.deepEqual(dockerPkgs, scriptPkgs);
  const suite = script.match(/^SUITE=(\w+)/m)?.[1];
  assert.match(dockerfile, new RegExp(`^FROM debian:${suite}-slim AS runtime$`, 'm'));
  assert.match(dockerfile, new RegExp(`^FROM node:24-${suite}-slim AS build$`, 'm'));
  assert.match(dockerfile, /^USER 10001:10001$/m);
  assert.match(script, /--user 10001:10001/);
  assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/local\/bin\/node", "\/app\/bin\/kubetriage.js"\]$/m);
  assert.match(script, /--entrypoint '\["\/usr\/local\/bin\/node", "\/app\/bin\/kubetriage.js"\]'/);
  assert.match(dockerfile, /^CMD \["run"\]$/m);
});

const blob = (digest: string) => join(LAYOUT, 'blobs', ...digest.split(':'));

// Never skips: throws (failing this file with the reason) when the image or its tools are missing.
requireImage();

describe('the kubetriage image', () => {
  let dir: string;
  let rootfs: string;
  let config: {
    config: {
      User?: string;
      Entrypoint?: string[];
      Cmd?: string[];
      Env?: string[];
      Labels?: Record<string, string>;
      WorkingDir?: string;
    };
  };
  let compressedBytes = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubetriage-image-test-'));
    rootfs = join(dir, 'bundle', 'rootfs');
    const r = await run('umoci', ['unpack', '--image', `${LAYOUT}:${TAG}`, join(dir, 'bundle')], 300_000);
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(readFileSync(join(LAYOUT, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const ref = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === TAG);
    assert.ok(ref, `tag ${TAG} in ${LAYOUT}`);
    const manifest = JSON.parse(readFileSync(blob(ref.digest), 'utf8')) as {
      config: { digest: string };
      layers: { size: number }[];
    };
    compressedBytes = manifest.layers.reduce((n, l) => n + l.size, 0);
    config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('configuration: non-root, exec-form entrypoint (no shell), OCI labels, no secrets', async (t) => {
    const c = config.config;
    assert.equal(c.User, '10001:10001');
    assert.deepEqual(c.Entrypoint, ['/usr/local/bin/node', '/app/bin/kubetriage.js']);
    assert.deepEqual(c.Cmd, ['run']);
    assert.equal(c.Labels?.['org.opencontainers.image.version'], VERSION);
    for (const k of ['title', 'revision', 'created', 'licenses', 'source'])
      assert.ok(c.Labels?.[`org.opencontainers.image.${k}`], k);
    assert.ok(!(c.Env ?? []).some((e) => /SECRET|PASSWORD|TOKEN/.test(e)), (c.Env ?? []).join());
    const du = await run('du', ['-sb', rootfs]);
    t.diagnostic(
      `image size: ${(compressedBytes / 1e6).toFixed(1)} MB compressed layers, ${(Number(du.stdout.split('\t')[0]) / 1e6).toFixed(1)} MB unpacked`,
    );
  });

  test('production dependencies only, librdkafka compiled (no sources), the app owned by root', async () => {
    const nm = join(rootfs, 'app/node_modules');
    for (const dep of ['@confluentinc/kafka-javascript', 'fastify', 'zod', '@kubernetes/client-node'])
      assert.ok(existsSync(join(nm, dep, 'package.json')), dep);
    for (const dev of ['typescript', '@biomejs/biome', 'fast-check'])
      assert.ok(!existsSync(join(nm, dev)), `${dev} is a dev dependency`);
    assert.ok(!existsSync(join(nm, '@confluentinc/kafka-javascript/deps')), 'librdkafka sources dropped');
    const ls = await run('stat', [
      '-c',
      '%u %a',
      join(rootfs, 'app/src'),
      join(rootfs, 'var/lib/kubetriage'),
    ]);
    assert.deepEqual(ls.stdout.trim().split('\n'), ['0 755', '10001 755']);
  });

  test('the app is JavaScript: no TypeScript source for Node to strip at every start (~25 MB RSS)', async () => {
    const ts = await run('find', [join(rootfs, 'app/src'), join(rootfs, 'app/bin'), '-name', '*.ts']);
    assert.equal(ts.code, 0, ts.stderr);
    assert.equal(ts.stdout.trim(), '', 'TypeScript files in the image');
    assert.ok(existsSync(join(rootfs, 'app/src/cli/main.js')), 'src/cli/main.js');
    assert.match(readFileSync(join(rootfs, 'app/bin/kubetriage.js'), 'utf8'), /'\.\.\/src\/cli\/main\.js'/);
  });

  test('kubetriage --version and the Kafka client (librdkafka with TLS, SASL, zstd, lz4) inside the root filesystem', async () => {
    const v = await run('chroot', [
      '--userspec=10001:10001',
      rootfs,
      '/usr/local/bin/node',
      '/app/bin/kubetriage.js',
      '--version',
    ]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), VERSION);
    const k = await run('chroot', [
      '--userspec=10001:10001',
      rootfs,
      '/usr/local/bin/node',
      '-e',
      "const k=require('/app/node_modules/@confluentinc/kafka-javascript');console.log(JSON.stringify({v:k.librdkafkaVersion,f:k.features}))",
    ]);
    assert.equal(k.code, 0, k.stderr);
    const { f } = JSON.parse(k.stdout) as { v: string; f: string[] };
    for (const feature of ['ssl', 'sasl_scram', 'zstd', 'lz4']) assert.ok(f.includes(feature), f.join());
  });

  test('kubetriage demo runs as the image user on a read-only root filesystem', async () => {
    // A private mount namespace: the unpacked root bind-mounted read-only, as readOnlyRootFilesystem does.
    const script = [
      `mount --bind ${rootfs} ${rootfs}`,
      `mount -o remount,bind,ro ${rootfs}`,
      // Even root cannot write there now: the demo below really runs on a read-only root.
      `! chroot ${rootfs} /usr/bin/touch /.rw-probe 2>/dev/null`,
      `chroot --userspec=10001:10001 ${rootfs} /usr/local/bin/node /app/bin/kubetriage.js demo`,
    ].join(' && ');
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], 300_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kubetriage demo — scenario /m);
    assert.match(r.stdout, /SEV[1-4] · Deployment shop\/checkout/);
    assert.match(r.stdout, /incident inc-[0-9a-f]+/);
  });
});
