// The Helm chart (deploy/helm/kubetriage) with the real helm v4 (scripts/helm/build.sh) and a real
// kube-apiserver: lint, render default and full values, refuse bad values through values.schema.json
// (generated from the service's zod schema), server-side apply every rendered object and read it back,
// and check that the RBAC it grants passes kubetriage's own start-up permission check and nothing more.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { renderValuesSchema, VALUES_SCHEMA_FILE } from '../../scripts/helm/values-schema.ts';
import { validateConfig } from '../../src/core/config.ts';
import { checkPermissions, ExecKubeClient } from '../../src/exec/index.ts';
import { tolerateTextReadyz } from '../exec/kube-world.ts';
import type { KubeClient } from '../harness/kube/client.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';

const CHART = 'deploy/helm/kubetriage';
const FULL = `${CHART}/ci/full-values.yaml`;
const HELM_VERSION = process.env.HELM_VERSION ?? 'v4.3.2';
const CRDS_VERSION = process.env.PROMETHEUS_OPERATOR_VERSION ?? 'v0.85.0';
const cacheRoot =
  process.env.KUBETRIAGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kubetriage');
const HELM = join(cacheRoot, `helm-${HELM_VERSION}`, 'helm');
const CRDS = join(cacheRoot, `prometheus-operator-crds-${CRDS_VERSION}`);

function requireHelm(): void {
  try {
    accessSync(HELM, constants.X_OK);
  } catch {
    // Never a silent skip: scripts/prepare-test-parts.sh (npm test, ./run test, .ci/run) builds it.
    throw new Error(
      `${HELM} not found: build it with \`bash scripts/prepare-test-parts.sh\` (or scripts/helm/build.sh, about 4 min cold on 2 cores)`,
    );
  }
}

// Never skips: each throws (failing this file with the build command) when its part is missing.
requireHelm();
requireKubeBinaries();

/** Rendered and read-back manifests are free-form JSON; the assertions say what they expect of them. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are navigated by path in assertions
type Manifest = any;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

let home: string | undefined;
/** A HOME of its own: helm reads and writes its config, cache and data under it, never the user's. */
function helmHome(): string {
  if (home === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'kubetriage-helm-home-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    home = dir;
  }
  return home;
}

