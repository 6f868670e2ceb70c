/**
 * Session revocation across real processes (the compiled CLI: run `npm run build` first): two
 * `watchstore serve` processes on one database, a customer signed in through one of them, and
 * `watchstore users disable` run as a third process. Both servers refuse the customer's access
 * token at the next request, with no Redis (docs/data.md, "Session revocation").
 */
import test from 'ava';
import { createTestDatabase } from '../helpers/db.js';
import { spawnCli, startServerProcess } from '../helpers/server-process.js';

test('when `watchstore users disable` runs in its own process, then both server processes refuse the signed-in customer at the next request', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const env = { DATABASE_URL: database.url, OUTBOX_WORKER: 'false' };
  const [a, b] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  t.teardown(() => Promise.all([a.kill(), b.kill()]).then(() => undefined));

  const username = `proc_${process.pid}`;
  const signup = await fetch(`${a.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, password: 'correct horse 1' }),
  });
  t.is(signup.status, 201, await signup.clone().text());
  const token = /access_token=([^;]+)/.exec(signup.headers.getSetCookie().join('\n'))![1];
  const cart = (url: string) => fetch(`${url}/api/cart`, { headers: { authorization: `Bearer ${token}` } });
  for (const s of [a, b]) t.is((await cart(s.url)).status, 200, 'the token works on both before');

  const cli = spawnCli(['users', 'disable', username], { env: { DATABASE_URL: database.url } });
  const exit = await cli.exited;
  t.deepEqual(exit, { code: 0, signal: null }, cli.out.stderr);

  for (const s of [a, b]) {
    const res = await cart(s.url);
    t.is(res.status, 401, s.url);
    t.is(((await res.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
  }
});
