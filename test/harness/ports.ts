// Loopback ports for the servers the harnesses start. A port found free can still be taken by someone
// else before our server binds it, so starts that pick ports go through retryOnPortClash.
import { createServer, type Server } from 'node:net';

const HOST = '127.0.0.1';

/** n distinct free loopback ports (all listeners held open at once, then closed). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((res, rej) => {
          const s = createServer();
          s.unref();
          s.once('error', rej);
          s.listen(0, HOST, () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('unexpected server address');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
  return ports;
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/** Runs start up to `attempts` times while it fails with EADDRINUSE (each try picks fresh ports). */
export async function retryOnPortClash<T>(
  name: string,
  start: () => Promise<T>,
  log: (s: string) => void,
  attempts = 3,
): Promise<T> {
  let lastErr: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await start();
    } catch (err) {
      lastErr = err;
      if (!/address already in use/i.test(String((err as Error).message))) throw err;
      log(`${name}: port clash, retrying (${attempt})`);
    }
  }
  throw lastErr;
}
