// Signal → evidence update. The evidence key decides what collapses into one item: the same reason
// on the same object, the same failing operation, the same exception, the same anomalous series.
import type { AnomalyFinding } from '../anomaly.ts';
import { flat } from '../flat.ts';
import type { ContainerSignal, EventSignal, LogSignal, SpanErrorSignal } from '../signals.ts';
import type { PodStatusChange } from '../workload.ts';
import { blankUpdate, type EvidenceUpdate } from './evidence.ts';

const SUMMARY_MAX = 300;

function short(s: string): string {
  return s.length > SUMMARY_MAX ? `${s.slice(0, SUMMARY_MAX)}…` : s;
}

const QUOTED = /"[^"]{8,}"/g;

/**
 * The kubelet repeats the image reference up to three times in one message; later repeats become "…"
 * so the words that say what is wrong ("pull access denied") fit in the summary.
 */
function withoutRepeats(s: string): string {
  // Most messages quote nothing: no Set, no regex pass (every Warning event comes through here).
  if (!s.includes('"')) return s;
  const seen = new Set<string>();
  return s.replace(QUOTED, (q) => {
    if (seen.has(q)) return '"…"';
    seen.add(q);
    return q;
  });
}

// Pull failures the kubelet reports: the attempts (strong) and the back-off waits between them (weak).
const PULL_ATTEMPT = /Failed to pull image|ErrImagePull/;
const PULL_BACKOFF = /ImagePullBackOff|Back-off pulling image/;

/**
 * `derived`: the container state the Event reports (BackOff → CrashLoopBackOff, …). It is the same
 * fact, so it joins this item (the container and its state) instead of becoming a second one.
 */
export function fromEvent(s: EventSignal, derived?: { reason: string; container: string }): EvidenceUpdate {
  const u = blankUpdate('k8s_event', eventKey(s.objectKind, s.objectName, s.reason), s.atMs, '');
  u.summarize = eventSummary;
  u.eventType = s.eventType;
  u.eventReason = s.reason;
  u.eventUid = s.eventUid;
  u.eventCount = s.count;
  u.object = { kind: s.objectKind, name: s.objectName, uid: s.objectUid };
  u.pod = s.pod;
  u.message = s.message;
  u.firstAtMs = s.firstAtMs;
  if (derived) u.container = derived.container;
  // Every alternative of both patterns holds "ull": most messages are ruled out by one substring
  // search instead of two regex scans (the two were 2.4 % of a CPU profile of dedup + grouping over
  // bench/pipeline.ts's stream at 0 % repeats).
  const mayPull = s.message.includes('ull');
  const weak = mayPull && PULL_BACKOFF.test(s.message);
  if (s.pod && mayPull && (weak || PULL_ATTEMPT.test(s.message))) {
    u.fact = `pull|${s.pod}|${derived?.container ?? ''}`;
    u.factWeak = weak;
  }
  return u;
}

/** fromEvent's summary (EvidenceUpdate.summarize), from the fields fromEvent copied off the signal. */
function eventSummary(u: EvidenceUpdate): string {
  const o = u.object!;
  return short(
    `${u.eventType || 'Event'} ${u.eventReason} on ${o.kind}/${o.name}: ${withoutRepeats(u.message)}`,
  );
}

/** An event item's key by object name, then kind and reason (decode hands those out interned). */
const eventKeys = new Map<string, { kind: string; reason: string; key: string }[]>();
/** Object names remembered; the memo starts over beyond (it spares work, it decides nothing). */
const MAX_EVENT_KEY_NAMES = 10_000;

/**
 * `k8s_event|kind/name|reason`, the same string object for the same parts while remembered: the
 * incident's evidence lookup then reuses its hash, where a fresh concatenation was flattened and
 * hashed per Warning event (Incident.absorb's lookup was 1.9 % of a CPU profile of bench/pipeline.ts's
 * stream at 0 % repeats).
 */
function eventKey(kind: string, name: string, reason: string): string {
  const list = eventKeys.get(name);
  if (list !== undefined)
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.reason === reason && e.kind === kind) return e.key;
    }
  const key = flat(`k8s_event|${kind}/${name}|${reason}`);
  if (list === undefined) {
    if (eventKeys.size >= MAX_EVENT_KEY_NAMES) eventKeys.clear();
    eventKeys.set(flat(name), [{ kind, reason, key }]);
  } else if (list.length < MAX_KEYS_PER_NAME) list.push({ kind, reason, key });
  return key;
}
// Reasons are telemetry's text: one object name keeps this many keys, further ones are built each time.
const MAX_KEYS_PER_NAME = 32;

