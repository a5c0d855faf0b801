import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface Probes {
  /** Liveness: false when the process is wedged (e.g. the consume loop stopped turning). */
  healthy(): { ok: boolean; detail: Record<string, unknown> };
  /** Readiness: false until connected and assigned (or while draining on shutdown). */
  ready(): { ok: boolean; detail: Record<string, unknown> };
}

/** `/metrics` (Prometheus text), `/healthz`, `/readyz`. Later stages add routes (Slack interactions). */
export function createHttpServer(registry: Registry, probes: Probes): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/healthz', async (_req, reply) => {
    const h = probes.healthy();
    reply.code(h.ok ? 200 : 503);
    return { status: h.ok ? 'ok' : 'unhealthy', ...h.detail };
  });
  app.get('/readyz', async (_req, reply) => {
    const r = probes.ready();
    reply.code(r.ok ? 200 : 503);
    return { status: r.ok ? 'ready' : 'not ready', ...r.detail };
  });
  return app;
}
