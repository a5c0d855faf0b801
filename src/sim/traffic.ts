// Application traffic: requests enter at a service, fan out along a call graph to the pods behind
// each Kubernetes Service (only serving pods get traffic) and come back as traces and logs the way
// instrumented apps emit them (semconv, ../../shared/FORMATS.md §8):
//   - SERVER span per hop: name "{method} {route}", http.request.method, http.route, url.path,
//     http.response.status_code; status ERROR only for 5xx; `error.type` and an `exception` span
//     event when the handler threw;
//   - CLIENT span per call: name "{method}", server.address/server.port, url.full, peer.service,
//     http.response.status_code; status ERROR for any failure (4xx/5xx/connection errors);
//   - log records: INFO for a sample of requests, ERROR (+ exception.* attributes) on failure,
//     both tied to the span context.
// Resource attributes are the SDK's (service.*, telemetry.sdk.*, k8s.container.name from the
// operator's OTEL_RESOURCE_ATTRIBUTES) plus k8sattributes' defaults (§5).
// Healthy latencies are bounded (own time × 0.85–1.25, rarely ×1.5) so a healthy service's p99 never
// looks like an anomaly against its own baseline; trouble comes only from the scenario's `behave`.
import { attrs, nanos } from './attrs.ts';
import type { PodModel, ServiceModel } from './cluster.ts';
import { k8sTime } from './cluster.ts';
import type { Sim } from './engine.ts';

export interface Call {
  service: string;
  op: string;
  /** Other calls of the same operation go on when this one fails (a degraded, not failed, page). */
  optional?: boolean;
}

export interface Operation {
  method: string;
  route: string;
  /** Own processing time (ms) on a healthy pod. */
  baseMs: number;
  calls?: Call[];
  /** Share of requests answered 404 (server side: not an error). */
  notFoundRate?: number;
  /** The operation's INFO log line, if it logs. */
  logLine?: string;
}

export interface Failure {
  status: number;
  errorType: string;
  exception?: { type: string; message: string; stacktrace?: string };
  log?: string;
}

/** What a scenario does to a request served by one pod at one time. */
export interface Outcome {
  /** Multiplies the own processing time. */
  factor?: number;
  extraMs?: number;
  fail?: Failure;
  /** The connection broke before a response (process killed): no server span reaches the Collector. */
  reset?: boolean;
}

export type Language = 'java' | 'go' | 'nodejs' | 'python';

export interface AppService {
  /** service.name, also the Kubernetes Service name callers use. */
  name: string;
  namespace: string;
  language: Language;
  ops: Record<string, Operation>;
  /** Requests from outside (ingress) per 10 s at time t, and the mix of entry operations. */
  entry?: { perTick: (t: number) => number; mix: [string, number][] };
  behave?: (ctx: { t: number; pod: PodModel; op: string }) => Outcome | undefined;
  /** Share of successful requests that write an INFO line (default 0.1). */
  infoLogRate?: number;
  /** A DB or other uninstrumented dependency called on each request: client spans only. */
  database?: { system: string; address: string; port: number; namespace: string; statement: string };
  dbBehave?: (ctx: {
    t: number;
    pod: PodModel;
  }) => { fail?: { errorType: string; message: string }; extraMs?: number } | undefined;
}

const SDK: Record<
  Language,
  { name: string; version: string; scope: string; scopeVersion: string; logger: (s: string) => string }
> = {
  java: {
    name: 'opentelemetry',
    version: '1.47.0',
    scope: 'io.opentelemetry.spring-webmvc-6.0',
    scopeVersion: '2.13.3-alpha',
    logger: (s) => `com.example.${s.replace(/-/g, '')}.web.RequestHandler`,
  },
  go: {
    name: 'opentelemetry',
    version: '1.35.0',
    scope: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp',
    scopeVersion: '0.60.0',
    logger: (s) => `github.com/example/${s}/internal/server`,
  },
  nodejs: {
    name: 'opentelemetry',
    version: '2.0.0',
    scope: '@opentelemetry/instrumentation-http',
    scopeVersion: '0.200.0',
    logger: (s) => `${s}:server`,
  },
  python: {
    name: 'opentelemetry',
    version: '1.31.1',
    scope: 'opentelemetry.instrumentation.flask',
    scopeVersion: '0.52b1',
    logger: (s) => `${s}.app`,
  },
};

