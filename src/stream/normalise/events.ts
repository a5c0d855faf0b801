// Kubernetes Events in their three OTLP shapes (FORMATS.md §3, §4):
//  - k8seventsreceiver: resource attrs k8s.object.*, k8s.node.name; log attrs k8s.event.reason, k8s.event.uid,
//    k8s.event.name, k8s.namespace.name, k8s.event.count (int); body = message; severity_text = type.
//  - k8sobjectsreceiver watch mode: body = {type: ADDED|MODIFIED|DELETED, object: <Event>}; pull mode: body = <Event>.
//  - <Event> as core/v1 (involvedObject, message, count, source) or events.k8s.io/v1 (regarding, note, series).

import type { EventSignal, WorkloadRef } from '../signals.ts';
import type { AnyValue, KeyValue, LogRecord } from '../wire/otlp-model.ts';
import { getNumberAttr, getStringAttr, numberValue } from '../wire/otlp-model.ts';
import {
  L_COUNT,
  L_NAMESPACE,
  L_REASON,
  L_START_TIME,
  L_UID,
  type LogsScan,
  R_FIELDPATH,
  R_KIND,
  R_NAME,
  R_NAMESPACE,
  R_NODE,
  R_UID,
} from '../wire/scan-logs.ts';
import { clip, type NormaliseContext, nanosToMs } from './context.ts';
import { field, num, str, timeMs } from './kvlist.ts';

/** From k8seventsreceiver: true when the record was an event (and was handled). */
export function fromK8sEventsReceiver(
  rec: LogRecord,
  resourceAttrs: readonly KeyValue[],
  cluster: string,
  ctx: NormaliseContext,
): boolean {
  const reason = getStringAttr(rec.attributes, 'k8s.event.reason');
  if (reason === undefined) return false;
  const f = fields;
  f.reason = reason;
  // events.k8s.io/v1 variant of the receiver (open PR #50962) moves the namespace to the resource.
  f.namespace =
    getStringAttr(rec.attributes, 'k8s.namespace.name') ??
    getStringAttr(resourceAttrs, 'k8s.namespace.name') ??
    '';
  f.objectKind = getStringAttr(resourceAttrs, 'k8s.object.kind') ?? '';
  f.objectName = getStringAttr(resourceAttrs, 'k8s.object.name') ?? '';
  f.node = getStringAttr(resourceAttrs, 'k8s.node.name') ?? '';
  f.objectUid = getStringAttr(resourceAttrs, 'k8s.object.uid') ?? '';
  f.fieldPath = getStringAttr(resourceAttrs, 'k8s.object.fieldpath') ?? '';
  f.count = getNumberAttr(rec.attributes, 'k8s.event.count');
  f.eventUid = getStringAttr(rec.attributes, 'k8s.event.uid') ?? '';
  f.startTime = getStringAttr(rec.attributes, 'k8s.event.start_time') ?? '';
  f.atMs = nanosToMs(rec.timeUnixNano) || nanosToMs(rec.observedTimeUnixNano) || ctx.recordTimeMs;
  f.eventType = rec.severityText || severityToType(rec.severityNumber);
  f.message = typeof rec.body === 'string' ? rec.body : '';
  f.workload = ctx.resolver.resolve(f.namespace, f.objectKind, f.objectName);
  emitReceiverEvent(f, cluster, ctx);
  return true;
}

/** fromK8sEventsReceiver over a scanned record (src/stream/wire/scan-logs.ts): the same signal. */
export function fromK8sEventsReceiverScan(
  scan: LogsScan,
  rec: number,
  cluster: string,
  ctx: NormaliseContext,
): boolean {
  const reason = scan.logString(rec, L_REASON);
  if (reason === undefined) return false;
  const rl = scan.rlOf(rec);
  const eventType = scan.severityText(rec) || severityToType(scan.severityNumber(rec));
  // An Event the consumer drops on sight (most are Normal) is read no further (NormaliseContext.dropEvent):
  // its reason and type decide. One that may report a container state is built whole: its container
  // signal follows it.
  if (
    ctx.dropEvent !== undefined &&
    !(mayReportContainerState(reason) && scan.resourceString(rl, R_KIND) === 'Pod') &&
    ctx.dropEvent(cluster, eventType, reason)
  )
    return true;
  const f = fields;
  f.reason = reason;
  f.eventType = eventType;
  f.namespace = scan.logString(rec, L_NAMESPACE) ?? scan.resourceString(rl, R_NAMESPACE) ?? '';
  f.objectKind = scan.resourceString(rl, R_KIND) ?? '';
  f.objectName = scan.resourceString(rl, R_NAME) ?? '';
  f.node = scan.resourceString(rl, R_NODE) ?? '';
  f.objectUid = scan.resourceString(rl, R_UID) ?? '';
  f.fieldPath = scan.resourceString(rl, R_FIELDPATH) ?? '';
  f.count = numberValue(scan.logAttr(rec, L_COUNT));
  f.eventUid = scan.logString(rec, L_UID) ?? '';
  f.startTime = scan.logString(rec, L_START_TIME) ?? '';
  f.atMs = scan.timeMs(rec) || scan.observedTimeMs(rec) || ctx.recordTimeMs;
  const body = scan.body(rec);
  f.message = typeof body === 'string' ? body : '';
  f.workload = workloadInPayload(scan, ctx, f.namespace, f.objectKind, f.objectName);
  emitReceiverEvent(f, cluster, ctx);
  return true;
}

