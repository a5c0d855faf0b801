// A webhook receiver for the Alertmanager tests: a node:http server on loopback that records every
// notification Alertmanager POSTs (its webhook JSON), by path (one path per receiver in the config).
import { createServer } from 'node:http';

export interface WebhookNotification {
  receiver: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
  }[];
}

export interface WebhookReceiver {
  url: string;
  /** Notifications received on `path` so far. */
  got(path: string): WebhookNotification[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received = new Map<string, WebhookNotification[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookNotification;
        const list = received.get(req.url ?? '/') ?? [];
        list.push(body);
        received.set(req.url ?? '/', list);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${a.port}`,
    got: (path) => [...(received.get(path) ?? [])],
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
