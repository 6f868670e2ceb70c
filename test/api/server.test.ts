/**
 * The real server process (`node bin/watchstore.js serve`, compiled: run `npm run build` first):
 * zero setup on SQLite, refusing to start on an unmigrated MySQL database, and a graceful
 * shutdown that finishes in-flight requests and answers a kept-alive connection's next request with Connection: close.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createDb } from '../../src/db/connection.js';
import { createMariaDatabase, createTestDatabase } from '../helpers/db.js';
import { MIGRATION_COUNT } from '../helpers/migrations.js';
import { exitWithin, spawnCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/** No database or secrets from the test environment: what a newcomer's shell has. */
const BARE = {
  // The default data directory is the package's own data/: a relative DATA_DIR keeps these
  // servers in their temporary working directory.
  DATA_DIR: './data',
  DATABASE_URL: undefined,
  DB_HOST: undefined,
  DB_NAME: undefined,
  REDIS_URL: undefined,
  ACCESS_TOKEN_SECRET: undefined,
  REFRESH_TOKEN_SECRET: undefined,
  NODE_ENV: 'development',
};

const messages = (p: ServerProcess) => p.lines.map((l) => String(l.msg ?? ''));

test('when `serve` starts in an empty directory without configuration, then it migrates and seeds ./data/watchstore.sqlite and lists 24 watches', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-zero-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const first = await startServerProcess({ cwd: dir, env: BARE });
  t.teardown(() => first.kill());
  t.true(existsSync(path.join(dir, 'data', 'watchstore.sqlite')));
  t.true(
    messages(first).some((m) => m === `applied ${MIGRATION_COUNT} migrations to the embedded database`),
    first.stdout,
  );
  t.true(
    messages(first).some((m) => m === 'the catalog was empty: loaded 24 sample products'),
    first.stdout,
  );
  const warnings = first.lines.filter((l) => l.level === 40 && /ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET not set/.test(String(l.msg)));
  t.is(warnings.length, 1, 'one warning about secrets generated for this process');
  t.regex(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.not(first.port, 0, 'the actual port, not 0');

  const list = await (await fetch(`${first.url}/api/products?limit=100`)).json();
  t.is(list.total, 24);
  t.is(list.items.length, 24);
  t.truthy(list.items[0].image_url);
  const image = await fetch(`${first.url}${list.items[0].image_url}`);
  t.is(image.status, 200);
  await image.arrayBuffer();

  const isJson = (l: string) => {
    try {
      return typeof JSON.parse(l) === 'object';
    } catch {
      return false;
    }
  };
  t.true(first.stdout.trim().split('\n').every(isJson), `stdout is JSON log lines only:\n${first.stdout}`);

  first.child.kill('SIGINT');
  t.deepEqual(await exitWithin(first.exited, 15_000), { code: 0, signal: null });

  // A second start finds everything in place and changes nothing.
  const second = await startServerProcess({ cwd: dir, env: BARE });
  t.teardown(() => second.kill());
  t.false(
    messages(second).some((m) => /migration|sample products/.test(m)),
    second.stdout,
  );
  const again = await (await fetch(`${second.url}/api/products?limit=1`)).json();
  t.is(again.total, 24);
  second.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(second.exited, 15_000), { code: 0, signal: null });
});