interface KnownWorkload {
  namespace: string;
  objectKind: string;
  resolver: NormaliseContext['resolver'];
  workload: WorkloadRef | undefined;
}
const knownWorkloads = new Map<string, KnownWorkload>();
let knownIn: LogsScan | undefined;

/**
 * ctx.resolver.resolve, remembered by object for the rest of the payload (a payload is normalised in
 * one synchronous pass, so neither the cluster cache nor the rules change during it): a pod's Events
 * come in runs, and each resolve made a fresh WorkloadRef and name, which the pipeline then hashed
 * into a fresh scope key per signal. One ref per workload and payload also lets the pipeline keep its
 * scope key (Pipeline.#scopeOf).
 */
function workloadInPayload(
  scan: LogsScan,
  ctx: NormaliseContext,
  namespace: string,
  objectKind: string,
  objectName: string,
): WorkloadRef | undefined {
  if (knownIn !== scan) {
    knownIn = scan;
    knownWorkloads.clear();
  }
  const known = knownWorkloads.get(objectName);
  if (
    known !== undefined &&
    known.namespace === namespace &&
    known.objectKind === objectKind &&
    known.resolver === ctx.resolver
  )
    return known.workload;
  const workload = ctx.resolver.resolve(namespace, objectKind, objectName);
  knownWorkloads.set(objectName, { namespace, objectKind, resolver: ctx.resolver, workload });
  return workload;
}

/** A k8seventsreceiver record's fields, as its attributes give them; one scratch object, reused. */
interface ReceiverEventFields {
  reason: string;
  namespace: string;
  objectKind: string;
  objectName: string;
  node: string;
  objectUid: string;
  fieldPath: string;
  count: number | undefined;
  eventUid: string;
  startTime: string;
  atMs: number;
  eventType: string;
  message: string;
  workload: WorkloadRef | undefined;
}

const fields: ReceiverEventFields = {
  reason: '',
  namespace: '',
  objectKind: '',
  objectName: '',
  node: '',
  objectUid: '',
  fieldPath: '',
  count: undefined,
  eventUid: '',
  startTime: '',
  atMs: 0,
  eventType: '',
  message: '',
  workload: undefined,
};

function emitReceiverEvent(f: ReceiverEventFields, cluster: string, ctx: NormaliseContext): void {
  const ev: EventSignal = {
    type: 'event',
    atMs: f.atMs,
    cluster,
    namespace: f.namespace,
    pod: f.objectKind === 'Pod' ? f.objectName : '',
    node: f.node,
    workload: f.workload,
    eventType: f.eventType,
    reason: f.reason,
    message: clip(f.message),
    objectKind: f.objectKind,
    objectName: f.objectName,
    objectUid: f.objectUid,
    fieldPath: f.fieldPath,
    count: f.count || 1,
    eventUid: f.eventUid,
    firstAtMs: goTimeMs(f.startTime),
  };
  emitEvent(ev, ctx);
}

