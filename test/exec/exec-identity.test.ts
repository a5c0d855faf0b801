// Who approves through the API, and how exec reaches the API server, against a REAL kube-apiserver:
// callers present their own Kubernetes tokens (real ServiceAccount tokens from the TokenRequest API);
// the service reviews them (TokenReview) and authorises our own verbs on proposals.kubetriage.io
// (SubjectAccessReview) with the RBAC of config/rbac/approval-api.yaml. Exec's client is
// @kubernetes/client-node: kubeconfig files, contexts, exec credential plugins, rotated token files.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { stringify as toYaml } from 'yaml';
import { callerToken } from '../../src/cli/approve-command.ts';
import { wireExec } from '../../src/cli/exec-wiring.ts';
import { validateConfig } from '../../src/core/config.ts';
import { execConfig } from '../../src/core/config-exec.ts';
import {
  ApiIdentity,
  ApprovalService,
  type AuditEntry,
  AuditLedger,
  checkPermissions,
  type ExecKube,
  ExecKubeClient,
  KubeApiError,
  registerExecRoutes,
  scaleDeployment,
} from '../../src/exec/index.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { freePort } from '../harness/ports.ts';
import { reportWith } from './helpers.ts';
import {
  applyRbac,
  bindApprover,
  createDeployment,
  replicasOf,
  scalerToken,
  serviceAccountToken,
  tolerateTextReadyz,
  uniqueNs,
} from './kube-world.ts';

