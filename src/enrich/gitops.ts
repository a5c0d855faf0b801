// Who manages a workload: a GitOps controller (Argo CD, Flux) that puts its replicas back from Git, a
// Helm release (nothing reverts a scale until the next upgrade), and the field managers that own
// spec.replicas (managedFields). Read from the object's own metadata, as each tool writes it:
//  - Argo CD: annotation `argocd.argoproj.io/tracking-id` (`<app>:<group>/<kind>:<ns>/<name>`), or the
//    label `argocd.argoproj.io/instance` / `app.kubernetes.io/instance` (its default tracking label).
//  - Flux: labels `kustomize.toolkit.fluxcd.io/name`+`/namespace`, `helm.toolkit.fluxcd.io/name`+`/namespace`.
//  - Helm: label `app.kubernetes.io/managed-by: Helm` with annotation `meta.helm.sh/release-name`.
// Metadata is written by whoever applied the object: it is evidence, not proof.

export type GitopsTool = 'argocd' | 'flux' | 'helm';

export interface Management {
  /** The controller that owns the object (argocd and flux revert drift; helm does not). */
  tool: GitopsTool | null;
  /** Argo CD application, Flux Kustomization/HelmRelease, or Helm release name. */
  app: string | null;
  /** Flux: kustomization or helmrelease. */
  fluxKind: 'kustomization' | 'helmrelease' | null;
  /** Namespace of the Flux object or Helm release, when the metadata says. */
  appNamespace: string | null;
  /** Field managers owning spec.replicas (main resource, not the scale subresource). */
  replicaManagers: readonly string[];
}

type Raw = Record<string, unknown> | undefined | null;

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, 253) : null);

export const NO_MANAGEMENT: Management = Object.freeze({
  tool: null,
  app: null,
  fluxKind: null,
  appNamespace: null,
  replicaManagers: Object.freeze([]) as readonly string[],
});

/** Field managers whose fieldsV1 owns `f:spec` → `f:replicas` on the main resource. */
export function replicaManagers(managedFields: unknown): string[] {
  if (!Array.isArray(managedFields)) return [];
  const out: string[] = [];
  for (const e of managedFields.slice(0, 64)) {
    if (!e || typeof e !== 'object') continue;
    const m = e as {
      manager?: unknown;
      subresource?: unknown;
      fieldsV1?: { 'f:spec'?: Record<string, unknown> };
    };
    if (m.subresource) continue;
    const name = str(m.manager);
    if (name && m.fieldsV1?.['f:spec'] && 'f:replicas' in m.fieldsV1['f:spec'] && !out.includes(name))
      out.push(name);
  }
  return out;
}

/** Reads management from a raw object's metadata ({labels, annotations, managedFields}). */
export function managementOf(md: Raw): Management {
  if (!md || typeof md !== 'object') return NO_MANAGEMENT;
  const labels = (md.labels ?? {}) as Record<string, unknown>;
  const ann = (md.annotations ?? {}) as Record<string, unknown>;
  const managers = replicaManagers(md.managedFields);
  const base = { replicaManagers: managers, fluxKind: null, appNamespace: null };
  const tracking = str(ann['argocd.argoproj.io/tracking-id']);
  const argoLabel = str(labels['argocd.argoproj.io/instance']);
  if (tracking || argoLabel)
    return { ...base, tool: 'argocd', app: tracking ? (tracking.split(':')[0] ?? tracking) : argoLabel };
  const ks = str(labels['kustomize.toolkit.fluxcd.io/name']);
  if (ks)
    return {
      ...base,
      tool: 'flux',
      app: ks,
      fluxKind: 'kustomization',
      appNamespace: str(labels['kustomize.toolkit.fluxcd.io/namespace']),
    };
  const hr = str(labels['helm.toolkit.fluxcd.io/name']);
  if (hr)
    return {
      ...base,
      tool: 'flux',
      app: hr,
      fluxKind: 'helmrelease',
      appNamespace: str(labels['helm.toolkit.fluxcd.io/namespace']),
    };
  // Argo CD's default tracking label is app.kubernetes.io/instance, which Helm charts set too: it counts
  // only alongside Argo CD's own field manager on the object.
  const instance = str(labels['app.kubernetes.io/instance']);
  if (instance && managers.some((m) => m.startsWith('argocd')))
    return { ...base, tool: 'argocd', app: instance };
  const release = str(ann['meta.helm.sh/release-name']);
  if (labels['app.kubernetes.io/managed-by'] === 'Helm' || release)
    return {
      ...base,
      tool: 'helm',
      app: release ?? instance,
      appNamespace: str(ann['meta.helm.sh/release-namespace']),
    };
  // No labels, but a GitOps controller owns spec.replicas (server-side apply): still managed by it.
  if (managers.some((m) => m.startsWith('argocd'))) return { ...base, tool: 'argocd', app: null };
  if (managers.includes('kustomize-controller'))
    return { ...base, tool: 'flux', app: null, fluxKind: 'kustomization' };
  if (managers.includes('helm-controller'))
    return { ...base, tool: 'flux', app: null, fluxKind: 'helmrelease' };
  return managers.length ? { ...NO_MANAGEMENT, replicaManagers: managers } : NO_MANAGEMENT;
}

/** What a scale of a managed workload runs into, and what to do instead (empty when unmanaged). */
export function revertAdvice(m: Pick<Management, 'tool' | 'app' | 'fluxKind' | 'appNamespace'>): string {
  switch (m.tool) {
    case 'argocd': {
      const app = m.app ?? '<app>';
      return `Argo CD would revert it; change the replicas in Git (application ${app}), or pause self-heal first: \`argocd app set ${app} --self-heal=false\``;
    }
    case 'flux': {
      const kind = m.fluxKind ?? 'kustomization';
      const ns = m.appNamespace ? ` -n ${m.appNamespace}` : '';
      return `Flux would revert it; change the replicas in Git (${kind} ${m.app ?? '<name>'}), or suspend it first: \`flux suspend ${kind} ${m.app ?? '<name>'}${ns}\``;
    }
    case 'helm':
      return `managed by Helm release ${m.app ?? '?'}: the next \`helm upgrade\` puts the chart's replicas back; change them in the values too`;
    default:
      return '';
  }
}
