// Start-up self-check in execute mode: what can these credentials do? Least privilege is the contract
// (config/rbac): scale Deployments, read a few kinds for enrichment, nothing else. The API server
// answers with SelfSubjectRulesReview (every rule that applies, per namespace) and
// SelfSubjectAccessReview (one yes/no); anything beyond the allow-list below is reported, by rule.
import type { ExecKube, ResourceRule } from './kube-client.ts';

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
  // Who is calling the approval API, and may they (config/rbac/approval-api.yaml)? Creating a review
  // only asks the API server a question: it grants nothing and writes nothing.
  'authentication.k8s.io/tokenreviews': ['create'],
  'authorization.k8s.io/subjectaccessreviews': ['create'],
};

/** What we must be able to do, and a few things we must certainly not (for an explicit log line). */
const REQUIRED = [
  { verb: 'get', group: 'apps', resource: 'deployments', subresource: 'scale' },
  { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale' },
];
/** With the approval API on Kubernetes identities: ask who a caller is and what they may do. */
const REQUIRED_FOR_API_AUTH = [
  { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' },
  { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' },
];
const FORBIDDEN = [
  { verb: 'patch', group: 'apps', resource: 'deployments' },
  { verb: 'update', group: 'apps', resource: 'deployments' },
  { verb: 'delete', group: 'apps', resource: 'deployments' },
  { verb: 'get', group: '', resource: 'secrets' },
  { verb: 'list', group: '', resource: 'secrets' },
  { verb: 'create', group: '', resource: 'pods' },
];

export interface PermissionReport {
  ok: boolean;
  /** One line per grant beyond the allow-list, e.g. `namespace default: apps/deployments: patch, update`. */
  tooBroad: string[];
  /** Required grants that are missing. */
  missing: string[];
  /**
   * Reviews the approval API needs to know its callers (config/rbac/approval-api.yaml). Without them
   * API calls fail closed (503); Slack approvals still work, so this does not stop the start.
   */
  apiAuthMissing: string[];
  incomplete: boolean;
}

function describe(a: { verb: string; group: string; resource: string; subresource?: string }): string {
  return `${a.verb} ${a.group || 'core'}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
}

function accessAllowed(
  kube: ExecKube,
  namespace: string,
  a: { verb: string; group: string; resource: string; subresource?: string },
): Promise<boolean> {
  return kube.selfAccessReview({ namespace, ...a });
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
export async function checkPermissions(
  kube: ExecKube,
  namespaces: string[],
  o: { apiAuth?: boolean } = {},
): Promise<PermissionReport> {
  const tooBroad: string[] = [];
  const missing: string[] = [];
  const apiAuthMissing: string[] = [];
  let incomplete = false;
  const nss = namespaces.filter((n) => !/[*?]/.test(n));
  if (nss.length === 0 || nss.length !== namespaces.length) nss.push('default');
  for (const ns of [...new Set(nss)]) {
    const rr = await kube.selfRulesReview(ns);
    if (rr.incomplete) incomplete = true;
    for (const rule of rr.resourceRules)
      for (const line of excessOf(rule)) tooBroad.push(`namespace ${ns}: ${line}`);
    for (const a of FORBIDDEN)
      if (await accessAllowed(kube, ns, a)) tooBroad.push(`namespace ${ns}: can ${describe(a)}`);
    for (const a of REQUIRED)
      if (!(await accessAllowed(kube, ns, a))) missing.push(`namespace ${ns}: cannot ${describe(a)}`);
    if (o.apiAuth)
      for (const a of REQUIRED_FOR_API_AUTH)
        if (!(await accessAllowed(kube, ns, a))) apiAuthMissing.push(`cannot ${describe(a)}`);
  }
  return {
    ok: tooBroad.length === 0 && missing.length === 0,
    tooBroad: [...new Set(tooBroad)],
    missing,
    apiAuthMissing: [...new Set(apiAuthMissing)],
    incomplete,
  };
}
