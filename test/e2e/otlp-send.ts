// OTLP clients for the e2e tests, dependency-free: OTLP/HTTP (protobuf POST) with fetch, and OTLP/gRPC
// with node:http2 framing the protobuf in a gRPC length-prefixed message (no @grpc/grpc-js here).
//
// OTLP/HTTP: POST {base}/v1/{logs,metrics,traces}, Content-Type application/x-protobuf, body =
// Export*ServiceRequest; 200 with an Export*ServiceResponse body on success.
// OTLP/gRPC: POST /opentelemetry.proto.collector.<sig>.v1.<Svc>/Export over HTTP/2, content-type
// application/grpc, body = 1 byte compressed-flag (0) + 4 bytes big-endian length + message; the
// outcome is the `grpc-status` trailer (0 = OK), or the header of a trailers-only response.
import { connect } from 'node:http2';

export type OtlpSignal = 'logs' | 'metrics' | 'traces';

const GRPC_PATH: Record<OtlpSignal, string> = {
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
};

export async function sendOtlpHttp(baseUrl: string, signal: OtlpSignal, body: Uint8Array): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) {
    throw new Error(`OTLP/HTTP ${signal}: HTTP ${res.status} ${text.toString('utf8').slice(0, 300)}`);
  }
}

/** Frames a protobuf message as one uncompressed gRPC message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Sends one Export call; resolves with the response message bytes, rejects on a non-OK grpc-status. */
export async function sendOtlpGrpc(address: string, signal: OtlpSignal, body: Uint8Array): Promise<Buffer> {
  const session = connect(`http://${address}`);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      session.once('error', reject);
      const req = session.request({
        ':method': 'POST',
        ':path': GRPC_PATH[signal],
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': '15S',
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      let httpStatus = 0;
      req.on('response', (h) => {
        httpStatus = Number(h[':status']);
        // Trailers-only responses carry grpc-status in the headers.
        if (h['grpc-status'] !== undefined) {
          status = String(h['grpc-status']);
          message = decodeURIComponent(String(h['grpc-message'] ?? ''));
        }
      });
      req.on('trailers', (t) => {
        status = String(t['grpc-status']);
        message = decodeURIComponent(String(t['grpc-message'] ?? ''));
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        if (httpStatus !== 200) return reject(new Error(`OTLP/gRPC ${signal}: HTTP/2 status ${httpStatus}`));
        if (status !== '0')
          return reject(new Error(`OTLP/gRPC ${signal}: grpc-status ${status ?? '(none)'} ${message}`));
        const data = Buffer.concat(chunks);
        // One length-prefixed response message (an empty Export*ServiceResponse is 5 bytes of framing).
        if (data.length < 5) return resolve(Buffer.alloc(0));
        const len = data.readUInt32BE(1);
        resolve(data.subarray(5, 5 + len));
      });
      req.end(grpcFrame(body));
    });
  } finally {
    session.close();
  }
}

export type Transport = 'http' | 'grpc';

export function sendOtlp(
  transport: Transport,
  endpoints: { otlpHttp: string; otlpGrpc: string },
  signal: OtlpSignal,
  body: Uint8Array,
): Promise<unknown> {
  return transport === 'http'
    ? sendOtlpHttp(endpoints.otlpHttp, signal, body)
    : sendOtlpGrpc(endpoints.otlpGrpc, signal, body);
}