/** `family`: the reason the item is keyed by (ErrImagePull and ImagePullBackOff are one pull failure). */
export function fromContainer(s: ContainerSignal, repeat: boolean, family = s.reason): EvidenceUpdate {
  const where = s.container ? `container ${s.container}` : 'a container';
  const u = blankUpdate(
    'restart',
    `restart|${family}|${s.container}`,
    s.atMs,
    short(
      `${s.reason}: ${where} of pod ${s.pod || '?'}${s.via === 'metric' ? ' (k8s.container.status.reason)' : ''}`,
    ),
  );
  if (s.eventUid) {
    // Same uid and count as the Event it came from: repeats of that Event never count twice.
    u.eventUid = `${s.eventUid}#${s.reason}`;
    u.eventCount = s.count;
  } else if (repeat) u.add = 0;
  u.pod = s.pod;
  u.container = s.container;
  return u;
}

export function fromFinding(f: AnomalyFinding): EvidenceUpdate {
  const s = f.signal;
  const restart = f.rule.evidence === 'restart';
  const key = restart
    ? `restart|${s.detail || 'Restarted'}|${s.series}`
    : `metric_anomaly|${f.rule.name}|${s.pod}|${s.series}`;
  const u = blankUpdate(
    f.rule.evidence,
    key,
    s.atMs,
    short(`${f.summary}${s.pod ? ` on pod ${s.pod}` : ''}`),
  );
  // A restart counter that rose by 3 is three restarts; a late sample's correction can be negative.
  u.add = restart ? (f.increase ?? Math.max(1, Math.round(f.observed - f.expected))) : 1;
  u.pod = s.pod;
  u.container = restart ? s.series : '';
  u.metric = { name: s.name, rule: f.rule.name, observed: f.observed, expected: round(f.expected) };
  return u;
}

const SPAN_KIND = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export function fromSpanError(s: SpanErrorSignal): EvidenceUpdate {
  const detail = [s.httpStatus ? `HTTP ${s.httpStatus}` : '', s.errorType].filter(Boolean).join(', ');
  const peer = s.peer ? ` → ${s.peer}` : '';
  const u = blankUpdate(
    'span_errors',
    `span_errors|${s.service}|${s.operation}|${s.spanKind}|${s.peer}`,
    s.atMs,
    short(
      `failed ${SPAN_KIND[s.spanKind] ?? 'unknown'} spans of ${s.service} "${s.operation}"${peer}${detail ? ` (${detail})` : ''}`,
    ),
  );
  u.traceId = s.traceId;
  u.pod = s.pod;
  return u;
}

// Numbers, hex ids and quoted values vary between otherwise identical log lines.
const VARIABLE = /0x[0-9a-f]+|[0-9a-f]{8,}|\d+(\.\d+)?|"[^"]*"|'[^']*'/gi;

export function fromLog(s: LogSignal): EvidenceUpdate {
  const template = s.exceptionType || s.body.slice(0, 120).replace(VARIABLE, '#');
  const u = blankUpdate(
    'log',
    `log|${s.service}|${template}`,
    s.atMs,
    short(`${s.service}: ${s.exceptionType ? `${s.exceptionType}: ` : ''}${s.body}`),
  );
  u.traceId = s.traceId;
  u.pod = s.pod;
  u.message = s.body.slice(0, SUMMARY_MAX);
  u.logClass = s.logClass;
  return u;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * A pod-status fact (src/enrich/pod-status.ts). Terminations and waiting reasons are `restart` items
 * keyed like the Event- and metric-derived ones (`restart|OOMKilled|app`), so the same reason on the
 * same container is one item whichever source saw it; an unschedulable pod is a `pod_status` item.
 * `now` stands in when the status gives no time.
 */
export function fromPodStatus(c: PodStatusChange, now: number): EvidenceUpdate {
  const at = c.atMs ?? now;
  const pod = c.pod || '?';
  if (c.kind === 'unschedulable') {
    const u = blankUpdate(
      'pod_status',
      `pod_status|PodScheduled|${c.reason}`,
      at,
      short(`${c.reason}: pod ${pod} is Pending (PodScheduled=False)${c.message ? `: ${c.message}` : ''}`),
    );
    u.pod = c.pod;
    u.object = { kind: 'Pod', name: c.pod, uid: c.podUid };
    return u;
  }
  const facts: string[] = [];
  if (c.kind === 'terminated') {
    if (c.exitCode !== null) facts.push(`exit code ${c.exitCode}`);
  } else if (c.lastTerminated) {
    facts.push(
      `last terminated: ${c.lastTerminated}${c.exitCode !== null ? `, exit code ${c.exitCode}` : ''}`,
    );
  }
  if (c.restarts > 0) facts.push(`${c.restarts} restart${c.restarts === 1 ? '' : 's'}`);
  facts.push('container status');
  const u = blankUpdate(
    'restart',
    `restart|${c.reason}|${c.container}`,
    at,
    short(
      `${c.reason}: container ${c.container} of pod ${pod} (${facts.join('; ')})${c.message ? `: ${c.message}` : ''}`,
    ),
  );
  u.pod = c.pod;
  u.container = c.container;
  u.object = { kind: 'Pod', name: c.pod, uid: c.podUid };
  return u;
}
