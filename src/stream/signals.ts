// Typed signals: what the decoders' OTLP model is normalised into before dedup and grouping.
// Only fields that later stages use are kept; everything else in the record is skipped.
import type { PeerRef } from './normalise/peer.ts';

export interface WorkloadRef {
  /** Deployment, StatefulSet, DaemonSet, Job, CronJob, Node, Pod (unresolved), Service (OTel service only). */
  kind: string;
  name: string;
}

/** Where a signal happened, before the workload is known. */
export interface SignalSite {
  cluster: string;
  namespace: string;
  pod: string;
  node: string;
  /** Resolved workload, or undefined when nothing identifies one. */
  workload: WorkloadRef | undefined;
  /** The resource's deployment.environment(.name), when it has one, and which attribute said so. */
  environment?: string;
  environmentSource?: string;
}

interface SignalBase extends SignalSite {
  /** Epoch milliseconds of the observation (the grouping clock in replay). */
  atMs: number;
}

/** A Kubernetes Event, from k8seventsreceiver or k8sobjectsreceiver (core/v1 or events.k8s.io/v1). */
export interface EventSignal extends SignalBase {
  type: 'event';
  eventType: string;
  reason: string;
  message: string;
  objectKind: string;
  objectName: string;
  objectUid: string;
  fieldPath: string;
  /** The Event's own occurrence count (1 when absent). */
  count: number;
  eventUid: string;
  /** Epoch ms of the Event's first occurrence (start_time, firstTimestamp, eventTime); 0 unknown. */
  firstAtMs: number;
}

/** A container restart, termination or waiting reason (from events or k8s_cluster metrics). */
export interface ContainerSignal extends SignalBase {
  type: 'container';
  container: string;
  reason: string;
  /** Container restart count when known. */
  restarts: number | undefined;
  via: 'event' | 'metric';
  /** When reported by an Event: its uid and cumulative count (so repeats never count twice). */
  eventUid: string;
  count: number;
}

/** A numeric sample of a metric an anomaly rule watches (or a derived span series). */
export interface MetricSignal extends SignalBase {
  type: 'metric';
  name: string;
  value: number;
  /** Series discriminator within the site (container name, condition, …). */
  series: string;
  /** Extra context for the evidence text (e.g. last terminated reason). */
  detail: string;
}

/** A failed span: status ERROR, HTTP 5xx, or an `exception` event. */
export interface SpanErrorSignal extends SignalBase {
  type: 'span_error';
  service: string;
  operation: string;
  spanKind: number;
  httpStatus: number;
  errorType: string;
  peer: string;
  traceId: string;
  /** Client spans only: the Service the call went to, when the attributes name one (normalise/peer.ts). */
  callee?: PeerRef | undefined;
}

/** An application log at ERROR or above, or an exception log record. */
export interface LogSignal extends SignalBase {
  type: 'log';
  service: string;
  severity: number;
  exceptionType: string;
  body: string;
  traceId: string;
  /** For a record without severity: the class its content matched (floors.logPatterns); '' otherwise. */
  logClass: string;
}

export type Signal = EventSignal | ContainerSignal | MetricSignal | SpanErrorSignal | LogSignal;

/** Container waiting/terminated reasons that mean trouble. */
export const BAD_CONTAINER_REASONS = new Set([
  'OOMKilled',
  'Error',
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
  'ContainerCannotRun',
  'RunContainerError',
]);
