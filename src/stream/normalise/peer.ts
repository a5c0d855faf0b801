// Which service a failing client span called, in terms the cluster knows: a Kubernetes Service name
// and its namespace. Only failing client spans ask (the call graph links failures, not traffic), so
// this is off the hot path of healthy spans.
//
// Attributes read, most specific first (semconv and their legacy names):
//   server.address / net.peer.name            host of the callee
//   url.full / http.url                       its URL's host
//   peer.service                              the logical name the caller gave the callee
//   rpc.service                               gRPC service (`oteldemo.CartService` → `cartservice`)
// A host `<svc>.<ns>.svc[.cluster.local]` names the Service and its namespace exactly; a bare DNS
// label (`inventory`, what a same-namespace caller dials) or peer.service names a Service in the
// caller's namespace. Anything else (an RDS endpoint, an external API, an IP) is not a workload.
import type { KeyValue } from '../wire/otlp-model.ts';
import { getStringAttr } from '../wire/otlp-model.ts';

export interface PeerRef {
  /** Namespace of the callee's Service (the caller's own when the span does not say). */
  namespace: string;
  /** The Service name (also the workload name when no enrichment knows the Service). */
  service: string;
  /** True when the host named the namespace (`<svc>.<ns>.svc…`): the target is exact. */
  qualified: boolean;
}

// RFC 1123 label, what Service names are.
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// `inventory.shop.svc.cluster.local`, `inventory.shop.svc`, `inventory.shop` (trailing dot allowed).
const SERVICE_DNS =
  /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\.([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.svc(\.[a-z0-9.-]+)?)?\.?$/;
// scheme://[userinfo@]host[:port]… ; IPv6 literals are not Service names and are skipped.
const URL_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^:/?#[\]]+)/i;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The Service a failing client span called, or undefined when nothing names one in the cluster. */
export function peerOf(attrs: readonly KeyValue[], callerNamespace: string): PeerRef | undefined {
  let loose: PeerRef | undefined;
  for (const host of hosts(attrs)) {
    const p = fromHost(host, callerNamespace);
    if (p?.qualified) return p;
    loose ??= p;
  }
  const logical = getStringAttr(attrs, 'peer.service');
  if (logical) {
    const name = logical.toLowerCase();
    if (LABEL.test(name)) return { namespace: callerNamespace, service: name, qualified: false };
    const p = fromHost(name, callerNamespace);
    if (p) return p;
  }
  if (loose) return loose;
  const rpc = getStringAttr(attrs, 'rpc.service');
  if (rpc) {
    const name = (rpc.slice(rpc.lastIndexOf('.') + 1) || rpc).toLowerCase();
    if (LABEL.test(name)) return { namespace: callerNamespace, service: name, qualified: false };
  }
  return undefined;
}

// Attribute values are untrusted: a host is at most 253 characters, and a URL's host is near its start.
const MAX_HOST = 253;
const MAX_URL = 4096;

function* hosts(attrs: readonly KeyValue[]): Generator<string> {
  for (const key of ['server.address', 'net.peer.name']) {
    const v = getStringAttr(attrs, key);
    if (v && v.length <= MAX_HOST) yield v.toLowerCase();
  }
  for (const key of ['url.full', 'http.url']) {
    const v = getStringAttr(attrs, key)?.slice(0, MAX_URL);
    const m = v ? URL_HOST.exec(v) : null;
    if (m) yield m[1]!.toLowerCase();
  }
}

function fromHost(host: string, callerNamespace: string): PeerRef | undefined {
  if (IPV4.test(host)) return undefined;
  if (LABEL.test(host))
    return host === 'localhost' ? undefined : { namespace: callerNamespace, service: host, qualified: false };
  // `<svc>.<ns>` is Kubernetes' short form; a two-label external name only matters if a workload of
  // that name has an incident in a namespace of that name.
  const m = SERVICE_DNS.exec(host);
  return m ? { namespace: m[3]!, service: m[1]!, qualified: true } : undefined;
}
