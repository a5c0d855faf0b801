// Snapshot mode: a cluster snapshot file (what `kubectl get pods,replicasets,deployments,statefulsets,
// daemonsets,services,nodes -A -o json` prints: a v1/List) loaded into the cache the way an informer
// loads its first list: every object through the same Projector, then store.apply('ADDED', …), the
// store's single entry point. From there on replay, demo and eval use the live joins unchanged.
import { readFileSync } from 'node:fs';
import { KubetriageError } from '../core/errors.ts';
import { KINDS, type Kind, type Projector } from './objects.ts';
import type { ClusterStore } from './store.ts';

export interface SnapshotStats {
  /** Objects loaded, by kind. */
  loaded: Partial<Record<Kind, number>>;
  /** Items of kinds the cache does not hold (ConfigMaps, CronJobs, …), by kind. */
  skipped: Record<string, number>;
}

const KIND_SET: ReadonlySet<string> = new Set(KINDS);

/** Reads and checks the file; the error names the file and what is wrong with it. */
export function readSnapshot(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubetriageError('SNAPSHOT_INVALID', `Cannot read snapshot ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new KubetriageError('SNAPSHOT_INVALID', `Snapshot ${file} is not JSON: ${(err as Error).message}`);
  }
  return checkSnapshot(doc, `Snapshot ${file}`);
}

/** A parsed v1/List (or PodList, …) → its items, each with a kind; the error starts with `what`. */
export function checkSnapshot(doc: unknown, what = 'Snapshot'): unknown[] {
  const d = doc as { kind?: unknown; items?: unknown };
  if (typeof doc !== 'object' || doc === null || !Array.isArray(d.items))
    throw new KubetriageError(
      'SNAPSHOT_INVALID',
      `${what} is not a v1/List (kubectl get … -o json): no "items" array`,
    );
  // A single-kind list (PodList) leaves `kind` off its items.
  const listKind = typeof d.kind === 'string' && d.kind.endsWith('List') ? d.kind.slice(0, -4) : '';
  return (d.items as unknown[]).map((item, i) => {
    const it = item as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (typeof it !== 'object' || it === null || typeof it.metadata?.name !== 'string')
      throw new KubetriageError('SNAPSHOT_INVALID', `${what}: items[${i}] is not a Kubernetes object`);
    if (typeof it.kind === 'string') return it;
    if (!listKind) throw new KubetriageError('SNAPSHOT_INVALID', `${what}: items[${i}] has no kind`);
    return { ...it, kind: listKind };
  });
}

/**
 * Loads objects (a snapshot's items) into the store: each one projected by the informers' projector
 * and applied as an ADDED event, exactly what an informer does with each item of its first list.
 * Synchronous, so `demo` and `eval` can build their resolver in one step.
 */
export function loadObjects(
  items: readonly unknown[],
  store: ClusterStore,
  projector: Projector,
): SnapshotStats {
  const byKind = new Map<Kind, unknown[]>();
  const skipped: Record<string, number> = {};
  for (const it of items) {
    const kind = (it as { kind: string }).kind;
    if (!KIND_SET.has(kind)) {
      skipped[kind] = (skipped[kind] ?? 0) + 1;
      continue;
    }
    const list = byKind.get(kind as Kind);
    if (list) list.push(it);
    else byKind.set(kind as Kind, [it]);
  }
  const loaded: Partial<Record<Kind, number>> = {};
  // Kinds in a fixed order (owners before what they own): the same file always loads the same way.
  for (const kind of KINDS) {
    const raws = byKind.get(kind);
    if (!raws) continue;
    let n = 0;
    for (const raw of raws) {
      const slim = projector.project(kind, raw);
      if (!slim) continue;
      store.apply('ADDED', slim);
      n++;
    }
    loaded[kind] = n;
  }
  return { loaded, skipped };
}

export function loadSnapshot(file: string, store: ClusterStore, projector: Projector): SnapshotStats {
  return loadObjects(readSnapshot(file), store, projector);
}