test('when six `serve` start at the same moment in an empty directory, then all come up, one migrates and seeds, and the store is whole', async (t) => {
  // Each takes its turn (one transaction, BEGIN IMMEDIATE). Before, the later ones exited 1 with
  // "Migration table is already locked" (seen on every run of this test with six), or met the
  // first one's write lock mid-seed with SQLITE_BUSY (seen in CI with two).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-race-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const started: ServerProcess[] = [];
  t.teardown(() => Promise.all(started.map((p) => p.kill())).then(() => undefined));
  const servers = await Promise.all(
    [0, 1, 2, 3, 4, 5].map(async () => {
      const p = await startServerProcess({ cwd: dir, env: BARE });
      started.push(p); // killed by the teardown even when another one fails to start
      return p;
    }),
  );

  const said = (text: string) => servers.filter((p) => messages(p).includes(text)).length;
  t.is(said(`applied ${MIGRATION_COUNT} migrations to the embedded database`), 1);
  t.is(said('the catalog was empty: loaded 24 sample products'), 1);
  for (const p of servers) t.is((await (await fetch(`${p.url}/api/products?limit=1`)).json()).total, 24, p.url);

  const migrations = spawnCli(['migrate', '--status', '--json'], { cwd: dir, env: BARE });
  t.is((await exitWithin(migrations.exited, 15_000)).code, 0, migrations.out.stderr);
  const status = JSON.parse(migrations.out.stdout) as { name: string; applied: boolean }[];
  t.is(status.length, MIGRATION_COUNT);
  t.true(
    status.every((m) => m.applied),
    migrations.out.stdout,
  );

  for (const p of servers) p.child.kill('SIGTERM');
  for (const p of servers) t.deepEqual(await exitWithin(p.exited, 15_000), { code: 0, signal: null });
});

test('when `serve` starts on an existing SQLite store with a migration pending while another process holds the migration lock, then it waits, applies it and keeps every row', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-upgrade-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const filename = path.join(dir, 'store.sqlite');
  const db = createDb({ client: 'sqlite', filename });
  t.teardown(() => db.destroy());
  await db.migrate.latest();
  const [productId] = await db('products').insert({ name: 'Upgrade watch', price_cents: 10_000, stock: 3 });
  const [userId] = await db('users').insert({ username: 'upgrader', email: 'upgrader@example.com', password_hash: 'x', role: 'customer' });
  await db('cart_items').insert({ user_id: userId, product_id: productId, quantity: 2 });
  await db.migrate.down(); // the newest migration is pending again
  await db('knex_migrations_lock').update({ is_locked: 1 }); // as if `watchstore migrate` were running elsewhere

  let waitForLine!: ReturnType<typeof spawnCli>['waitForLine'];
  const starting = startServerProcess({ env: { ...BARE, DATABASE_URL: `sqlite:${filename}` }, onSpawn: (p) => (waitForLine = p.waitForLine) });
  await waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('waiting for the migration lock'));
  t.is(Number((await db('knex_migrations_lock').first()).is_locked), 1, 'it waits instead of taking the lock from the other process');
  await db('knex_migrations_lock').update({ is_locked: 0 });
  const server = await starting;
  t.teardown(() => server.kill());

  t.true(messages(server).includes('applied 1 migration to the embedded database'), server.stdout);
  t.false(
    messages(server).some((m) => /sample products/.test(m)),
    'a store with products is not seeded',
  );
  t.like(await db('cart_items').where({ user_id: userId }).first(), { product_id: productId, quantity: 2 });
  const products = await (await fetch(`${server.url}/api/products`)).json();
  t.deepEqual(
    products.items.map((p: { name: string }) => p.name),
    ['Upgrade watch'],
  );
  server.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(server.exited, 15_000), { code: 0, signal: null });
});

test('when `serve` is pointed at an unmigrated MySQL database, then it exits 1 saying to run `watchstore migrate`, and migrates nothing', async (t) => {
  const maria = await createMariaDatabase({ migrate: false });
  t.teardown(() => maria.drop());

  const run = spawnCli(['serve', '--port', '0'], { env: { DATABASE_URL: maria.url } });
  t.teardown(() => {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  });
  const { code } = await exitWithin(run.exited, 30_000);
  t.is(code, 1);
  const stderr = run.out.stderr.trim();
  t.is(stderr.split('\n').length, 1, stderr);
  t.true(stderr.includes(`${MIGRATION_COUNT} migrations pending: run \`watchstore migrate\``), stderr);
  t.false(run.out.stdout.includes('listening on'), run.out.stdout);

  const [tables] = await maria.db.raw('show tables');
  t.deepEqual(tables, [], 'the server created no table');
});

test('when `serve` is pointed at a migrated MySQL database, then it starts and does not seed it', async (t) => {
  const maria = await createMariaDatabase();
  t.teardown(() => maria.drop());
  const p = await startServerProcess({ env: { DATABASE_URL: maria.url } });
  t.teardown(() => p.kill());
  const list = await (await fetch(`${p.url}/api/products`)).json();
  t.is(list.total, 0);
  t.false(messages(p).some((m) => /migration|sample products/.test(m)));
  p.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(p.exited, 15_000), { code: 0, signal: null });
});