interface Served {
  status: number;
  endMs: number;
  /** Connection-level failure (reset, refused): no HTTP status. */
  error?: string;
}

export class Traffic {
  readonly #sim: Sim;
  readonly #services = new Map<string, AppService>();
  readonly #k8s = new Map<string, ServiceModel>();
  /**
   * The background layer's sporadic failures (scenarios/background.ts): asked only when the scenario's
   * own `behave` did not fail the request, so a scenario's trouble is never masked.
   */
  sporadic: ((svc: AppService, pod: PodModel, t: number) => Failure | undefined) | undefined;

  constructor(sim: Sim, services: AppService[]) {
    this.#sim = sim;
    for (const s of services) this.#services.set(s.name, s);
    sim.sdkResource = (p) => this.#resource(p);
  }

  services(): AppService[] {
    return [...this.#services.values()];
  }

  service(name: string): AppService {
    const s = this.#services.get(name);
    if (!s) throw new Error(`no app service ${name}`);
    return s;
  }

  /** Starts the ingress load: every 10 s, each entry service gets its requests spread over the tick. */
  start(tickMs = 10_000): void {
    const sim = this.#sim;
    for (const s of sim.cluster.services) this.#k8s.set(`${s.namespace}/${s.name}`, s);
    sim.every(sim.noise.int(0, 2000), tickMs, (now) => {
      for (const svc of this.#services.values()) {
        if (!svc.entry) continue;
        const n = sim.noise.count(svc.entry.perTick(now));
        const starts: number[] = [];
        for (let i = 0; i < n; i++) starts.push(now + sim.noise.int(0, tickMs - 1));
        starts.sort((a, b) => a - b);
        for (const at of starts) {
          const op = weighted(svc.entry.mix, sim.noise.next());
          this.#serve(svc, op, at, sim.noise.bytes(16), undefined);
        }
      }
    });
  }

  #resource(p: PodModel) {
    const svc = this.#services.get(p.labels.app ?? '') ?? this.#services.get(p.workload.name);
    const lang = SDK[svc?.language ?? 'go'];
    const c = p.app;
    const img = c.image();
    const resource = {
      attributes: attrs({
        'service.name': svc?.name ?? p.workload.name,
        'service.version': img.tag,
        'telemetry.sdk.language': svc?.language ?? 'go',
        'telemetry.sdk.name': lang.name,
        'telemetry.sdk.version': lang.version,
        'k8s.container.name': c.spec.name,
        // k8sattributes (defaults):
        'k8s.namespace.name': p.namespace,
        'k8s.pod.name': p.name,
        'k8s.pod.uid': p.uid,
        'k8s.pod.start_time': k8sTime(p.scheduledAt || p.createdAt),
        'k8s.deployment.name': p.workload.kind === 'Deployment' ? p.workload.name : undefined,
        'k8s.node.name': p.node,
        'container.image.name': img.name,
        'container.image.tag': img.tag,
      }),
    };
    return {
      resource,
      spanScope: { name: lang.scope, version: lang.scopeVersion },
      logScope: { name: lang.logger(svc?.name ?? p.workload.name), version: '' },
    };
  }

