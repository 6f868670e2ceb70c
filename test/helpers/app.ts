/**
 * The real Koa app on a random port over a fresh test database, and a small HTTP client with a
 * cookie jar (like a browser's) for talking to it.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { seedCatalog } from '../../src/products/catalog.service.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/** Auth rate limits high enough that a test's own sign-ins and refreshes are never limited. */
export const UNLIMITED_AUTH = {
  RATE_LIMIT_SIGNIN_PER_IP: '100000',
  RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '100000',
  RATE_LIMIT_SIGNUP_PER_IP: '100000',
  RATE_LIMIT_REFRESH_PER_IP: '100000',
};

export interface TestApp {
  url: string;
  config: Config;
  t: TestDatabase;
  server: http.Server;
  client(): Client;
  close(): Promise<void>;
}

export async function startApp(
  opts: {
    env?: Record<string, string>;
    seed?: boolean;
    database?: TestDatabase /** where the app's log lines go (stdout by default) */;
    logStream?: DestinationStream;
  } = {},
): Promise<TestApp> {
  const t = opts.database ?? (await createTestDatabase());
  if (opts.seed) await seedCatalog(t.db);
  const config = loadConfig({ ...process.env, DATABASE_URL: t.url, ...opts.env });
  const app = createApp({ db: t.db, config, logger: createLogger(config.logLevel, opts.logStream) });
  const server = createHttpServer(app.callback(), config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    config,
    t,
    server,
    client: () => new Client(url),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!opts.database) await t.drop();
    },
  };
}

export interface Res<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class Client {
  /** name → value, as a browser would keep them (paths are ignored: tests talk to one origin). */
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request<T = any>(
    method: string,
    path: string,
    opts: { json?: unknown; body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<Res<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.cookies.size && !Object.keys(headers).some((h) => h.toLowerCase() === 'cookie')) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    let body: string | Buffer | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers, body: body as BodyInit | undefined, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, { headers });
  }
  post<T = any>(path: string, json?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { json, headers });
  }
  delete<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, { headers });
  }
}
