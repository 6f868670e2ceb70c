import test from 'ava';
import { parseDatabaseUrl } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/connection.js';
import { pingFreshConnection } from '../../src/db/ping.js';
import { toDbTime } from '../../src/db/values.js';
import { enqueue } from '../../src/outbox/outbox.repository.js';
import { setDbLogSink } from '../../src/db/knex-config.js';
import { type Res, startApp, type TestApp } from '../helpers/app.js';
import { createMariaDatabase, type TestDatabase } from '../helpers/db.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let app: TestApp;
test.before(async () => {
  app = await startApp();
});
test.after.always(async () => {
  await app?.close();
});

test('when the database answers, then health is 200 ok with the version', async (t) => {
  const res = await app.client().get('/api/health');
  t.is(res.status, 200);
  t.is(res.body.status, 'ok');
  t.is(res.body.db, 'ok');
  t.regex(res.body.version, /^\d+\.\d+\.\d+/);
  t.truthy(res.headers.get('x-request-id'));
  t.is(res.headers.get('cache-control'), 'no-store');
  t.deepEqual(res.body.outbox, { pending: 0, due: 0, dead: 0, oldest_due_seconds: 0 });
});

test('when outbox messages wait and no worker drains them, then health reports the backlog and says degraded after 5 minutes, still 200', async (t) => {
  // An app of its own (no worker runs in a test app): its outbox is filled here.
  const own = await startApp();
  t.teardown(() => own.close());
  const db = own.t.db;
  const email = (key: string) => ({
    kind: 'email' as const,
    topic: 'order.placed',
    key,
    payload: { to: 'ada@example.com', template: 'order.placed', data: {} },
  });
  await db.transaction(async (trx) => {
    for (const key of ['a', 'b', 'c', 'd']) await enqueue(trx, email(key));
  });
  const minutesAgo = (m: number) => toDbTime(new Date(Date.now() - m * 60_000));
  const inMinutes = (m: number) => toDbTime(new Date(Date.now() + m * 60_000));
  await db('outbox')
    .where('message_key', 'a')
    .update({ available_at: minutesAgo(2) });
  await db('outbox')
    .where('message_key', 'b')
    .update({ available_at: inMinutes(10), attempts: 1, last_error: '451 try again' });
  await db('outbox').where('message_key', 'c').update({ status: 'dead', attempts: 10 });

  const recent = await own.client().get('/api/health');
  t.is(recent.status, 200);
  t.is(recent.body.status, 'ok');
  t.is(recent.body.outbox.pending, 3);
  t.is(recent.body.outbox.due, 2, 'the one waiting for its retry is not due');
  t.is(recent.body.outbox.dead, 1);
  t.true(recent.body.outbox.oldest_due_seconds >= 120 && recent.body.outbox.oldest_due_seconds < 300, String(recent.body.outbox.oldest_due_seconds));

  await db('outbox')
    .where('message_key', 'a')
    .update({ available_at: minutesAgo(6) });
  const stale = await own.client().get('/api/health');
  t.is(stale.status, 200);
  t.is(stale.body.status, 'degraded');
  t.true(stale.body.outbox.oldest_due_seconds >= 360);
});

// Serial: the other tests of this file use the same app's pool, which would grow under this count.
test.serial('when the database is pinged on a fresh connection, then it answers and that connection is closed again, outside the pool', async (t) => {
  const db = app.t.db;
  const pool = db.client.pool as { numUsed(): number; numFree(): number; numPendingCreates(): number };
  const before = pool.numUsed() + pool.numFree();
  await pingFreshConnection(db);
  await pingFreshConnection(db);
  t.is(pool.numUsed() + pool.numFree() + pool.numPendingCreates(), before, 'the pool neither grew nor lent a connection');
  t.is((await app.client().get('/api/health')).status, 200);
});

test('when a path is unknown, then the answer is a 404 NOT_FOUND error body', async (t) => {
  const res = await app.client().get('/api/nope');
  t.is(res.status, 404);
  t.is(res.body.error.code, 'NOT_FOUND');
  t.truthy(res.headers.get('x-request-id'));
});

/*
 * Losing the database. These always run against MariaDB through a TCP proxy the test can stop
 * (whatever TEST_DB is): SQLite has no server to lose.
 */

// Knex warns about every refused or lost connection; in these tests they are the point.
setDbLogSink((level, message) => {
  if (!/Connection Error|Acquire connection error/.test(String(message))) process.stderr.write(`knex ${level}: ${String(message)}\n`);
});

interface Outage {
  app: TestApp;
  proxy: TcpProxy;
  /** A pool straight to MariaDB, around the proxy. */
  direct: Db;
}

async function appBehindProxy(): Promise<Outage & { close(): Promise<void> }> {
  const maria = await createMariaDatabase();
  const proxy = await startTcpProxy({ host: maria.host, port: maria.port });
  const url = maria.url.replace(`@${maria.host}:${maria.port}/`, `@127.0.0.1:${proxy.port}/`);
  if (url === maria.url) throw new Error(`cannot point ${maria.url} at the proxy`);
  const config = parseDatabaseUrl(url);
  const db = createDb(config);
  const database: TestDatabase = { url, config, db, dialect: 'mysql', drop: async () => {} };
  const a = await startApp({ database, seed: true });
  return {
    app: a,
    proxy,
    direct: maria.db,
    async close() {
      await a.close();
      await db.destroy();
      await proxy.close();
      await maria.drop();
    },
  };
}