function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(HELM, args, { env: { PATH: process.env.PATH, HOME: helmHome() } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function render(release: string, namespace: string, args: string[] = []): Promise<K8sObject[]> {
  const r = await helm(['template', release, CHART, '--namespace', namespace, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: K8sObject[], kind: string) => {
  const found = byKind(objs, kind);
  assert.equal(found.length, 1, `one ${kind}, got ${found.length}`);
  return found[0] as Manifest;
};

describe('the Helm chart', () => {
  test('values.schema.json is the one scripts/helm/values-schema.ts generates from the zod config schema', () => {
    assert.equal(
      readFileSync(VALUES_SCHEMA_FILE, 'utf8'),
      renderValuesSchema(),
      'run node scripts/helm/values-schema.ts',
    );
  });

  test('helm lint is clean with default and with full values (--strict)', async () => {
    for (const extra of [[], ['-f', FULL]]) {
      const r = await helm(['lint', '--strict', CHART, ...extra]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/, r.stdout);
    }
  });

  test('default values: a locked-down Deployment, probes, sized resources, the config the service accepts', async () => {
    const objs = await render('kt', 'kubetriage');
    assert.deepEqual(objs.map((o) => o.kind).sort(), [
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'Service',
      'ServiceAccount',
    ]);
    assert.equal(byKind(objs, 'Secret').length, 0, 'the chart never carries secret values');
    const deploy = one(objs, 'Deployment');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(c.image, 'ghcr.io/kubetriage/kubetriage:0.1.0', 'tag defaults to appVersion');
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.deepEqual(c.resources, {
      requests: { cpu: '500m', memory: '384Mi' },
      limits: { memory: '512Mi' },
    });
    assert.equal(pod.serviceAccountName, 'kt-kubetriage');
    const cm = one(objs, 'ConfigMap');
    const config = validateConfig(parseYaml(cm.data['kubetriage.yaml']), 'rendered ConfigMap');
    assert.equal(config.exec.audit.file, '/var/lib/kubetriage/audit.jsonl');
    assert.ok(
      c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/var/lib/kubetriage'),
      'the audit ledger is on a writable volume',
    );
    // Only the V8 sizing (values.yaml nodeOptions): no secrets referenced unless named.
    assert.deepEqual(c.env, [{ name: 'NODE_OPTIONS', value: '--max-semi-space-size=16' }]);
    assert.equal(byKind(objs, 'PodDisruptionBudget').length, 0, 'no budget for one replica');
  });

  test('full values: every optional object, secrets by reference, scaling bound only where policy allows', async () => {
    const objs = await render('kt', 'observability', ['-f', FULL]);
    for (const kind of ['PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule', 'NetworkPolicy'])
      assert.equal(byKind(objs, kind).length, 1, kind);
    const c = one(objs, 'Deployment').spec.template.spec.containers[0];
    assert.equal(
      c.image,
      'registry.example.com/platform/kubetriage@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    const secretEnv = Object.fromEntries(
      c.env
        .filter((e: Manifest) => e.valueFrom?.secretKeyRef)
        .map((e: Manifest) => [e.name, e.valueFrom.secretKeyRef.name]),
    );
    assert.deepEqual(secretEnv, {
      SLACK_WEBHOOK_URL: 'kubetriage-slack',
      SLACK_SIGNING_SECRET: 'kubetriage-slack',
      KAFKA_SASL_USERNAME: 'kubetriage-kafka-sasl',
      KAFKA_SASL_PASSWORD: 'kubetriage-kafka-sasl',
    });
    const plainEnv = c.env.filter((e: Manifest) => !e.valueFrom).map((e: Manifest) => [e.name, e.value]);
    assert.deepEqual(plainEnv, [
      ['NODE_OPTIONS', '--max-semi-space-size=32'],
      ['TZ', 'UTC'],
    ]);
    assert.equal(c.ports[0].containerPort, 9500, 'the port follows config.http.port');
    const svc = one(objs, 'Service');
    assert.equal(svc.spec.ports[0].port, 9500);
    const scaleBindings = byKind(objs, 'RoleBinding').filter((b: Manifest) =>
      b.roleRef.name.endsWith('-scaler'),
    );
    assert.deepEqual(scaleBindings.map((b) => b.metadata.namespace).sort(), ['payments', 'shop']);
    assert.ok(
      !byKind(objs, 'ClusterRoleBinding').some((b: Manifest) => b.roleRef.name.endsWith('-scaler')),
      'no cluster-wide scaling when exec.policy.namespaces lists names',
    );
    const rules = one(objs, 'PrometheusRule').spec.groups[0].rules.map((r: { alert: string }) => r.alert);
    assert.ok(rules.includes('KubetriageConsumerLagGrowing'), rules.join());
    const dashboard = byKind(objs, 'ConfigMap').find((m) =>
      m.metadata.name.endsWith('-dashboard'),
    ) as Manifest;
    assert.equal(JSON.parse(dashboard.data['kubetriage.json']).uid, 'kubetriage-overview');
    const cm = byKind(objs, 'ConfigMap').find((m) => m.metadata.name === 'kt-kubetriage') as Manifest;
    const config = validateConfig(parseYaml(cm.data['kubetriage.yaml']), 'rendered ConfigMap');
    assert.equal(config.exec.mode, 'execute');
  });

  test('more than one replica: a PodDisruptionBudget of one pod at a time selecting exactly the Deployment', async () => {
    const objs = await render('kt', 'kubetriage', ['--set', 'replicaCount=3']);
    const pdb = one(objs, 'PodDisruptionBudget');
    assert.equal(pdb.apiVersion, 'policy/v1');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.equal(pdb.spec.minAvailable, undefined, 'maxUnavailable only (a minAvailable would block rolls)');
    const deploy = one(objs, 'Deployment');
    assert.equal(deploy.spec.replicas, 3);
    assert.deepEqual(pdb.spec.selector, deploy.spec.selector, 'the same pods the Deployment owns');
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels))
      assert.equal(deploy.spec.template.metadata.labels[k], v, `pod label ${k}`);
    const off = await render('kt', 'kubetriage', [
      '--set',
      'replicaCount=3',
      '--set',
      'podDisruptionBudget.enabled=false',
    ]);
    assert.equal(byKind(off, 'PodDisruptionBudget').length, 0, 'podDisruptionBudget.enabled=false');
    const notes = await helm(['install', 'kt', CHART, '--dry-run=client', '--set', 'replicaCount=3']);
    assert.match(
      notes.stdout,
      /replicaCount is 3 without config\.scaleOut\.enabled/,
      'NOTES warn about split incidents',
    );
  });

  test('a bad value is refused by values.schema.json at helm template and helm install --dry-run', async () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'config.exec.mode=yolo'], /exec.*mode|mode.*yolo|dry-run/s],
      [['--set', 'config.kafka.brokrs[0]=k:9092'], /brokrs/],
      [['--set', 'config.grouping.maxEvidence=0'], /maxEvidence/],
      [['--set-string', 'config.http.port=http'], /port/],
      [['--set', 'replicaCount=-1'], /replicaCount/],
      [['--set', 'image.digest=latest'], /digest/],
    ];
    for (const [args, mentions] of cases) {
      const t = await helm(['template', 'kt', CHART, ...args]);
      assert.notEqual(t.code, 0, `helm template ${args.join(' ')} should fail`);
      assert.match(t.stderr, /values don't meet the specifications of the schema/, t.stderr);
      assert.match(t.stderr, mentions, t.stderr);
      const i = await helm(['install', 'kt', CHART, '--dry-run=client', ...args]);
      assert.notEqual(i.code, 0, `helm install --dry-run ${args.join(' ')} should fail`);
      assert.match(i.stderr, /schema/, i.stderr);
    }
  });
});