test('when `serve --port` is not a port, then it exits 2 with a usage line', async (t) => {
  const run = spawnCli(['serve', '--port', 'eighty']);
  const { code } = await exitWithin(run.exited, 30_000);
  t.is(code, 2);
  t.regex(run.out.stderr, /--port must be a whole number/);
});

/** A raw HTTP/1.1 exchange on its own socket, so the test controls when the body is sent. */
function rawExchange(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (d: string) => (received += d));
  const ended = new Promise<string>((resolve, reject) => {
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, ended, connected, received: () => received };
}

function parseResponse(raw: string) {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

test('when SIGTERM arrives during a request, then that request still gets its answer, an idle keep-alive connection gets one more answer with Connection: close, and the process exits 0', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const p = await startServerProcess({ env: { DATABASE_URL: database.url } });
  t.teardown(() => p.kill());

  const account = { username: `graceful_${process.pid}`, email: `graceful_${process.pid}@example.com`, password: 'graceful-shutdown-1' };
  const signup = await fetch(`${p.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(account) });
  t.is(signup.status, 201);

  // An idle keep-alive connection: one request answered, the socket left open.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  let idleClosed = false;
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${p.url}/api/health`, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        t.is(res.statusCode, 200);
        t.is(res.headers.connection, 'keep-alive');
        resolve();
      });
    });
    req.on('socket', (socket) => socket.once('close', () => (idleClosed = true)));
    req.on('error', reject);
  });
  t.false(idleClosed, 'the connection stays open after its answer');

  // A request in flight: its headers and half of its body are sent, the rest is held back.
  const body = JSON.stringify({ login: account.username, password: account.password });
  const slow = rawExchange(p.port);
  await slow.connected;
  // `Expect: 100-continue` makes the server say when it has taken the request in.
  slow.socket.write(
    `POST /api/auth/signin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
  );
  const deadline100 = Date.now() + 10_000;
  while (!slow.received().startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
    if (Date.now() > deadline100) throw new Error(`no 100 Continue: ${slow.received()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  slow.socket.write(body.slice(0, 10));

  p.child.kill('SIGTERM');
  await p.waitForLine((l) => /^SIGTERM: no longer accepting connections/.test(String(l.msg)));
  const shutdownLine = p.lines.find((l) => /^SIGTERM/.test(String(l.msg)))!;
  t.is(shutdownLine.in_flight, 1, 'the held request counts as in flight');

  // No new connections once shutting down (a new socket: fetch would reuse its kept-alive one).
  const connects = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(p.port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  const refuseBy = Date.now() + 2000;
  while ((await connects()) && Date.now() < refuseBy) await new Promise((r) => setTimeout(r, 20));
  t.false(await connects(), 'a new connection is refused');

  // The idle keep-alive connection is not cut under a request the client may be sending on it
  // (behind nginx, a POST it would not retry): its next request is answered, with Connection: close.
  t.false(idleClosed, 'the idle connection is left to its client');
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${p.url}/api/health`, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        t.is(res.statusCode, 200);
        t.is(res.headers.connection, 'close');
        resolve();
      });
    });
    req.on('error', reject);
  });
  const deadline = Date.now() + 5000;
  while (!idleClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(idleClosed, 'the connection was closed after that answer');
  t.is(p.child.exitCode, null, 'still running while a request is in flight');

  slow.socket.write(body.slice(10));
  const res = parseResponse((await slow.ended).replace('HTTP/1.1 100 Continue\r\n\r\n', ''));
  t.is(res.status, 200, res.body);
  t.is(JSON.parse(res.body).user.username, account.username);
  t.is(res.headers.connection, 'close');

  t.deepEqual(await exitWithin(p.exited, 15_000), { code: 0, signal: null });
  t.true(messages(p).includes('stopped'));
  t.false(
    messages(p).some((m) => m.startsWith('closing every connection now')),
    'nothing had to be cut off',
  );
});