/** Polls health until it answers `status`, or fails after `ms`. */
async function healthBecomes(app: TestApp, status: number, ms = 15_000) {
  const deadline = Date.now() + ms;
  let last: Res;
  do {
    last = await app.client().get('/api/health');
    if (last.status === status) return last;
  } while (Date.now() < deadline);
  throw new Error(`health stayed ${last.status} (${last.text}) instead of ${status}`);
}

test.serial('when the database goes away, then health is 503 SERVICE_UNAVAILABLE, and 200 again once it is back, without a restart', async (t) => {
  const o = await appBehindProxy();
  t.teardown(() => o.close());
  const c = o.app.client();

  t.is((await c.get('/api/health')).status, 200);
  t.is((await c.get('/api/products?limit=3')).status, 200);
  t.true(o.proxy.connections > 0, 'the pool holds a connection through the proxy');

  // The server is gone: open connections die and new ones are refused.
  await o.proxy.stop();
  const down = await c.get('/api/health');
  t.is(down.status, 503);
  t.is(down.body.error.code, 'SERVICE_UNAVAILABLE');
  t.truthy(down.headers.get('x-request-id'));
  // Other endpoints say the same, not a 500.
  const products = await c.get('/api/products?limit=3');
  t.is(products.status, 503);
  t.is(products.body.error.code, 'SERVICE_UNAVAILABLE');
  t.is((await c.get('/api/health')).status, 503, 'still down while the database is');

  await o.proxy.start();
  const up = await healthBecomes(o.app, 200);
  t.is(up.body.db, 'ok');
  const after = await c.get('/api/products?limit=3');
  t.is(after.status, 200);
  t.is(after.body.items.length, 3);
});

test.serial(
  'when the open database connections are killed but the server still answers, then the dead connections are discarded and requests succeed',
  async (t) => {
    const o = await appBehindProxy();
    t.teardown(() => o.close());
    const c = o.app.client();

    // Several connections in the pool at once.
    const warm = await Promise.all(Array.from({ length: 6 }, () => c.get('/api/products?limit=2')));
    t.deepEqual(
      warm.map((r) => r.status),
      Array(6).fill(200),
    );
    const before = o.proxy.connections;
    t.true(before > 0);

    o.proxy.killConnections();
    t.is(o.proxy.connections, 0);

    // Every pooled connection is dead now. A ping sent on one before the client has even read the
    // server's FIN can only fail; health then pings once more on a fresh connection, so a load
    // balancer sees no 503 at all while the database itself is fine.
    const first = await c.get('/api/health');
    t.is(first.status, 200, first.text);
    const next = await c.get('/api/health');
    t.is(next.status, 200, next.text);
    const again = await Promise.all(Array.from({ length: 6 }, () => c.get('/api/products?limit=2')));
    t.deepEqual(
      again.map((r) => r.status),
      Array(6).fill(200),
    );
    t.true(o.proxy.connections > 0, 'new connections were opened through the proxy');
  },
);

test.serial('when a connection dies in the middle of a query, then that query fails and the next request gets a fresh connection', async (t) => {
  const o = await appBehindProxy();
  t.teardown(() => o.close());
  const c = o.app.client();
  t.is((await c.get('/api/health')).status, 200);

  // Hold a query open on the server (seen in its process list), then cut every connection under it.
  const slow = Promise.resolve(o.app.t.db.raw('select sleep(20) as slow_query_under_test')); // knex queries start when awaited
  const running = async () => {
    const [rows] = await o.direct.raw("select count(*) as n from information_schema.processlist where info like 'select sleep(20) as slow_query_under_test%'");
    return Number(rows[0].n) > 0;
  };
  const deadline = Date.now() + 10_000;
  while (!(await running())) if (Date.now() > deadline) throw new Error('the slow query never started');
  o.proxy.killConnections();
  const err = await t.throwsAsync(slow);
  t.regex(String((err as { code?: string }).code), /PROTOCOL_CONNECTION_LOST|ECONNRESET/);

  const res = await healthBecomes(o.app, 200);
  t.is(res.body.status, 'ok');
});

test('when the schema is behind or ahead of the code, then health answers 503 and names which (issue 10, item 7)', async (t) => {
  // A database of its own: its migrations are changed under the running app.
  const own = await startApp({ env: { SCHEMA_CHECK_INTERVAL_MS: '0' } });
  t.teardown(() => own.close());
  t.is((await own.client().get('/api/health')).status, 200);

  await own.t.db.migrate.down();
  const behind = await own.client().get('/api/health');
  t.is(behind.status, 503);
  t.is(behind.body.error.code, 'SERVICE_UNAVAILABLE');
  t.regex(behind.body.error.message, /schema is behind the code \(1 pending/);

  await own.t.db.migrate.latest();
  await own.t.db('knex_migrations').insert({ name: '29990101000000_from_a_newer_build', batch: 99, migration_time: new Date() });
  const ahead = await own.client().get('/api/health');
  t.is(ahead.status, 503);
  t.regex(ahead.body.error.message, /schema is ahead of the code \(1 unknown/);

  await own.t.db('knex_migrations').where({ name: '29990101000000_from_a_newer_build' }).del();
  t.is((await own.client().get('/api/health')).status, 200);
});