// Never skips: throws (failing this file with the build command) when the part is missing.
requireKubeBinaries();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real CLI, asynchronously (the service under test runs in this process). */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/kubetriage.js', ...args],
      { env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('approval API identity and exec on client-node, on a real kube-apiserver', () => {
  let kube: KubeApiServer;
  const scaler = scalerToken();
  let dir: string;

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer({ tokens: [scaler] });
    await applyRbac(kube.client);
    dir = mkdtempSync(join(tmpdir(), 'kubetriage-identity-'));
  });
  after(async () => {
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The scale-only service identity (agent-runner) through client-node. */
  const serviceKube = () => new ExecKubeClient(kube.kubeConfig(scaler.token));

  /** Counts the reviews the service asks for (to see the caches work). */
  function counting(inner: ExecKube) {
    const n = { tokenReviews: 0, accessReviews: 0 };
    const k: ExecKube = {
      readScale: (ns, name) => inner.readScale(ns, name),
      replaceScale: (s, o) => inner.replaceScale(s, o),
      selfRulesReview: (ns) => inner.selfRulesReview(ns),
      selfAccessReview: (a) => inner.selfAccessReview(a),
      tokenReview: (t, a) => {
        n.tokenReviews++;
        return inner.tokenReview(t, a);
      },
      subjectAccessReview: (s) => {
        n.accessReviews++;
        return inner.subjectAccessReview(s);
      },
    };
    return { kube: k, n };
  }

  async function world(
    o: {
      staticToken?: { token: string; name: string };
      cacheTtlMs?: number;
      negativeCacheTtlMs?: number;
    } = {},
  ) {
    const file = join(dir, `audit-${Math.random().toString(36).slice(2)}.jsonl`);
    const ledger = new AuditLedger({ file });
    // `U0BOB` is an approver for Slack: a caller claiming to be U0BOB through the API must gain nothing.
    const config = execConfig({
      mode: 'execute',
      approvers: ['U0APPROVER', 'U0BOB'],
      policy: { cooldown: '0s' },
    });
    const { kube: k, n } = counting(serviceKube());
    const service = new ApprovalService({ config, ledger, kube: k, delay: async () => {} });
    await service.start();
    const registry = new Registry();
    const identity = new ApiIdentity({
      kube: k,
      audiences: config.api.audiences,
      group: config.api.group,
      resource: config.api.resource,
      cacheSize: config.api.cacheSize,
      cacheTtlMs: o.cacheTtlMs ?? config.api.cacheTtl,
      negativeCacheTtlMs: o.negativeCacheTtlMs ?? config.api.negativeCacheTtl,
      staticToken: o.staticToken,
      registry,
    });
    const app: FastifyInstance = Fastify();
    await registerExecRoutes(app, {
      service,
      signingSecret: 'unused',
      identity,
      toleranceMs: config.slack.signatureTolerance,
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const call = async (
      id: string,
      action: string,
      token: string | null,
      body: unknown = { actor: 'U0BOB' },
    ) => {
      const res = await fetch(`${address}/api/proposals/${id}/${action}`, {
        method: 'POST',
        headers: {
          ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { message?: string; error?: string };
      return { status: res.status, json };
    };
    const get = async (id: string, token: string) =>
      (await fetch(`${address}/api/proposals/${id}`, { headers: { authorization: `Bearer ${token}` } }))
        .status;
    const entries = () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry);
    const close = async () => {
      await app.close();
      await service.close();
    };
    return { service, call, get, entries, close, n, registry };
  }

  async function proposal(w: Awaited<ReturnType<typeof world>>, ns: string, from: number, to: number) {
    await createDeployment(kube.client, ns, 'web', from);
    const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'web', from, to });
    await w.service.onReport(report);
    return report.proposal.id;
  }

  test('a ServiceAccount token bound to kubetriage-approver approves; the ledger records the identity the API server vouched for, never the claimed name', async (t) => {
    const ns = uniqueNs('idn');
    const w = await world();
    t.after(() => w.close().catch(() => {}));
    const id = await proposal(w, ns, 5, 3);
    const oncall = await serviceAccountToken(kube.client, ns, 'oncall');
    const intruder = await serviceAccountToken(kube.client, ns, 'intruder');
    // An approver, but for another namespace only: proposals are authorised in their target namespace.
    const otherNs = uniqueNs('idn-other');
    await createDeployment(kube.client, otherNs, 'web', 1);
    const elsewhere = await serviceAccountToken(kube.client, otherNs, 'elsewhere');
    await bindApprover(kube.client, otherNs, { namespace: otherNs, name: 'elsewhere' });
    await bindApprover(kube.client, ns, { namespace: ns, name: 'oncall' });

    const before = w.entries().length;
    assert.equal((await w.call(id, 'approve', null)).status, 401, 'no token');
    assert.equal((await w.call(id, 'approve', 'garbage-token-123')).status, 401, 'garbage token');
    assert.equal((await w.call(id, 'approve', `${oncall.token}x`)).status, 401, 'tampered token');
    assert.equal(w.entries().length, before, 'unauthenticated calls are counted, not written one by one');

    const denied = await w.call(id, 'approve', intruder.token, { actor: 'U0APPROVER' });
    assert.equal(denied.status, 403, JSON.stringify(denied.json));
    assert.equal((await w.call(id, 'approve', elsewhere.token)).status, 403, 'approver elsewhere only');
    assert.equal(await replicasOf(kube.client, ns, 'web'), 5);
    assert.equal(w.service.state(id), 'pending');
    const refused = w.entries().filter((e) => e.event === 'refused');
    assert.deepEqual(
      refused.map((e) => e.actor),
      [`k8s:${intruder.username}`, `k8s:${elsewhere.username}`],
    );
    assert.match(
      String(refused[0]!.detail.reason),
      new RegExp(`not allowed to approve proposals.kubetriage.io in namespace ${ns}`),
    );
    assert.equal((refused[0]!.detail.identity as { uid: string }).uid, intruder.uid);

    const ok = await w.call(id, 'approve', oncall.token, { actor: 'U0BOB' });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(await replicasOf(kube.client, ns, 'web'), 3);
    const approved = w.entries().find((e) => e.event === 'approved')!;
    assert.equal(approved.actor, `k8s:system:serviceaccount:${ns}:oncall`);
    const who = approved.detail.identity as { username: string; uid: string; groups: string[]; by: string };
    assert.equal(who.username, `system:serviceaccount:${ns}:oncall`);
    assert.equal(who.uid, oncall.uid);
    assert.ok(who.groups.includes(`system:serviceaccounts:${ns}`), who.groups.join());
    assert.equal(who.by, 'TokenReview');
    const executed = w.entries().find((e) => e.event === 'executed')!;
    assert.equal(executed.detail.approvedBy, `k8s:system:serviceaccount:${ns}:oncall`);
    assert.doesNotMatch(
      JSON.stringify(w.entries()),
      /"(api:)?U0BOB"/,
      'the claimed name is recorded nowhere',
    );

    // An unknown id is authorised cluster-wide: a namespaced approver or an intruder learns nothing.
    assert.equal((await w.call('0000000000000000', 'approve', intruder.token)).status, 403);
    assert.equal((await w.call('0000000000000000', 'approve', oncall.token)).status, 403);
    assert.equal((await w.call('0000000000000000', 'approve', 'garbage')).status, 401);
    assert.equal(await w.get('0000000000000000', oncall.token), 403);
    // Reading the state needs `get` on the proposal too.
    assert.equal(await w.get(id, oncall.token), 200);
    assert.equal(await w.get(id, intruder.token), 403);
    assert.equal(await w.get(id, 'garbage'), 401);
  });

  test('answers are cached briefly: grants for cacheTtl, refusals shorter; a removed binding stops working after the TTL', async (t) => {
    const ns = uniqueNs('cache');
    // Generous TTLs against a loaded machine: the steps between the checks take far less than 5 s.
    const w = await world({ cacheTtlMs: 5000, negativeCacheTtlMs: 400 });
    // Closed after the test however it ends: a failed assertion used to leave the server open and the
    // file running until the runner's timeout (a hang instead of a failure).
    t.after(() => w.close().catch(() => {}));
    const id = await proposal(w, ns, 4, 2);
    const oncall = await serviceAccountToken(kube.client, ns, 'oncall');
    const newcomer = await serviceAccountToken(kube.client, ns, 'newcomer');
    const binding = await bindApprover(kube.client, ns, { namespace: ns, name: 'oncall' });
    for (let i = 0; i < 3; i++) assert.equal(await w.get(id, oncall.token), 200);
    const granted = Date.now(); // both grants were cached before this
    for (let i = 0; i < 3; i++) assert.equal(await w.get(id, 'garbage'), 401);
    assert.deepEqual(w.n, { tokenReviews: 2, accessReviews: 1 }, 'one review per token, one per question');
    // A refusal is cached for the short TTL only: a binding made just after it works soon.
    assert.equal(await w.get(id, newcomer.token), 403);
    const reviews = { ...w.n };
    // Asked again at once, with no API-server write in between: a RoleBinding create before this check
    // could outlast the 400 ms TTL on a loaded machine (an etcd write), and then the refusal had expired.
    assert.equal(await w.get(id, newcomer.token), 403, 'the cached refusal, within its TTL');
    assert.deepEqual(w.n, reviews, 'the refusal answered from the cache, no new review');
    await bindApprover(kube.client, ns, { namespace: ns, name: 'newcomer' });
    await kube.client.delete(binding);
    assert.equal(await w.get(id, oncall.token), 200, 'a cached grant still holds within its TTL');
    await sleep(600);
    assert.equal(await w.get(id, newcomer.token), 200, 'the refusal expired after the negative TTL');
    assert.equal(await w.get(id, oncall.token), 200, 'the grant is still cached');
    await sleep(granted + 5300 - Date.now());
    assert.equal(await w.get(id, oncall.token), 403, 'after the grant TTL the removed binding is seen');
    const metrics = await w.registry.getSingleMetricAsString('kubetriage_exec_api_authentications_total');
    assert.match(metrics, /result="authenticated",cached="true"\} [1-9]/);
    assert.match(metrics, /result="unauthenticated",cached="true"\} [1-9]/);
  });

  test('the shared static token works only when opted in, and is recorded as static:<name>', async (t) => {
    const ns = uniqueNs('static');
    const off = await world();
    const id = await proposal(off, ns, 6, 4);
    assert.equal(
      (await off.call(id, 'approve', 'api-token-1')).status,
      401,
      'not opted in: an unknown token',
    );
    await off.close();
    const on = await world({ staticToken: { token: 'api-token-1', name: 'laptop' } });
    t.after(() => on.close().catch(() => {}));
    await on.service.onReport(
      reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'web', from: 6, to: 4 }),
    );
    assert.equal((await on.call(id, 'approve', 'api-token-2')).status, 401);
    const r = await on.call(id, 'approve', 'api-token-1', { actor: 'U0BOB' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(await replicasOf(kube.client, ns, 'web'), 4);
    const approved = on.entries().find((e) => e.event === 'approved')!;
    assert.equal(approved.actor, 'static:laptop');
    assert.equal((approved.detail.identity as { by: string }).by, 'static-token');
  });

  test('the start-up permission check accepts the review grants and still refuses anything broader than scale', async () => {
    const report = await checkPermissions(serviceKube(), ['*'], { apiAuth: true });
    assert.deepEqual(
      { tooBroad: report.tooBroad, missing: report.missing, apiAuthMissing: report.apiAuthMissing },
      { tooBroad: [], missing: [], apiAuthMissing: [] },
    );
    // The approver role is a grant on our own resource, not for the service: held by it, it is too broad.
    const ns = uniqueNs('perm');
    await createDeployment(kube.client, ns, 'web', 1);
    const sa = await serviceAccountToken(kube.client, ns, 'svc');
    await bindApprover(kube.client, ns, { namespace: ns, name: 'svc' });
    const broad = await checkPermissions(new ExecKubeClient(kube.kubeConfig(sa.token)), [ns], {
      apiAuth: true,
    });
    assert.equal(broad.ok, false);
    assert.ok(
      broad.tooBroad.some((l) => l.includes('kubetriage.io/proposals')),
      broad.tooBroad.join('\n'),
    );
    assert.equal(broad.apiAuthMissing.length, 2, broad.apiAuthMissing.join('\n'));
  });

  test("`kubetriage approve` sends the caller's own kubeconfig token; `run` wiring reviews it, and takes KUBETRIAGE_API_TOKEN only when opted in", async () => {
    const ns = uniqueNs('cli');
    await createDeployment(kube.client, ns, 'web', 6);
    const oncall = await serviceAccountToken(kube.client, ns, 'oncall');
    await bindApprover(kube.client, ns, { namespace: ns, name: 'oncall' });
    const tokenFile = join(dir, `svc-token-${ns}`);
    const caFile = join(dir, `svc-ca-${ns}`);
    writeFileSync(tokenFile, scaler.token);
    writeFileSync(caFile, kube.ca);
    const lines: string[] = [];
    const start = async (staticToken: boolean) => {
      const file = join(dir, `wired-${ns}-${staticToken}.jsonl`);
      const config = validateConfig({
        exec: {
          mode: 'execute',
          kube: { url: kube.url, tokenFile, caFile },
          audit: { file },
          api: { staticToken: { enabled: staticToken, name: 'laptop' } },
          policy: { cooldown: '0s' },
        },
      });
      const app = Fastify();
      const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
      const w = await wireExec({
        config,
        log,
        registry: new Registry(),
        http: app,
        env: { KUBETRIAGE_API_TOKEN: 'shared-secret-1' },
      });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      return { w, app, url, file };
    };
    const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name: 'web', from: 6, to: 4 });
    const a = await start(false);
    assert.ok(
      lines.some((l) => /KUBETRIAGE_API_TOKEN is set but ignored/.test(l)),
      lines.join(''),
    );
    a.w.onReport(report); // without a Slack webhook the proposal is recorded at once
    const shared = await cli(['approve', report.proposal.id, '--url', a.url], {
      KUBETRIAGE_API_TOKEN: 'shared-secret-1',
    });
    assert.equal(shared.code, 1, 'the shared token is not accepted unless opted in');
    assert.match(shared.stderr, /did not authenticate/);
    // The caller's kubeconfig (a ServiceAccount token as its user), picked with --kubeconfig/--context.
    const kcFile = join(dir, `caller-${ns}.yaml`);
    const kc = kube.kubeconfig as { clusters: unknown[]; contexts: { context: { cluster: string } }[] };
    writeFileSync(
      kcFile,
      toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: kc.clusters,
        users: [{ name: 'oncall', user: { token: oncall.token } }],
        contexts: [{ name: 'oncall', context: { cluster: kc.contexts[0]!.context.cluster, user: 'oncall' } }],
        'current-context': 'oncall',
      }),
    );
    const ok = await cli([
      'approve',
      report.proposal.id,
      '--url',
      a.url,
      '--kubeconfig',
      kcFile,
      '--context',
      'oncall',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /scaled .* 6 → 4 \(approved by k8s:system:serviceaccount:.*:oncall\)/);
    assert.equal(await replicasOf(kube.client, ns, 'web'), 4);
    const actors = readFileSync(a.file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as AuditEntry).actor);
    assert.ok(actors.includes(`k8s:${oncall.username}`), actors.join());
    assert.equal(await a.w.close(5_000), true);
    await a.app.close();

    const b = await start(true);
    assert.ok(
      lines.some((l) => /exec.api.staticToken is ENABLED/.test(l)),
      'a loud line at start',
    );
    const r2 = reportWith({ incident: `inc-${ns}`, revision: 2, namespace: ns, name: 'web', from: 4, to: 3 });
    b.w.onReport(r2);
    const viaShared = await cli(['approve', r2.proposal.id, '--url', b.url], {
      KUBETRIAGE_API_TOKEN: 'shared-secret-1',
    });
    assert.equal(viaShared.code, 0, viaShared.stderr);
    assert.match(readFileSync(b.file, 'utf8'), /"actor":"static:laptop","event":"approved"/);
    assert.equal(await b.w.close(5_000), true);
    await b.app.close();
  });

  test('fail closed: when the API server cannot be asked, authentication answers 503 and authorisation an error', async () => {
    const kc = kube.kubeConfig(scaler.token);
    const port = await freePort(); // nothing listens there
    const dead = new ExecKubeClient(
      (() => {
        kc.clusters = kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` }));
        return kc;
      })(),
      { timeoutMs: 2000 },
    );
    const identity = new ApiIdentity({
      kube: dead,
      audiences: [],
      group: 'kubetriage.io',
      resource: 'proposals',
      cacheSize: 8,
      cacheTtlMs: 10_000,
      negativeCacheTtlMs: 2_000,
    });
    for (let i = 0; i < 2; i++) {
      const a = await identity.authenticate(`Bearer ${scaler.token}`);
      assert.equal(a.ok === false && a.status, 503, JSON.stringify(a));
    }
    const z = await identity.authorize(
      { username: 'someone', uid: '', groups: [], by: 'TokenReview' },
      'approve',
      'p1',
      'shop',
    );
    assert.ok('error' in z, JSON.stringify(z));
  });

  test('the CLI refuses, with the reason, a kubeconfig user that has no bearer token to forward', async () => {
    const file = join(dir, 'cert-user.yaml');
    const kc = kube.kubeconfig as { clusters: unknown[]; contexts: { context: { cluster: string } }[] };
    writeFileSync(
      file,
      toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: kc.clusters,
        users: [{ name: 'cert', user: { username: 'basic-is-not-bearer', password: 'x' } }],
        contexts: [{ name: 'c', context: { cluster: kc.contexts[0]!.context.cluster, user: 'cert' } }],
        'current-context': 'c',
      }),
    );
    await assert.rejects(callerToken({ kubeconfig: file }, {}), /no bearer token in .*pass --token/);
    assert.deepEqual(await callerToken({ kubeconfig: file, token: 't1' }, {}), {
      token: 't1',
      from: '--token',
    });
    assert.equal((await callerToken({ kubeconfig: file }, { KUBETRIAGE_TOKEN: 't2' })).token, 't2');
  });

  test('exec through a kubeconfig file: a named context whose user is an exec credential plugin', async () => {
    const ns = uniqueNs('kcfg');
    await createDeployment(kube.client, ns, 'api', 3);
    const plugin = join(dir, 'credential-plugin.mjs');
    const calls = join(dir, 'plugin-calls');
    writeFileSync(
      plugin,
      `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(calls)}, 'x');
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
  status: { token: process.env.PLUGIN_TOKEN } }));`,
    );
    const kc = kube.kubeconfig as {
      clusters: unknown[];
      users: unknown[];
      contexts: { name: string; context: { cluster: string } }[];
    };
    const file = join(dir, 'kubeconfig-exec.yaml');
    writeFileSync(
      file,
      toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: kc.clusters,
        users: [
          ...kc.users,
          {
            name: 'scaler-plugin',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: process.execPath,
                args: [plugin],
                env: [{ name: 'PLUGIN_TOKEN', value: scaler.token }],
                interactiveMode: 'Never',
              },
            },
          },
        ],
        contexts: [
          ...kc.contexts,
          { name: 'scaler', context: { cluster: kc.contexts[0]!.context.cluster, user: 'scaler-plugin' } },
        ],
        // The admin context stays current: exec.kube.context must pick the scaler.
        'current-context': kc.contexts[0]!.name,
      }),
    );
    const settings = { kubeconfig: file, url: null, tokenFile: '-', caFile: '-', timeout: 10_000 };
    const asScaler = ExecKubeClient.fromSettings({ ...settings, context: 'scaler' });
    const asAdmin = ExecKubeClient.fromSettings({ ...settings, context: null });
    const secrets = { namespace: ns, verb: 'get', group: '', resource: 'secrets' };
    assert.equal(await asAdmin.selfAccessReview(secrets), true);
    assert.equal(await asScaler.selfAccessReview(secrets), false, 'the plugin gave the scale-only identity');
    const out = await scaleDeployment(asScaler, {
      namespace: ns,
      name: 'api',
      expected: 3,
      to: 1,
      dryRun: false,
    });
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(await replicasOf(kube.client, ns, 'api'), 1);
    assert.ok(readFileSync(calls, 'utf8').length >= 1, 'the exec plugin ran');
    assert.throws(
      () => ExecKubeClient.fromSettings({ ...settings, context: 'nope' }),
      /exec.kube.context nope is not in/,
    );
  });

  test('in-cluster settings are checked at once but @kubernetes/client-node loads on the first request', async () => {
    const ns = uniqueNs('lazy');
    await createDeployment(kube.client, ns, 'api', 2);
    const tokenFile = join(dir, 'lazy-token');
    const caFile = join(dir, 'lazy-ca.crt');
    writeFileSync(caFile, kube.ca);
    writeFileSync(tokenFile, scaler.token);
    const settings = { kubeconfig: null, context: null, url: kube.url, tokenFile, caFile, timeout: 10_000 };
    // A missing file still fails at start, with the file in the message.
    assert.throws(
      () => ExecKubeClient.fromSettings({ ...settings, tokenFile: join(dir, 'no-such-token') }),
      /ENOENT.*no-such-token/,
    );
    // A fresh process: this one has loaded the library already. ~0.3 CPU-s of start-up (bench/startup.ts).
    const script = `
      import { ExecKubeClient } from './src/exec/kube-client.ts';
      import { kubeClientLibLoaded } from './src/core/kube-lib.ts';
      const client = ExecKubeClient.fromSettings(${JSON.stringify(settings)});
      const atStart = kubeClientLibLoaded();
      const replicas = (await client.readScale(${JSON.stringify(ns)}, 'api')).spec.replicas;
      console.log(JSON.stringify({ atStart, afterRequest: kubeClientLibLoaded(), replicas, url: client.url }));`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    assert.deepEqual(JSON.parse(out), {
      atStart: false,
      afterRequest: true,
      replicas: 2,
      url: kube.url.replace(/\/$/, ''),
    });
  });

  test('a rotated ServiceAccount token file is used by the next call, without a restart', async () => {
    const ns = uniqueNs('rot');
    await createDeployment(kube.client, ns, 'api', 2);
    const tokenFile = join(dir, 'sa-token');
    const caFile = join(dir, 'sa-ca.crt');
    writeFileSync(caFile, kube.ca);
    writeFileSync(tokenFile, scaler.token);
    const client = ExecKubeClient.fromSettings({
      kubeconfig: null,
      context: null,
      url: kube.url,
      tokenFile,
      caFile,
      timeout: 10_000,
    });
    assert.equal((await client.readScale(ns, 'api')).spec.replicas, 2);
    // Rotated to a token the API server does not know (as after the old one's expiry): refused at once.
    writeFileSync(tokenFile, 'rotated-to-an-unknown-token');
    await assert.rejects(
      client.readScale(ns, 'api'),
      (e: unknown) => e instanceof KubeApiError && e.status === 401,
    );
    // Rotated to a new valid token (a fresh bound token with a trailing newline): accepted at once.
    const fresh = await serviceAccountToken(kube.client, 'kubetriage', `rot-${ns}`);
    writeFileSync(tokenFile, `${fresh.token}\n`);
    const s = await client.readScale(ns, 'api').catch((e: unknown) => e);
    assert.ok(
      s instanceof KubeApiError && s.status === 403,
      `the new identity (no scale grant) is used: ${String(s)}`,
    );
    writeFileSync(tokenFile, scaler.token);
    assert.equal((await client.readScale(ns, 'api')).spec.replicas, 2);
  });
});
