/**
 * Rate limits in Redis (REDIS_URL): several app instances share one budget.
 * Needs the Redis at 127.0.0.1:6379 (TEST_REDIS_URL to point elsewhere). Every run uses its own
 * key prefix, so parallel or repeated runs never count against each other.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { closeRateLimitClients, createRateLimits, type RateLimits } from '../../src/http/middleware/rate-limit.js';
import { createLogger } from '../../src/logger.js';
import { Client, startApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const runPrefix = `watchstore-test:${process.pid}:${randomBytes(6).toString('hex')}`;

let database: TestDatabase;
let redis: Redis;
const cleanups: (() => Promise<unknown>)[] = [];

test.before(async () => {
  database = await createTestDatabase();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
test.after.always(async () => {
  for (const c of cleanups.reverse()) await c();
  if (redis) {
    const keys = await redis.keys(`${runPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
  await database?.drop();
});

/**
 * One app instance, as a separate process would run it: the real app over HTTP on its own port,
 * its own Redis client (opened by createRateLimits from REDIS_URL), on the shared test database.
 */
async function instance(prefix: string, env: Record<string, string>): Promise<{ client: () => Client; limits: RateLimits }> {
  const config = loadConfig({ ...process.env, DATABASE_URL: database.url, ...env });
  const limits = createRateLimits(config, { prefix });
  const app = createApp({ db: database.db, config, logger: createLogger('silent'), rateLimits: limits });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await limits.close();
  });
  return { client: () => new Client(url), limits };
}

const signin = (c: Client, login: string) => c.post('/api/auth/signin', { login, password: 'not the password' });

test('when two instances share Redis, then they share one sign-in budget per address', async (t) => {
  const prefix = `${runPrefix}:shared`;
  const env = { REDIS_URL, RATE_LIMIT_SIGNIN_PER_IP: '4' };
  const a = await instance(prefix, env);
  const b = await instance(prefix, env);
  t.is(a.limits.store, 'redis');
  t.is(b.limits.store, 'redis');

  t.is((await signin(a.client(), 's1')).status, 401);
  t.is((await signin(b.client(), 's2')).status, 401);
  t.is((await signin(a.client(), 's3')).status, 401);
  const fourth = await signin(b.client(), 's4');
  t.is(fourth.status, 401);
  t.is(fourth.headers.get('x-ratelimit-remaining'), '0');

  for (const inst of [a, b]) {
    const res = await signin(inst.client(), 's5');
    t.is(res.status, 429);
    t.is(res.body.error.code, 'RATE_LIMITED');
    t.true(Number(res.headers.get('retry-after')) >= 1);
  }
  // The counters really are in Redis, under the prefix.
  t.true((await redis.keys(`${prefix}:signin:ip:*`)).length > 0);
});

test('when another prefix is used, then its budget is separate', async (t) => {
  const env = { REDIS_URL, RATE_LIMIT_SIGNIN_PER_IP: '1' };
  const a = await instance(`${runPrefix}:one`, env);
  const b = await instance(`${runPrefix}:two`, env);
  t.is((await signin(a.client(), 'p1')).status, 401);
  t.is((await signin(a.client(), 'p2')).status, 429);
  t.is((await signin(b.client(), 'p3')).status, 401);
});

test('when a shared Redis client is handed in, then the limits use it and closing them leaves it open', async (t) => {
  const shared = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  cleanups.push(() => shared.quit());
  const config = loadConfig({ ...process.env, DATABASE_URL: database.url, REDIS_URL, RATE_LIMIT_SIGNUP_PER_IP: '1' });
  const limits = createRateLimits(config, { redis: shared, prefix: `${runPrefix}:handed` });
  const app = createApp({ db: database.db, config, logger: createLogger('silent'), rateLimits: limits });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const c = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.is((await c.post('/api/auth/signup', { username: 'x' })).status, 400); // counted, then invalid
  t.is((await c.post('/api/auth/signup', { username: 'y' })).status, 429);
  t.true((await shared.keys(`${runPrefix}:handed:signup:ip:*`)).length > 0);
  await limits.close();
  t.is(await shared.ping(), 'PONG');
});

test('when Redis cannot be reached, then sign-in is let through (fail open) instead of failing', async (t) => {
  // Port 1 on localhost refuses connections at once.
  const a = await instance(`${runPrefix}:down`, { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_SIGNIN_PER_IP: '1' });
  for (const login of ['d1', 'd2', 'd3']) {
    const res = await signin(a.client(), login);
    t.is(res.status, 401, res.text);
    t.is(res.body.error.code, 'INVALID_CREDENTIALS');
  }
});

test('when Redis goes away while the store runs, then sign-ins are let through (never a 500) and are limited again once it is back', async (t) => {
  const target = new URL(REDIS_URL);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  cleanups.push(() => proxy.close());
  const a = await instance(`${runPrefix}:cut`, { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, RATE_LIMIT_SIGNIN_PER_IP: '2' });
  t.is((await signin(a.client(), 'c1')).status, 401);
  t.is((await signin(a.client(), 'c2')).status, 401);
  t.is((await signin(a.client(), 'c3')).status, 429, 'limited while Redis is there');

  await proxy.stop();
  for (const login of ['c4', 'c5', 'c6']) {
    const res = await signin(a.client(), login);
    t.is(res.status, 401, `${login}: ${res.text}`);
    t.is(res.body.error.code, 'INVALID_CREDENTIALS');
  }

  await proxy.start();
  // The client reconnects within its backoff; until then sign-ins stay let through.
  const deadline = Date.now() + 20_000;
  let status = 0;
  while (status !== 429 && Date.now() < deadline) {
    status = (await signin(a.client(), 'c7')).status;
    if (status !== 429) await new Promise((r) => setTimeout(r, 100));
  }
  t.is(status, 429, 'the budget (still in Redis) counts again');
});

test('when createApp builds the limits itself, then they live in Redis under RATE_LIMIT_PREFIX', async (t) => {
  const prefix = `${runPrefix}:from-config`;
  const a = await startApp({ database, env: { REDIS_URL, RATE_LIMIT_PREFIX: prefix, RATE_LIMIT_SIGNIN_PER_IP: '1', LOG_LEVEL: 'silent' } });
  // createApp opened that Redis client itself; closing the module's clients closes it.
  cleanups.push(async () => {
    await a.close();
    await closeRateLimitClients();
  });
  t.is((await signin(a.client(), 'cfg1')).status, 401);
  t.is((await signin(a.client(), 'cfg2')).status, 429);
  t.true((await redis.keys(`${prefix}:signin:ip:*`)).length > 0, 'the per-IP counter is under the configured prefix');
  t.true((await redis.keys(`${prefix}:signin:ip-login:*`)).length > 0);
  t.deepEqual(await redis.keys('watchstore:ratelimit:signin:*cfg*'), [], 'nothing under the default prefix');
});
