// `demo --serve` / `replay --serve`: the page for a capture on a port of its own, read-only, until
// SIGINT/SIGTERM. The same routes as `run` serves; nobody can approve (no approval stage).
import Fastify, { type FastifyInstance } from 'fastify';
import type { PageConfig } from '../core/config-page.ts';
import { registerPageRoutes } from './routes.ts';
import type { IncidentStore } from './store.ts';

export async function servePage(o: {
  store: IncidentStore;
  config: PageConfig;
  host: string;
  port: number;
}): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.get('/', async (_req, reply) => reply.code(302).header('location', '/incidents').send());
  await registerPageRoutes(app, { store: o.store, config: o.config });
  await app.listen({ host: o.host, port: o.port });
  const a = app.server.address();
  const port = a && typeof a === 'object' ? a.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return { app, url: `http://${host}:${port}/incidents` };
}

/** Serves until SIGINT or SIGTERM, then closes (open live-update streams included). */
export function untilSignal(app: FastifyInstance): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => void app.close().finally(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
