// What the incident page shows, kept in memory: each incident's latest context and triage report, the
// revisions seen, and the audit history of its proposals. Bounded (least recently updated incident
// goes first). Everything is redacted once on the way in, as on every other output. Listeners hear of
// each change (the page's live updates).
import { LRUCache } from 'lru-cache';
import type { TriageReport } from '../agents/report.ts';
import { redactor } from '../core/redact.ts';
import type { AuditEntry } from '../exec/audit.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';

export interface RevisionSeen {
  revision: number;
  /** The context's timings.updated (the data clock). */
  at: string;
  status: 'open' | 'resolved';
  evidence: number;
}

export interface PageIncident {
  id: string;
  context: IncidentContextDoc;
  report: TriageReport | undefined;
  revisions: RevisionSeen[];
  /** Bumped on every change (context, report, audit entry of its proposals). */
  version: number;
}

export interface StoreChange {
  id: string;
  version: number;
}

export interface IncidentStoreOptions {
  maxIncidents?: number;
  /** Revisions remembered per incident (the timeline's revision ticks). */
  maxRevisions?: number;
  /** Audit entries remembered per proposal. */
  maxHistory?: number;
}

export class IncidentStore {
  readonly #incidents: LRUCache<string, PageIncident>;
  readonly #history: LRUCache<string, AuditEntry[]>;
  readonly #listeners = new Set<(c: StoreChange) => void>();
  readonly #maxRevisions: number;
  readonly #maxHistory: number;
  /** The newest time the data has shown: "now" for retention and ages (replays run in the past). */
  #clock = 0;
  #version = 0;

  constructor(o: IncidentStoreOptions = {}) {
    this.#incidents = new LRUCache({ max: o.maxIncidents ?? 2000 });
    this.#history = new LRUCache({ max: (o.maxIncidents ?? 2000) * 4 });
    this.#maxRevisions = o.maxRevisions ?? 200;
    this.#maxHistory = o.maxHistory ?? 100;
  }

  /** Bumped on every change of any incident (the list's version). */
  get version(): number {
    return this.#version;
  }

  get clock(): number {
    return this.#clock;
  }

  onContext(raw: IncidentContextDoc): void {
    const doc = redactor().deep(raw, 'page');
    const prev = this.#incidents.get(doc.id);
    // Contexts can arrive again (restore, replays of a topic): an older revision never replaces a newer one.
    if (prev && prev.context.revision > doc.revision) return;
    const revisions = prev?.revisions ?? [];
    if (!revisions.some((r) => r.revision === doc.revision)) {
      revisions.push({
        revision: doc.revision,
        at: doc.timings.updated,
        status: doc.status,
        evidence: doc.evidence.length,
      });
      if (revisions.length > this.#maxRevisions) revisions.splice(0, revisions.length - this.#maxRevisions);
    }
    this.#tick(doc.timings.updated);
    const inc: PageIncident = {
      id: doc.id,
      context: doc,
      report: prev?.report,
      revisions,
      version: ++this.#version,
    };
    this.#incidents.set(doc.id, inc);
    this.#emit(inc);
  }

  onReport(raw: TriageReport): void {
    const inc = this.#incidents.peek(raw.incident);
    // A report without its context has nothing to show yet; a stale one never replaces a newer one.
    if (!inc || (inc.report && inc.report.revision > raw.revision)) return;
    inc.report = redactor().deep(raw, 'page');
    inc.version = ++this.#version;
    this.#emit(inc);
  }

  /** Audit entries (restored from the ledger at start-up, then each new one) of proposals. */
  onAudit(raw: AuditEntry): void {
    if (!raw.proposal) return;
    const e = redactor().deep(raw, 'page');
    const list = this.#history.get(e.proposal!) ?? [];
    list.push(e);
    if (list.length > this.#maxHistory) list.splice(0, list.length - this.#maxHistory);
    this.#history.set(e.proposal!, list);
    const inc = e.incident ? this.#incidents.peek(e.incident) : undefined;
    if (inc) {
      inc.version = ++this.#version;
      this.#emit(inc);
    }
  }

  get(id: string): PageIncident | undefined {
    return this.#incidents.get(id);
  }

  all(): PageIncident[] {
    return [...this.#incidents.values()];
  }

  history(proposal: string): AuditEntry[] {
    return this.#history.get(proposal) ?? [];
  }

  subscribe(fn: (c: StoreChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  #tick(at: string): void {
    const t = Date.parse(at);
    if (Number.isFinite(t) && t > this.#clock) this.#clock = t;
  }

  #emit(inc: PageIncident): void {
    for (const fn of this.#listeners) {
      try {
        fn({ id: inc.id, version: inc.version });
      } catch {}
    }
  }
}