/** Paths where `rendered` has a value the read-back object lacks or holds differently (API defaults may add). */
function missingIn(back: unknown, rendered: unknown, path = ''): string[] {
  if (rendered === null || typeof rendered !== 'object')
    return back === rendered ? [] : [`${path}: ${JSON.stringify(rendered)} → ${JSON.stringify(back)}`];
  if (back === null || typeof back !== 'object') return [`${path}: missing`];
  if (Array.isArray(rendered)) {
    if (!Array.isArray(back) || back.length !== rendered.length) return [`${path}: ${JSON.stringify(back)}`];
    return rendered.flatMap((v, i) => missingIn(back[i], v, `${path}[${i}]`));
  }
  return Object.entries(rendered).flatMap(([k, v]) =>
    missingIn((back as Record<string, unknown>)[k], v, `${path}.${k}`),
  );
}

/** Server-side apply through the discovery document (plural and scope per kind), then read back. */
async function apply(admin: KubeClient, obj: K8sObject): Promise<K8sObject> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const discovery = await admin.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
    'GET',
    base,
  );
  const res = discovery.resources.find((r) => r.kind === obj.kind && !r.name.includes('/'));
  assert.ok(res, `the API server serves ${obj.apiVersion} ${obj.kind}`);
  const ns = res.namespaced ? `/namespaces/${obj.metadata.namespace}` : '';
  const path = `${base}${ns}/${res.name}/${obj.metadata.name}`;
  await admin.request('PATCH', `${path}?force=true`, obj, {
    contentType: 'application/apply-patch+yaml',
    fieldManager: 'kubetriage-helm-test',
  });
  return admin.request<K8sObject>('GET', path);
}

async function ensureNamespace(admin: KubeClient, name: string): Promise<void> {
  await admin.request(
    'PATCH',
    `/api/v1/namespaces/${name}?force=true`,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    { contentType: 'application/apply-patch+yaml', fieldManager: 'kubetriage-helm-test' },
  );
}

