// What the incident page shows, kept in memory: each incident's latest context and triage report, the
// revisions seen, and the audit history of its proposals. Bounded (least recently updated incident
// goes first). Everything is redacted once on the way in, as on every other output. Listeners hear of
// each change (the page's live updates).
import { LRUCache } from 'lru-cache';
import type { TriageReport } from '../agents/report.ts';
import { redactor } from '../core/redact.ts';
import type { ProposalState } from '../exec/approvals.ts';
import type { AuditEntry } from '../exec/audit.ts';
import type { IncidentContextDoc } from '../stream/incidents/document.ts';
import { stateOfChain } from './proposal-state.ts';

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
  /** Each incident's latest context as received (the page reads it redacted, through `context`). */
  readonly #raw = new WeakMap<PageIncident, IncidentContextDoc>();
  readonly #history: LRUCache<string, AuditEntry[]>;
  /** Reports read before their context (the page feed reads two topics at their own pace). */
  readonly #early: LRUCache<string, TriageReport>;
  /** Each proposal's state from its chain on the proposals topic (replicated approvals). */
  readonly #chainStates: LRUCache<string, ProposalState>;
  readonly #listeners = new Set<(c: StoreChange) => void>();
  readonly #maxRevisions: number;
  readonly #maxHistory: number;
  /** The newest time the data has shown: "now" for retention and ages (replays run in the past). */
  #clock = 0;
  #version = 0;

  constructor(o: IncidentStoreOptions = {}) {
    this.#incidents = new LRUCache({ max: o.maxIncidents ?? 2000 });
    this.#history = new LRUCache({ max: (o.maxIncidents ?? 2000) * 4 });
    this.#chainStates = new LRUCache({ max: (o.maxIncidents ?? 2000) * 4 });
    this.#early = new LRUCache({ max: Math.max(16, Math.ceil((o.maxIncidents ?? 2000) / 4)) });
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

  onContext(doc: IncidentContextDoc): void {
    const prev = this.#incidents.get(doc.id);
    // Contexts can arrive again (restore, replays of a topic): an older revision never replaces a newer one.
    const prevDoc = prev ? this.#raw.get(prev) : undefined;
    if (prevDoc && prevDoc.revision > doc.revision) return;
    // The same context again (this process's own, then read back from the topic): nothing changed.
    if (prevDoc && prevDoc.revision === doc.revision && prevDoc.timings.updated === doc.timings.updated)
      return;
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
    const early = prev ? undefined : this.#early.get(doc.id);
    if (early) this.#early.delete(doc.id);
    // Redacted when first read (a page view, a live update), not per revision: `run` hands every
    // revision to the store and most are never viewed; the walk was a second redaction of each context
    // on the stream path (the first is where it is serialised).
    let redacted: IncidentContextDoc | undefined;
    const inc: PageIncident = {
      id: doc.id,
      get context() {
        redacted ??= redactor().deep(doc, 'page');
        return redacted;
      },
      report: prev?.report ?? early,
      revisions,
      version: ++this.#version,
    };
    this.#raw.set(inc, doc);
    this.#incidents.set(doc.id, inc);
    this.#emit(inc);
  }

  onReport(raw: TriageReport): void {
    const inc = this.#incidents.peek(raw.incident);
    if (!inc) {
      // No context yet (read from another topic, not yet reached): kept, bounded, until it comes.
      const held = this.#early.peek(raw.incident);
      if (!held || held.revision <= raw.revision) this.#early.set(raw.incident, redactor().deep(raw, 'page'));
      return;
    }
    // A stale report never replaces a newer one.
    if (inc.report && inc.report.revision > raw.revision) return;
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

  /**
   * A proposal's whole chain as the proposals topic holds it (replicated approvals): it replaces what
   * was held, unless it is shorter (an older record read after a newer one).
   */
  onProposalChain(proposal: string, raw: readonly AuditEntry[]): void {
    const held = this.#history.get(proposal);
    if (raw.length === 0 || (held && held.length > raw.length)) return;
    if (held && held.length === raw.length && held.at(-1)?.hash === raw.at(-1)?.hash) return;
    const state = stateOfChain(raw);
    if (state) this.#chainStates.set(proposal, state);
    const list = redactor().deep(raw.slice(-this.#maxHistory), 'page');
    this.#history.set(proposal, list);
    const incident = raw[0]!.incident;
    const inc = incident ? this.#incidents.peek(incident) : undefined;
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

  /** The proposal's state by its chain on the proposals topic; null when no chain was read. */
  chainState(proposal: string): ProposalState | null {
    return this.#chainStates.get(proposal) ?? null;
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
