/**
 * Two real server processes (compiled CLI: run `npm run build` first) with REDIS_URL share one
 * rate-limit budget: the sign-in limit per IP counts attempts on both.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { createTestDatabase } from '../helpers/db.js';
import { exitWithin, startServerProcess } from '../helpers/server-process.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

test('when two instances share Redis, then 10 sign-in attempts alternating between them use up one budget and the 11th on either is 429', async (t) => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  t.teardown(() => redis.quit().then(() => undefined));
  const prefix = `watchstore-test:${process.pid}:${randomBytes(4).toString('hex')}`;
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  });

  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL,
    RATE_LIMIT_PREFIX: prefix,
    RATE_LIMIT_SIGNIN_PER_IP: '10',
    RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '5',
    RATE_LIMIT_WINDOW_MS: '600000',
  };
  const [a, b] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  t.teardown(() => Promise.all([a.kill(), b.kill()]).then(() => undefined));
  t.not(a.port, b.port);
  for (const p of [a, b])
    t.true(
      p.lines.some((l) => l.prefix === prefix && /Redis/.test(String(l.msg))),
      'it says the limits are in Redis',
    );

  const signin = (url: string, i: number) =>
    fetch(`${url}/api/auth/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // A different login each time, so only the per-IP budget (10) is in play, not per-login (5).
      body: JSON.stringify({ login: `nobody_${i}`, password: 'not-the-password' }),
    });

  // Five attempts on each: alone, each instance would still allow five more.
  for (let i = 0; i < 10; i++) {
    const res = await signin(i % 2 === 0 ? a.url : b.url, i);
    t.is(res.status, 401, `attempt ${i + 1}`);
    t.is((await res.json()).error.code, 'INVALID_CREDENTIALS');
  }

  for (const p of [a, b]) {
    const res = await signin(p.url, 100);
    t.is(res.status, 429, p.url);
    t.is((await res.json()).error.code, 'RATE_LIMITED');
    t.true(Number(res.headers.get('retry-after')) > 0);
  }
  t.true((await redis.keys(`${prefix}:*`)).length > 0, 'the counters live in Redis under the prefix');

  // Both shut down cleanly, their Redis clients closed.
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(a.exited, 15_000), { code: 0, signal: null });
  t.deepEqual(await exitWithin(b.exited, 15_000), { code: 0, signal: null });
});