/** From k8sobjectsreceiver (watch or pull) when the body holds an Event object. */
export function fromK8sObjectsReceiver(
  rec: LogRecord,
  resourceAttrs: readonly KeyValue[],
  cluster: string,
  ctx: NormaliseContext,
): boolean {
  const body = rec.body;
  let obj: AnyValue = field(body, 'object');
  let watchType = '';
  if (obj !== undefined) watchType = str(field(body, 'type'));
  else obj = body;
  if (str(field(obj, 'kind')) !== 'Event') return false;
  // A deleted Event is the API server's garbage collection, not a new occurrence.
  if (watchType === 'DELETED') return true;

  const meta = field(obj, 'metadata');
  const core = field(obj, 'involvedObject');
  const regarding = core ?? field(obj, 'regarding');
  const namespace =
    str(field(regarding, 'namespace')) ||
    str(field(meta, 'namespace')) ||
    (getStringAttr(resourceAttrs, 'k8s.namespace.name') ?? '');
  const objectKind = str(field(regarding, 'kind'));
  const objectName = str(field(regarding, 'name'));
  const count =
    num(field(obj, 'count')) ||
    num(field(field(obj, 'series'), 'count')) ||
    num(field(obj, 'deprecatedCount')) ||
    1;
  const atMs =
    timeMs(field(obj, 'lastTimestamp')) ||
    timeMs(field(field(obj, 'series'), 'lastObservedTime')) ||
    timeMs(field(obj, 'eventTime')) ||
    timeMs(field(obj, 'deprecatedLastTimestamp')) ||
    timeMs(field(obj, 'firstTimestamp')) ||
    nanosToMs(rec.timeUnixNano) ||
    nanosToMs(rec.observedTimeUnixNano) ||
    ctx.recordTimeMs;
  const ev: EventSignal = {
    type: 'event',
    atMs,
    cluster,
    namespace,
    pod: objectKind === 'Pod' ? objectName : '',
    node: str(field(field(obj, 'source'), 'host')),
    workload: ctx.resolver.resolve(namespace, objectKind, objectName),
    eventType: str(field(obj, 'type')),
    reason: str(field(obj, 'reason')),
    message: clip(str(field(obj, core !== undefined ? 'message' : 'note'))),
    objectKind,
    objectName,
    objectUid: str(field(regarding, 'uid')),
    fieldPath: str(field(regarding, 'fieldPath')),
    count,
    eventUid: str(field(meta, 'uid')),
    firstAtMs:
      timeMs(field(obj, 'firstTimestamp')) ||
      timeMs(field(obj, 'deprecatedFirstTimestamp')) ||
      timeMs(field(obj, 'eventTime')) ||
      timeMs(field(meta, 'creationTimestamp')),
  };
  emitEvent(ev, ctx);
  return true;
}

// Go's time.Time.String(): "2024-05-01 12:00:00.123 +0000 UTC" (k8s.event.start_time, FORMATS.md §3),
// possibly followed by a monotonic clock reading (" m=+0.1"). RFC 3339 is accepted too.
const GO_TIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([+-])(\d\d)(\d\d)\b/;

/** Epoch ms of a Go or RFC 3339 time string; 0 when absent or unreadable (unknown, never 1970). */
export function goTimeMs(v: string): number {
  if (!v) return 0;
  // An Event's updates repeat its start_time: one remembered answer saves the regex and Date.parse
  // (3.8 % of the pipeline bench's CPU profile before it).
  if (v === lastGoTime) return lastGoTimeMs;
  let ms = goTimeFastMs(v);
  if (ms === -1) {
    const m = GO_TIME.exec(v);
    ms = Date.parse(m ? `${m[1]}T${m[2]}${m[3]}${m[4]}:${m[5]}` : v);
  }
  lastGoTime = v;
  lastGoTimeMs = Number.isNaN(ms) || ms <= 0 ? 0 : ms;
  return lastGoTimeMs;
}
let lastGoTime = '';
let lastGoTimeMs = 0;

/**
 * goTimeMs's answer for the usual Go time string (year 1970-9999, every field in range, the offset
 * followed by a non-word character or the end), read char by char; -1 for anything else, which the
 * regex and Date.parse then decide, so the answer is theirs for every input (test/stream/go-time.test.ts
 * compares the two). Real clusters send a distinct start time per Event, which the one-entry memo
 * cannot catch: 365 → 118 ns a string, 3.1× (min 2.7, max 3.2; `node bench/go-time.ts 11`, distinct strings).
 */
