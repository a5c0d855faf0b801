// Start-up self-check in execute mode: what can these credentials do? Least privilege is the contract
// (config/rbac): scale Deployments, read a few kinds for enrichment, nothing else. The API server
// answers with SelfSubjectRulesReview (every rule that applies, per namespace) and
// SelfSubjectAccessReview (one yes/no); anything beyond the allow-list below is reported, by rule.
import type { KubeHttp } from './kube-http.ts';

const READ = ['get', 'list', 'watch'];

/** group/resource → verbs we may hold. Everything else is "too broad". */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  'apps/deployments': READ,
  'apps/replicasets': READ,
  'apps/deployments/scale': ['get', 'update', 'patch'],
  // Enrichment (read-only, config/rbac/enrichment-reader.yaml).
  '/pods': READ,
  '/services': READ,
  '/nodes': READ,
  '/namespaces': READ,
  '/events': READ,
  'events.k8s.io/events': READ,
  'apps/statefulsets': READ,
  'apps/daemonsets': READ,
  // system:basic-user, granted to every authenticated user.
  'authorization.k8s.io/selfsubjectaccessreviews': ['create'],
  'authorization.k8s.io/selfsubjectrulesreviews': ['create'],
  'authentication.k8s.io/selfsubjectreviews': ['create'],
};

/** What we must be able to do, and a few things we must certainly not (for an explicit log line). */
const REQUIRED = [
  { verb: 'get', group: 'apps', resource: 'deployments', subresource: 'scale' },
  { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale' },
];
const FORBIDDEN = [
  { verb: 'patch', group: 'apps', resource: 'deployments' },
  { verb: 'update', group: 'apps', resource: 'deployments' },
  { verb: 'delete', group: 'apps', resource: 'deployments' },
  { verb: 'get', group: '', resource: 'secrets' },
  { verb: 'list', group: '', resource: 'secrets' },
  { verb: 'create', group: '', resource: 'pods' },
];

interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

export interface PermissionReport {
  ok: boolean;
  /** One line per grant beyond the allow-list, e.g. `namespace default: apps/deployments: patch, update`. */
  tooBroad: string[];
  /** Required grants that are missing. */
  missing: string[];
  incomplete: boolean;
}

function describe(a: { verb: string; group: string; resource: string; subresource?: string }): string {
  return `${a.verb} ${a.group || 'core'}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
}

async function accessAllowed(
  kube: KubeHttp,
  namespace: string,
  a: { verb: string; group: string; resource: string; subresource?: string },
): Promise<boolean> {
  const r = await kube.request<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace, ...a } },
    },
  );
  return r.status?.allowed === true;
}

/** Grants in one rule that the allow-list does not cover (wildcards are always too broad). */
export function excessOf(rule: ResourceRule): string[] {
  const out: string[] = [];
  for (const g of rule.apiGroups ?? ['']) {
    for (const res of rule.resources ?? []) {
      const allowed = ALLOWED[`${g}/${res}`];
      const extra =
        g === '*' || res === '*' || !allowed
          ? rule.verbs
          : rule.verbs.filter((v) => v === '*' || !allowed.includes(v));
      if (extra.length)
        out.push(
          `${g || 'core'}/${res}${rule.resourceNames?.length ? `[${rule.resourceNames.join(',')}]` : ''}: ${extra.join(', ')}`,
        );
    }
  }
  return out;
}

/**
 * Checks the credentials in each namespace we may act in (`default` stands for cluster-wide when the
 * policy allows every namespace).
 */
export async function checkPermissions(kube: KubeHttp, namespaces: string[]): Promise<PermissionReport> {
  const tooBroad: string[] = [];
  const missing: string[] = [];
  let incomplete = false;
  const nss = namespaces.filter((n) => !/[*?]/.test(n));
  if (nss.length === 0 || nss.length !== namespaces.length) nss.push('default');
  for (const ns of [...new Set(nss)]) {
    const rr = await kube.request<{ status?: { resourceRules?: ResourceRule[]; incomplete?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: ns } },
    );
    if (rr.status?.incomplete) incomplete = true;
    for (const rule of rr.status?.resourceRules ?? [])
      for (const line of excessOf(rule)) tooBroad.push(`namespace ${ns}: ${line}`);
    for (const a of FORBIDDEN)
      if (await accessAllowed(kube, ns, a)) tooBroad.push(`namespace ${ns}: can ${describe(a)}`);
    for (const a of REQUIRED)
      if (!(await accessAllowed(kube, ns, a))) missing.push(`namespace ${ns}: cannot ${describe(a)}`);
  }
  return {
    ok: tooBroad.length === 0 && missing.length === 0,
    tooBroad: [...new Set(tooBroad)],
    missing,
    incomplete,
  };
}
