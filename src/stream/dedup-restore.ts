// After a restart the dedup window is empty, so repeats seen before it counted again: an Event update
// already counted, a container status sample already reported. What the restored contexts record is
// enough to refill the part of the window their evidence came from (single process; with scale-out the
// dedup state travels with the incident state instead).
import type { WindowDedup } from './dedup.ts';
import type { IncidentContextDoc } from './incidents/document.ts';

/** Remembers the restored incidents' Event counts and container states as already seen; returns how many. */
export function seedDedup(dedup: WindowDedup, docs: Iterable<IncidentContextDoc>): number {
  let n = 0;
  for (const doc of docs) {
    if (doc.status !== 'open') continue;
    const { cluster, namespace } = doc.scope;
    for (const e of doc.evidence) {
      const refs = e.refs as { events?: { uid: string; count: number }[]; pods?: string[]; metric?: unknown };
      if (refs.events?.length) {
        // Container states an Event reported carry `uid#reason`: those are the Event's, not dedup's.
        for (const ev of refs.events)
          if (!ev.uid.includes('#')) {
            dedup.remember(ev.uid, ev.count);
            n++;
          }
        continue;
      }
      // A container state from status metrics or enrichment: `restart|<family>|<container>` per pod.
      if (e.kind !== 'restart' || refs.metric !== undefined) continue;
      const [, family, container] = e.key.split('|');
      if (!family || container === undefined) continue;
      for (const pod of refs.pods ?? []) {
        dedup.remember(`c|${cluster}|${namespace}|${pod}|${container}|${family}`);
        n++;
      }
    }
  }
  return n;
}