  #pick(svc: AppService): PodModel | undefined {
    const k = this.#k8s.get(`${svc.namespace}/${svc.name}`);
    if (!k) return undefined;
    const pods = this.#sim.cluster.endpoints(k);
    if (!pods.length) return undefined;
    return pods[Math.floor(this.#sim.noise.next() * pods.length)];
  }

  /** Serves one request on a pod of `svc`; returns what the caller sees. */
  #serve(
    svc: AppService,
    opName: string,
    startMs: number,
    traceId: Buffer,
    parent: Buffer | undefined,
  ): Served {
    const sim = this.#sim;
    const rng = sim.noise;
    const op = svc.ops[opName];
    if (!op) throw new Error(`${svc.name} has no operation ${opName}`);
    const pod = this.#pick(svc);
    if (!pod) return { status: 0, endMs: startMs + rng.int(1, 3), error: 'connection refused' };
    let outcome = svc.behave?.({ t: startMs, pod, op: opName });
    if (this.sporadic && !outcome?.fail && !outcome?.reset) {
      const fail = this.sporadic(svc, pod, startMs);
      if (fail) outcome = { ...outcome, fail };
    }
    const jitter = rng.chance(0.03) ? 1.5 : rng.float(0.85, 1.25);
    const own = op.baseMs * jitter * (outcome?.factor ?? 1) + (outcome?.extraMs ?? 0);
    if (outcome?.reset) {
      return { status: 0, endMs: startMs + Math.round(own), error: 'connection reset' };
    }
    const spanId = rng.bytes(8);
    let cursor = startMs + own * 0.3;
    let downstreamFailed: Served | undefined;
    let fail = outcome?.fail;
    if (svc.database && !fail) {
      const db = this.#dbCall(svc, pod, cursor, traceId, spanId);
      cursor = db.endMs;
      if (db.fail) {
        fail = {
          status: 500,
          errorType: db.fail.errorType,
          exception: { type: db.fail.errorType, message: db.fail.message },
          log: `${op.method} ${op.route} failed: ${db.fail.message}`,
        };
      }
    }
    for (const call of fail ? [] : (op.calls ?? [])) {
      const callee = this.#services.get(call.service);
      if (!callee) continue;
      const res = this.#call(svc, pod, callee, call.op, cursor, traceId, spanId);
      cursor = res.endMs;
      if ((res.status >= 500 || res.status === 0) && !call.optional) {
        downstreamFailed = res;
        break;
      }
    }
    if (!fail && downstreamFailed) {
      fail = {
        status: downstreamFailed.status === 0 ? 503 : 502,
        errorType: downstreamFailed.error ? 'UpstreamConnectError' : `${downstreamFailed.status}`,
        log: `upstream request failed: ${downstreamFailed.error ?? `HTTP ${downstreamFailed.status}`}`,
      };
    }
    const notFound = !fail && op.notFoundRate !== undefined && rng.chance(op.notFoundRate);
    const status = fail ? fail.status : notFound ? 404 : op.method === 'POST' ? 201 : 200;
    const endMs = Math.round(cursor + own * 0.7);
    const path = op.route.replace(/\{[^}]+\}/g, () => String(rng.int(1000, 99_999)));
    const server: Record<string, unknown> = {
      traceId,
      spanId,
      name: `${op.method} ${op.route}`,
      kind: 2,
      startTimeUnixNano: nanos(startMs),
      endTimeUnixNano: nanos(endMs),
      attributes: attrs({
        'http.request.method': op.method,
        'http.route': op.route,
        'url.path': path,
        'http.response.status_code': status,
        'error.type': fail && status >= 500 ? fail.errorType : undefined,
      }),
      status: fail && status >= 500 ? { code: 2, message: fail.exception?.message ?? '' } : { code: 0 },
      flags: 257,
    };
    if (parent) server.parentSpanId = parent;
    if (fail?.exception) {
      server.events = [
        {
          timeUnixNano: nanos(endMs - 1),
          name: 'exception',
          attributes: attrs({
            'exception.type': fail.exception.type,
            'exception.message': fail.exception.message,
            'exception.stacktrace': fail.exception.stacktrace,
          }),
        },
      ];
    }
    sim.span(pod, endMs, server);
    const lines = SDK[svc.language];
    if (fail && status >= 500) {
      sim.log(pod, endMs, {
        timeUnixNano: nanos(endMs),
        observedTimeUnixNano: nanos(endMs),
        severityNumber: 17,
        severityText: 'ERROR',
        body: {
          stringValue:
            fail.log ?? `${op.method} ${op.route} failed: ${fail.exception?.message ?? fail.errorType}`,
        },
        attributes: attrs({
          'exception.type': fail.exception?.type,
          'exception.message': fail.exception?.message,
          'code.function.name': `${lines.logger(svc.name)}.handle`,
        }),
        traceId,
        spanId,
        flags: 1,
      });
    } else if (op.logLine && rng.chance(svc.infoLogRate ?? 0.1)) {
      sim.log(pod, endMs, {
        timeUnixNano: nanos(endMs),
        observedTimeUnixNano: nanos(endMs),
        severityNumber: 9,
        severityText: 'INFO',
        body: {
          stringValue: op.logLine
            .replace('{ms}', String(Math.round(endMs - startMs)))
            .replace('{status}', String(status)),
        },
        attributes: attrs({ 'code.function.name': `${lines.logger(svc.name)}.handle` }),
        traceId,
        spanId,
        flags: 1,
      });
    }
    return { status, endMs };
  }

  /** A client span on the caller's pod around the callee's server span. */
  #call(
    caller: AppService,
    pod: PodModel,
    callee: AppService,
    opName: string,
    startMs: number,
    traceId: Buffer,
    parent: Buffer,
  ): Served {
    const rng = this.#sim.noise;
    const op = callee.ops[opName];
    if (!op) throw new Error(`${callee.name} has no operation ${opName}`);
    const spanId = rng.bytes(8);
    const res = this.#serve(callee, opName, startMs + rng.int(1, 2), traceId, spanId);
    const endMs = res.endMs + rng.int(1, 2);
    const failed = res.status >= 400 || res.status === 0;
    const host = `${callee.name}.${callee.namespace}.svc.cluster.local`;
    const path = op.route.replace(/\{[^}]+\}/g, () => String(rng.int(1000, 99_999)));
    this.#sim.span(pod, endMs, {
      traceId,
      spanId,
      parentSpanId: parent,
      name: op.method,
      kind: 3,
      startTimeUnixNano: nanos(startMs),
      endTimeUnixNano: nanos(endMs),
      attributes: attrs({
        'http.request.method': op.method,
        'server.address': host,
        'server.port': 8080,
        'url.full': `http://${host}:8080${path}`,
        'peer.service': callee.name,
        'http.response.status_code': res.status || undefined,
        'error.type': failed
          ? res.error
            ? errorTypeOf(caller.language, res.error)
            : String(res.status)
          : undefined,
      }),
      status: failed ? { code: 2, message: res.error ?? '' } : { code: 0 },
      flags: 257,
    });
    return res;
  }

  #dbCall(
    svc: AppService,
    pod: PodModel,
    startMs: number,
    traceId: Buffer,
    parent: Buffer,
  ): { endMs: number; fail?: { errorType: string; message: string } } {
    const db = svc.database!;
    const rng = this.#sim.noise;
    const b = svc.dbBehave?.({ t: startMs, pod });
    const endMs = Math.round(startMs + rng.float(1.5, 4) + (b?.extraMs ?? 0));
    const fail = b?.fail;
    const operation = db.statement.split(' ')[0] ?? 'SELECT';
    const span: Record<string, unknown> = {
      traceId,
      spanId: rng.bytes(8),
      parentSpanId: parent,
      name: `${operation} ${db.namespace}`,
      kind: 3,
      startTimeUnixNano: nanos(startMs),
      endTimeUnixNano: nanos(endMs),
      attributes: attrs({
        'db.system.name': db.system,
        'db.namespace': db.namespace,
        'db.operation.name': operation,
        'db.query.text': db.statement,
        'server.address': db.address,
        'server.port': db.port,
        'error.type': fail?.errorType,
      }),
      status: fail ? { code: 2, message: fail.message } : { code: 0 },
      flags: 257,
    };
    if (fail) {
      span.events = [
        {
          timeUnixNano: nanos(endMs),
          name: 'exception',
          attributes: attrs({ 'exception.type': fail.errorType, 'exception.message': fail.message }),
        },
      ];
    }
    this.#sim.span(pod, endMs, span);
    return fail ? { endMs, fail } : { endMs };
  }
}

function errorTypeOf(lang: Language, error: string): string {
  if (lang === 'java')
    return error === 'connection reset' ? 'java.net.SocketException' : 'java.net.ConnectException';
  if (lang === 'go') return '*net.OpError';
  if (lang === 'nodejs') return error === 'connection reset' ? 'ECONNRESET' : 'ECONNREFUSED';
  return error === 'connection reset' ? 'ConnectionResetError' : 'ConnectionRefusedError';
}

function weighted(mix: [string, number][], u: number): string {
  const total = mix.reduce((a, [, w]) => a + w, 0);
  let x = u * total;
  for (const [name, w] of mix) {
    x -= w;
    if (x < 0) return name;
  }
  return mix[mix.length - 1]?.[0] ?? '';
}