export function goTimeFastMs(v: string): number {
  const n = v.length;
  // "YYYY-MM-DD HH:MM:SS +HHMM" is 25 characters; a fraction goes between the seconds and the space.
  if (n < 25) return -1;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  const hour = digits(v, 11, 2);
  const minute = digits(v, 14, 2);
  const second = digits(v, 17, 2);
  if (
    (year | month | day | hour | minute | second) < 0 ||
    v.charCodeAt(4) !== 0x2d ||
    v.charCodeAt(7) !== 0x2d ||
    v.charCodeAt(10) !== 0x20 ||
    v.charCodeAt(13) !== 0x3a ||
    v.charCodeAt(16) !== 0x3a ||
    year < 1970 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return -1;
  let i = 19;
  let millis = 0;
  if (v.charCodeAt(i) === 0x2e) {
    // Date.parse keeps the first three digits of a fraction and drops the rest.
    const from = ++i;
    for (; i < n; i++) {
      const d = v.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (i - from < 3) millis = millis * 10 + d;
    }
    if (i === from) return -1;
    for (let k = i - from; k < 3; k++) millis *= 10;
  }
  if (i + 6 > n || v.charCodeAt(i) !== 0x20) return -1;
  const sign = v.charCodeAt(i + 1);
  const offH = digits(v, i + 2, 2);
  const offM = digits(v, i + 4, 2);
  if ((sign !== 0x2b && sign !== 0x2d) || (offH | offM) < 0 || offH > 23 || offM > 59) return -1;
  // The regex's \b after the offset: the end or a character outside [A-Za-z0-9_].
  if (i + 6 < n && isWordChar(v.charCodeAt(i + 6))) return -1;
  const offsetMs = (offH * 60 + offM) * 60_000;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  return sign === 0x2b ? utc - offsetMs : utc + offsetMs;
}

/** The decimal number in v[at, at + len), or -1 when any of its characters is not a digit. */
function digits(v: string, at: number, len: number): number {
  let x = 0;
  for (let i = at; i < at + len; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function severityToType(sev: number): string {
  if (sev >= 13 && sev <= 16) return 'Warning';
  if (sev >= 9 && sev <= 12) return 'Normal';
  return '';
}

// Waiting reasons the kubelet puts in the message of its "Failed" events; ErrImagePull last, as
// "ImagePullBackOff" messages can mention it too.
const FAILED_EVENT_REASONS = [
  'ImagePullBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
  'RunContainerError',
  'ContainerCannotRun',
  'ErrImagePull',
];

const CONTAINER_IN_FIELDPATH = /\{([^}]+)\}/;

/** Emits the event, plus the container state it reports (BackOff, image pull, config errors). */
function emitEvent(ev: EventSignal, ctx: NormaliseContext): void {
  ctx.emit(ev);
  if (ev.objectKind !== 'Pod') return;
  const reason = containerReasonOf(ev.reason, ev.message);
  if (!reason) return;
  ctx.emit({
    type: 'container',
    atMs: ev.atMs,
    cluster: ev.cluster,
    namespace: ev.namespace,
    pod: ev.pod,
    node: ev.node,
    workload: ev.workload,
    container: containerOf(ev.fieldPath),
    reason,
    restarts: undefined,
    via: 'event',
    eventUid: ev.eventUid,
    count: ev.count,
  });
}

/**
 * The container a fieldPath names (`spec.containers{app}` → `app`). A pod's events repeat the same
 * few fieldPaths, and the decoder interns them: one remembered answer saves the regex.
 */
export function containerOf(fieldPath: string): string {
  if (fieldPath !== lastFieldPath) {
    lastFieldPath = fieldPath;
    lastContainer = CONTAINER_IN_FIELDPATH.exec(fieldPath)?.[1] ?? '';
  }
  return lastContainer;
}
let lastFieldPath = '';
let lastContainer = '';

/** Whether containerReasonOf can answer anything for this reason (whatever the message): its cases. */
function mayReportContainerState(reason: string): boolean {
  switch (reason) {
    case 'BackOff':
    case 'Failed':
    case 'OOMKilled':
    case 'CrashLoopBackOff':
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'CreateContainerConfigError':
      return true;
    default:
      return false;
  }
}

/**
 * The kubelet's event reasons and messages for container trouble, mapped to the container state names.
 * A new case goes into mayReportContainerState too.
 */
export function containerReasonOf(reason: string, message: string): string | undefined {
  // Asked twice per Pod event, with the same strings: by emitEvent, then by the pipeline's routing of
  // the event (its container state joins the event's item). The second answer is remembered: the
  // message scans were 1.9 % of a CPU profile of dedup + grouping over bench/pipeline.ts's stream.
  if (reason === lastReasonAsked && message === lastMessageAsked) return lastContainerReason;
  lastReasonAsked = reason;
  lastMessageAsked = message;
  lastContainerReason = containerReasonFor(reason, message);
  return lastContainerReason;
}
let lastReasonAsked = '';
let lastMessageAsked = '';
let lastContainerReason: string | undefined;

function containerReasonFor(reason: string, message: string): string | undefined {
  switch (reason) {
    case 'BackOff':
      if (message.includes('restarting failed container')) return 'CrashLoopBackOff';
      if (message.includes('pulling image')) return 'ImagePullBackOff';
      return undefined;
    case 'Failed':
      // "Error: ImagePullBackOff" — look for the specific waiting reason, not the word "Error".
      for (const r of FAILED_EVENT_REASONS) if (message.includes(r)) return r;
      if (message.includes('Failed to pull image')) return 'ErrImagePull';
      if (message.includes('not found') && /configmap|secret/i.test(message))
        return 'CreateContainerConfigError';
      return undefined;
    case 'OOMKilled':
    case 'CrashLoopBackOff':
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'CreateContainerConfigError':
      return reason;
    default:
      return undefined;
  }
}
