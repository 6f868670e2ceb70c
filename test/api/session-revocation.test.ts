/**
 * Session revocation (docs/data.md, "Session revocation"; src/auth/session-revocations.ts): once
 * an account is disabled or its password reset, its access tokens issued before are refused at
 * the next request by every instance — here two apps on one database, each with its own
 * revocation state, and the CLI (in-process, its own connection pool) as the third writer.
 */
import test from 'ava';
import { startApp, type Client, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { signedInAs } from '../helpers/staff.js';

let a: TestApp;
let b: TestApp;
test.before(async () => {
  a = await startApp({ env: UNLIMITED_AUTH });
  b = await startApp({ env: UNLIMITED_AUTH, database: a.t });
});
test.after.always(async () => {
  await b?.close();
  await a?.close();
});

const PASSWORD = 'correct horse 1';
let n = 0;

/** A customer signed up through `app`: its client holds the cookies, `bearer` its access token. */
async function customer(app: TestApp) {
  const username = `rev_${++n}_${process.pid}`;
  const c = app.client();
  const res = await c.post('/api/auth/signup', { username, email: `${username}@example.com`, password: PASSWORD });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  const token = /access_token=([^;]+)/.exec(res.headers.getSetCookie().join('\n'))![1];
  return { c, username, email: `${username}@example.com`, id: res.body.user.id as number, bearer: { authorization: `Bearer ${token}` } };
}

/** Signs in through `app` and answers the new access token as a Bearer header. */
async function signin(app: TestApp, login: string, password = PASSWORD): Promise<Record<string, string>> {
  const res = await app.client().post('/api/auth/signin', { login, password });
  if (res.status !== 200) throw new Error(`signin failed: ${res.status} ${res.text}`);
  return { authorization: `Bearer ${/access_token=([^;]+)/.exec(res.headers.getSetCookie().join('\n'))![1]}` };
}

const cart = (app: TestApp, headers: Record<string, string>) => app.client().get('/api/cart', headers);

async function refused(t: import('ava').ExecutionContext, app: TestApp, headers: Record<string, string>, what: string) {
  const res = await cart(app, headers);
  t.is(res.status, 401, `${what}: ${res.text}`);
  t.is(res.body.error.code, 'UNAUTHENTICATED', what);
}

test('when an admin disables a customer on one instance, then both refuse the customer’s access token at the next request; enabled again, only a new sign-in works', async (t) => {
  const boss = await signedInAs(a.t.db, a.config.accessTokenSecret, 'admin');
  const cust = await customer(a);
  for (const app of [a, b]) t.is((await cart(app, cust.bearer)).status, 200, 'the token works on both before');

  const off = await b.client().request('PATCH', `/api/admin/users/${cust.id}`, { json: { disabled: true }, headers: boss.auth });
  t.is(off.status, 200, off.text);
  await refused(t, a, cust.bearer, 'instance A');
  await refused(t, b, cust.bearer, 'instance B');
  // The cookie session too (the same token, in its cookie), and its refresh.
  t.is((await cust.c.get('/api/cart')).status, 401);

  const on = await a.client().request('PATCH', `/api/admin/users/${cust.id}`, { json: { disabled: false }, headers: boss.auth });
  t.is(on.status, 200, on.text);
  await refused(t, a, cust.bearer, 'a token issued before the disable stays refused');
  const fresh = await signin(b, cust.username);
  for (const app of [a, b]) t.is((await cart(app, fresh)).status, 200, 'a sign-in after enabling works at once on both');
});

test('when `watchstore users disable` runs (the CLI, its own connections), then both instances refuse the token at the next request', async (t) => {
  const cust = await customer(b);
  t.is((await cart(a, cust.bearer)).status, 200);
  const cli = cliInProcess(a.t);
  const r = await cli(['users', 'disable', cust.username]);
  t.is(r.code, 0, r.stderr);
  await refused(t, a, cust.bearer, 'instance A');
  await refused(t, b, cust.bearer, 'instance B');
  t.is((await cli(['users', 'enable', cust.username])).code, 0);
});

test('when `watchstore users passwd` sets a new password, then the old access and refresh tokens are refused on both instances, and the new password signs in', async (t) => {
  const cust = await customer(a);
  t.is((await cart(b, cust.bearer)).status, 200);
  const r = await cliInProcess(a.t)(['users', 'passwd', cust.username, '--password-stdin'], { input: 'a new horse 33' });
  t.is(r.code, 0, r.stderr);
  await refused(t, a, cust.bearer, 'instance A');
  await refused(t, b, cust.bearer, 'instance B');
  t.is((await cust.c.post('/api/auth/refresh')).status, 401, 'the refresh token of the old session');
  const fresh = await signin(b, cust.username, 'a new horse 33');
  for (const app of [a, b]) t.is((await cart(app, fresh)).status, 200);
});

test('when a password is reset through one instance, then the old tokens are refused on both and a sign-in with the new password works at once', async (t) => {
  const cust = await customer(a);
  const other = await customer(a);
  t.is((await b.client().post('/api/auth/password-reset', { login: cust.email })).status, 202);
  const row = await a.t.db('outbox').where({ topic: 'password.reset', recipient: cust.email }).orderBy('id', 'desc').first();
  const token = JSON.parse(row.payload).data.token as string;
  const done = await b.client().post('/api/auth/password-reset/confirm', { token, password: 'a new horse 22' });
  t.is(done.status, 200, done.text);

  await refused(t, a, cust.bearer, 'instance A');
  await refused(t, b, cust.bearer, 'instance B');
  const fresh = await signin(a, cust.username, 'a new horse 22');
  for (const app of [a, b]) t.is((await cart(app, fresh)).status, 200, 'the new session works on both, in the same second');
  for (const app of [a, b]) t.is((await cart(app, other.bearer)).status, 200, 'another user is not affected');
});

test('when a refresh token is used after a revocation, then it fails, and a refresh before it gives a token that is refused too', async (t) => {
  const cust = await customer(a);
  // A refresh before the revocation: a new access token, issued under the old epoch.
  const refreshed: Client = cust.c;
  t.is((await refreshed.post('/api/auth/refresh')).status, 200);
  const boss = await signedInAs(a.t.db, a.config.accessTokenSecret, 'admin');
  t.is((await a.client().request('PATCH', `/api/admin/users/${cust.id}`, { json: { disabled: true }, headers: boss.auth })).status, 200);
  t.is((await refreshed.get('/api/cart')).status, 401, 'the refreshed cookie token');
  t.is((await refreshed.post('/api/auth/refresh')).status, 401, 'the refresh token');
});

test('when an admin is demoted on one instance, then the other answers 403 on admin routes at the next request', async (t) => {
  const boss = await signedInAs(a.t.db, a.config.accessTokenSecret, 'admin');
  const staff = await signedInAs(a.t.db, a.config.accessTokenSecret, 'admin');
  t.is((await a.client().get('/api/admin/users', staff.auth)).status, 200);
  t.is((await b.client().request('PATCH', `/api/admin/users/${staff.id}`, { json: { role: 'customer' }, headers: boss.auth })).status, 200);
  const res = await a.client().get('/api/admin/users', staff.auth);
  t.is(res.status, 403, res.text);
  t.is((await cart(a, staff.auth)).status, 200, 'a role change ends no session');
});
