/**
 * A database that stalls (issue 10 item 4): it keeps its connections open but stops answering,
 * as under SIGSTOP or a network partition. Every request answers 503 SERVICE_UNAVAILABLE within
 * DB_TIMEOUT_MS-ish bounds instead of hanging for the whole stall, is logged as the database
 * being unavailable (not as an unhandled error), and once the database answers again the pool
 * recovers by itself. On MariaDB through a TCP proxy the test freezes (whatever TEST_DB is). On
 * SQLite, which has no server to stall, the same bound applies to a file another process keeps
 * locked (busy_timeout): writes answer 503, reads (WAL) go on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { parseDatabaseUrl } from '../../src/config.js';
import { createDb } from '../../src/db/connection.js';
import { setDbLogSink } from '../../src/db/knex-config.js';
import { type Client, type Res, startApp, type TestApp } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { createMariaDatabase, holdWriteLock, type MariaDatabase, type TestDatabase } from '../helpers/db.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** Short, so the test is quick; the default is 5000 (README). */
const TIMEOUT_MS = 1000;

// Knex warns about every lost connection and timed-out acquire; in this test they are the point.
setDbLogSink((level, message) => {
  if (!/Connection Error|Acquire connection error|Timeout acquiring|Query inactivity/.test(String(message)))
    process.stderr.write(`knex ${level}: ${String(message)}\n`);
});

let maria: MariaDatabase;
let proxy: TcpProxy;
let app: TestApp;
let closeDb: () => Promise<void>;
const logLines: { level: number; msg: string }[] = [];

test.before(async () => {
  maria = await createMariaDatabase();
  proxy = await startTcpProxy({ host: maria.host, port: maria.port });
  const url = maria.url.replace(`@${maria.host}:${maria.port}/`, `@127.0.0.1:${proxy.port}/`);
  if (url === maria.url) throw new Error(`cannot point ${maria.url} at the proxy`);
  const config = parseDatabaseUrl(url);
  const db = createDb(config, { timeoutMs: TIMEOUT_MS });
  closeDb = () => db.destroy();
  const database: TestDatabase = { url, config, db, dialect: 'mysql', drop: async () => {} };
  const logStream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  app = await startApp({ database, seed: true, env: { LOG_LEVEL: 'warn', DB_TIMEOUT_MS: String(TIMEOUT_MS) }, logStream });
});
test.after.always(async () => {
  proxy?.thaw();
  await app?.close();
  await closeDb?.();
  await proxy?.close();
  await maria?.drop();
});

const account = { username: 'stalled_sam', email: 'stalled_sam@example.com', password: 'correct horse battery' };

/** The three kinds of request the issue names: the catalog, a cart (signed in), and a sign-in. */
const requests = (c: Client): Record<string, () => Promise<Res>> => ({
  catalog: () => c.get('/api/products?limit=3'),
  cart: () => c.get('/api/cart'),
  signin: () => app.client().post('/api/auth/signin', { login: account.username, password: account.password }),
});

/** Retries `request` until it answers `status`; fails after `ms`. */
async function becomes(request: () => Promise<Res>, status: number, ms = 20_000): Promise<Res> {
  const deadline = Date.now() + ms;
  let last: Res;
  do {
    last = await request();
    if (last.status === status) return last;
  } while (Date.now() < deadline);
  throw new Error(`stayed ${last.status} (${last.text}) instead of ${status}`);
}

test.serial('when the database stalls, then catalog, cart and sign-in answer 503 SERVICE_UNAVAILABLE, and succeed again once it answers', async (t) => {
  const c = app.client();
  t.is((await c.post('/api/auth/signup', account)).status, 201);
  const kinds = requests(c);
  for (const [name, request] of Object.entries(kinds)) t.is((await request()).status, 200, `${name} before the stall`);
  t.true(proxy.connections > 0, 'the pool holds connections through the proxy');

  proxy.freeze();
  try {
    for (const [name, request] of Object.entries(kinds)) {
      const started = Date.now();
      const res = await request();
      t.log(`${name}: ${res.status} after ${Date.now() - started} ms (DB_TIMEOUT_MS=${TIMEOUT_MS})`);
      t.is(res.status, 503, `${name}: ${res.text}`);
      t.is(res.body.error.code, 'SERVICE_UNAVAILABLE');
      t.truthy(res.headers.get('x-request-id'));
    }
    // Several at once too: none waits for another's stalled connection.
    const together = await Promise.all(Object.values(kinds).map((request) => request()));
    t.deepEqual(
      together.map((r) => r.status),
      [503, 503, 503],
    );
  } finally {
    proxy.thaw();
  }

  for (const [name, request] of Object.entries(kinds)) {
    const res = await becomes(request, 200);
    t.is(res.status, 200, name);
  }
  t.is((await c.get('/api/products?limit=3')).body.items.length, 3);

  const unavailable = logLines.filter((l) => l.msg === 'database unavailable');
  t.true(unavailable.length >= 6, `${unavailable.length} 'database unavailable' lines`);
  t.true(
    unavailable.every((l) => l.level === 40),
    'logged as warnings',
  );
  t.deepEqual(
    logLines.filter((l) => l.msg === 'unhandled error'),
    [],
    'nothing logged as an unhandled error',
  );
});

test.serial(
  'when another process keeps the SQLite file locked past DB_TIMEOUT_MS, then writes (cart, sign-in) answer 503, reads go on, and all succeed once it lets go',
  async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-stall-'));
    const config = { client: 'sqlite' as const, filename: path.join(dir, 'stall.sqlite') };
    const db = createDb(config, { timeoutMs: TIMEOUT_MS });
    const database: TestDatabase = { url: `sqlite:${config.filename}`, config, db, dialect: 'sqlite', drop: async () => {} };
    let local: TestApp | undefined;
    try {
      await db.migrate.latest();
      local = await startApp({ database, seed: true, env: { DB_TIMEOUT_MS: String(TIMEOUT_MS) } });
      const customer = await signedInCustomer(db, local.config.accessTokenSecret, 'stall');
      const c = local.client();
      const productId = (await c.get('/api/products?limit=1')).body.items[0].id as number;
      const kinds: Record<string, () => Promise<Res>> = {
        cart: () => c.request('POST', '/api/cart', { json: { product_id: productId, quantity: 1 }, headers: customer.auth }),
        signin: () => local!.client().post('/api/auth/signin', { login: customer.username, password: 'correct horse 1' }),
      };

      const held = await holdWriteLock(database, { ms: 8000, sql: 'UPDATE catalog_revision SET revision = revision WHERE id = 1' });
      for (const [name, request] of Object.entries(kinds)) {
        const started = Date.now();
        const res = await request();
        t.log(`${name}: ${res.status} after ${Date.now() - started} ms (DB_TIMEOUT_MS=${TIMEOUT_MS})`);
        t.is(res.status, 503, `${name}: ${res.text}`);
        t.is(res.body.error.code, 'SERVICE_UNAVAILABLE');
      }
      t.is((await c.get('/api/products?limit=1')).status, 200, 'readers do not wait for the write lock');
      await held.released;

      t.is((await kinds.cart()).status, 200);
      t.is((await kinds.signin()).status, 200);
    } finally {
      await local?.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