/** A ServiceAccount token from the TokenRequest API for an existing ServiceAccount. */
async function tokenFor(admin: KubeClient, ns: string, name: string): Promise<string> {
  const tr = await admin.create<{ status: { token: string } }>(
    `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  );
  return tr.status.token;
}

describe('the chart on a real kube-apiserver', () => {
  let kube: KubeApiServer;

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer();
    // The real prometheus-operator CRDs (scripts/helm/prometheus-operator-crds.sh), so the optional
    // ServiceMonitor and PrometheusRule are validated against their published schemas.
    for (const f of [
      'monitoring.coreos.com_servicemonitors.yaml',
      'monitoring.coreos.com_prometheusrules.yaml',
    ]) {
      const crd = parseYaml(readFileSync(join(CRDS, f), 'utf8')) as K8sObject;
      await apply(kube.client, crd);
    }
    for (let i = 0; ; i++) {
      const d = await kube.client
        .request<{ resources: { kind: string }[] }>('GET', '/apis/monitoring.coreos.com/v1')
        .catch(() => null);
      if (d && ['ServiceMonitor', 'PrometheusRule'].every((k) => d.resources.some((r) => r.kind === k)))
        break;
      assert.ok(i < 100, 'the CRDs are served');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    await kube?.stop();
  });

  async function install(release: string, namespace: string, args: string[] = []): Promise<K8sObject[]> {
    const objs = await render(release, namespace, args);
    await ensureNamespace(kube.client, namespace);
    for (const o of objs) if (o.metadata.namespace) await ensureNamespace(kube.client, o.metadata.namespace);
    for (const o of objs) {
      const back = await apply(kube.client, o);
      assert.equal(back.kind, o.kind);
      assert.equal(back.metadata.name, o.metadata.name);
      assert.deepEqual(missingIn(back, o), [], `${o.kind} ${o.metadata.name}: read back as rendered`);
    }
    return objs;
  }

  test('default values apply; the ServiceAccount passes the start-up permission check and can do nothing broader', async () => {
    const objs = await install('kt', 'kubetriage');
    const deploy = one(objs, 'Deployment');
    const back = await kube.client.request<Manifest>(
      'GET',
      '/apis/apps/v1/namespaces/kubetriage/deployments/kt-kubetriage',
    );
    assert.deepEqual(
      back.spec.template.spec.containers[0].securityContext,
      deploy.spec.template.spec.containers[0].securityContext,
    );
    const sa = one(objs, 'ServiceAccount').metadata.name;
    const token = await tokenFor(kube.client, 'kubetriage', sa);
    const asSa = new ExecKubeClient(kube.kubeConfig(token));
    const report = await checkPermissions(asSa, ['*'], { apiAuth: true });
    assert.deepEqual(
      {
        ok: report.ok,
        tooBroad: report.tooBroad,
        missing: report.missing,
        apiAuthMissing: report.apiAuthMissing,
      },
      { ok: true, tooBroad: [], missing: [], apiAuthMissing: [] },
    );
    const can = (verb: string, group: string, resource: string, namespace = 'shop', subresource?: string) =>
      asSa.selfAccessReview({ verb, group, resource, namespace, ...(subresource ? { subresource } : {}) });
    assert.equal(await can('update', 'apps', 'deployments', 'shop', 'scale'), true);
    assert.equal(await can('patch', 'apps', 'deployments'), false, 'cannot patch a Deployment (its image)');
    assert.equal(await can('get', '', 'secrets'), false, 'cannot read secrets');
    assert.equal(await can('list', '', 'configmaps'), false, 'cannot read configmaps');
    assert.equal(await can('create', '', 'pods'), false);
    assert.equal(await can('delete', 'apps', 'deployments'), false);
    assert.equal(
      await can('approve', 'kubetriage.io', 'proposals'),
      false,
      'kubetriage cannot approve itself',
    );
  });

  test('full values apply (monitoring objects against the real CRDs); scaling only in the listed namespaces', async () => {
    const objs = await install('full', 'observability', ['-f', FULL]);
    const rule = await kube.client.request<Manifest>(
      'GET',
      '/apis/monitoring.coreos.com/v1/namespaces/observability/prometheusrules/full-kubetriage',
    );
    assert.equal(rule.spec.groups[0].name, 'kubetriage');
    const sa = one(objs, 'ServiceAccount').metadata.name;
    const asSa = new ExecKubeClient(kube.kubeConfig(await tokenFor(kube.client, 'observability', sa)));
    const report = await checkPermissions(asSa, ['shop', 'payments'], { apiAuth: true });
    assert.deepEqual({ tooBroad: report.tooBroad, missing: report.missing }, { tooBroad: [], missing: [] });
    const scale = (namespace: string) =>
      asSa.selfAccessReview({
        verb: 'update',
        group: 'apps',
        resource: 'deployments',
        subresource: 'scale',
        namespace,
      });
    assert.equal(await scale('shop'), true);
    assert.equal(await scale('kube-system'), false, 'not outside exec.policy.namespaces');
    // The approver binding lets the on-call group approve in shop, through the chart's approver role.
    const sar = await kube.client.create<Manifest>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'alice',
        groups: ['oncall-shop'],
        resourceAttributes: {
          namespace: 'shop',
          verb: 'approve',
          group: 'kubetriage.io',
          resource: 'proposals',
        },
      },
    });
    assert.equal(sar.status.allowed, true);
    // The budget the API server accepted: one pod at a time, the Deployment's pods.
    const pdb = await kube.client.request<Manifest>(
      'GET',
      '/apis/policy/v1/namespaces/observability/poddisruptionbudgets/full-kubetriage',
    );
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector, one(objs, 'Deployment').spec.selector);
  });

  test('the reference manifests (config/deploy) apply: 3 replicas and a one-at-a-time PodDisruptionBudget', async () => {
    const objs = parseAllDocuments(readFileSync('config/deploy/kubetriage.yaml', 'utf8'))
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
    await ensureNamespace(kube.client, 'kubetriage');
    for (const o of objs) {
      const back = await apply(kube.client, o);
      assert.deepEqual(missingIn(back, o), [], `${o.kind} ${o.metadata.name}: read back as written`);
    }
    const deploy = one(objs, 'Deployment');
    assert.equal(deploy.spec.replicas, 3);
    const pdb = one(objs, 'PodDisruptionBudget');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector, deploy.spec.selector);
  });
});
