/**
 * A real HTTP receiver for outgoing webhooks, in the test process (node:http on a random port):
 * it keeps every request (headers and the raw body) and answers each with the next of the
 * statuses it was told (200 once those run out), or not at all (`'hang'`, for timeouts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body, as received. */
  body: string;
}

export type Answer = number | 'hang' | { status: number; headers: Record<string, string> };

export interface WebhookReceiver {
  url: string;
  received: ReceivedHook[];
  /** The answers to the next requests, in order. */
  answer(...answers: Answer[]): void;
  /** Resolves once `n` requests have arrived in all (rejects after `ms`). */
  waitFor(n: number, ms?: number): Promise<ReceivedHook[]>;
  stop(): Promise<void>;
}

export async function startReceiver(path = '/hooks/watchstore'): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const answers: Answer[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of waiters.filter((w) => received.length >= w.n)) w.resolve();
      const a = answers.shift() ?? 200;
      if (a === 'hang') return;
      if (typeof a === 'number') res.writeHead(a).end(a >= 200 && a < 300 ? 'ok' : 'no');
      else res.writeHead(a.status, a.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    received,
    answer: (...a) => void answers.push(...a),
    waitFor(n, ms = 10_000) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the receiver got ${received.length} requests, not ${n}, within ${ms} ms`)), ms);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
