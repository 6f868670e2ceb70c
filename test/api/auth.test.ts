import { createHash } from 'node:crypto';
import test from 'ava';
import jwt from 'jsonwebtoken';
import { refreshTokensRepository } from '../../src/auth/refresh-tokens.repository.js';
import { startApp, type Client, type Res, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';

// One app for the file, with rate limits out of the way (rate-limit.test.ts covers them).
let app: TestApp;
test.before(async () => {
  app = await startApp({
    env: {
      ...UNLIMITED_AUTH,
      // Strict rotation: any reuse ends the family (the grace window is test/api/refresh-grace.test.ts).
      REFRESH_REUSE_GRACE_SECONDS: '0',
    },
  });
});
test.after.always(async () => {
  await app?.close();
});

let n = 0;
/** A fresh, valid account's sign-up fields. */
function newAccount(prefix = 'user') {
  n += 1;
  const username = `${prefix}_${n}_${process.pid}`;
  return { username, email: `${username}@example.com`, password: 'correct horse 1' };
}

async function signedUp(prefix?: string): Promise<{ c: Client; account: ReturnType<typeof newAccount>; res: Res }> {
  const c = app.client();
  const account = newAccount(prefix);
  const res = await c.post('/api/auth/signup', account);
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return { c, account, res };
}

/** The Set-Cookie line for one cookie name. */
function setCookie(res: Res, name: string): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

test('when a visitor signs up, then 201 gives the customer and both cookies, and signing in with the new account works', async (t) => {
  const c = app.client();
  const account = newAccount('plain');
  const res = await c.post('/api/auth/signup', account);
  t.is(res.status, 201, res.text);
  t.deepEqual(Object.keys(res.body.user).sort(), ['created_at', 'email', 'id', 'role', 'username']);
  t.is(res.body.user.username, account.username);
  t.is(res.body.user.email, account.email);
  t.is(res.body.user.role, 'customer');
  t.false(res.text.includes('password'));

  const access = setCookie(res, 'access_token')!;
  const refresh = setCookie(res, 'refresh_token')!;
  t.truthy(access);
  t.truthy(refresh);
  t.regex(access, /; path=\/;/);
  t.regex(access, /; samesite=lax/);
  t.regex(access, /; httponly/);
  t.notRegex(access, /; secure/);
  t.regex(refresh, /; path=\/api\/auth;/);
  t.regex(refresh, /; samesite=lax/);
  t.regex(refresh, /; httponly/);
  // 15 minutes and 7 days.
  const expiresIn = (cookie: string) => (Date.parse(/expires=([^;]+)/.exec(cookie)![1]) - Date.now()) / 1000;
  t.true(Math.abs(expiresIn(access) - 15 * 60) < 60);
  t.true(Math.abs(expiresIn(refresh) - 7 * 24 * 3600) < 60);

  const me = await c.get('/api/auth/me');
  t.is(me.status, 200);
  t.deepEqual(me.body.user, res.body.user);

  const fresh = app.client();
  const signin = await fresh.post('/api/auth/signin', { login: account.username, password: account.password });
  t.is(signin.status, 200, signin.text);
  t.deepEqual(signin.body.user, res.body.user);
  t.truthy(fresh.cookies.get('access_token'));
  t.truthy(fresh.cookies.get('refresh_token'));
  t.is((await fresh.get('/api/auth/me')).body.user.id, res.body.user.id);
});

test('when signing in by e-mail (any case), or with the old username/email fields, then each works', async (t) => {
  const { account, res } = await signedUp('alias');
  const id = res.body.user.id;
  for (const body of [
    { login: account.email.toUpperCase(), password: account.password },
    { username: account.username, password: account.password },
    { email: account.email, password: account.password },
    { login: `  ${account.username} `, password: account.password },
  ]) {
    const r = await app.client().post('/api/auth/signin', body);
    t.is(r.status, 200, JSON.stringify(body));
    t.is(r.body.user.id, id);
  }
});

test('when the sign-up body says role admin (or an id), then it is ignored and the account is a customer', async (t) => {
  const account = newAccount('sneaky');
  const res = await app.client().post('/api/auth/signup', { ...account, role: 'admin', id: 999999, created_at: '2000-01-01' });
  t.is(res.status, 201);
  t.is(res.body.user.role, 'customer');
  t.not(res.body.user.id, 999999);
  const row = await app.t.db('users').where({ username: account.username }).first();
  t.is(row.role, 'customer');
});

test('when the username or the e-mail is taken, then 409 USERNAME_TAKEN or EMAIL_TAKEN', async (t) => {
  const { account } = await signedUp('taken');
  const sameName = await app.client().post('/api/auth/signup', { ...newAccount('x'), username: account.username });
  t.is(sameName.status, 409);
  t.is(sameName.body.error.code, 'USERNAME_TAKEN');
  const sameEmail = await app.client().post('/api/auth/signup', { ...newAccount('y'), email: account.email.toUpperCase() });
  t.is(sameEmail.status, 409);
  t.is(sameEmail.body.error.code, 'EMAIL_TAKEN');
  t.is(setCookie(sameEmail, 'access_token'), undefined);
});

test('when sign-up fields are invalid, then 400 VALIDATION_FAILED names each field', async (t) => {
  const res = await app.client().post('/api/auth/signup', { username: 'a', email: 'not-an-email', password: 'short' });
  t.is(res.status, 400);
  t.is(res.body.error.code, 'VALIDATION_FAILED');
  t.deepEqual(res.body.error.details.map((d: { path: string }) => d.path).sort(), ['email', 'password', 'username']);
  const tooLong = await app.client().post('/api/auth/signup', { ...newAccount('long'), password: 'é'.repeat(37) }); // 74 bytes
  t.is(tooLong.status, 400);
  t.is(tooLong.body.error.details[0].path, 'password');
});

test('when the password is wrong or the user unknown, then both give the same 401 INVALID_CREDENTIALS', async (t) => {
  const { account } = await signedUp('creds');
  const wrong = await app.client().post('/api/auth/signin', { login: account.username, password: 'wrong password' });
  const unknown = await app.client().post('/api/auth/signin', { login: 'nobody_at_all', password: 'wrong password' });
  t.is(wrong.status, 401);
  t.is(unknown.status, 401);
  t.is(wrong.body.error.code, 'INVALID_CREDENTIALS');
  t.deepEqual(wrong.body, unknown.body);
  t.is(setCookie(wrong, 'access_token'), undefined);
});

test('when sign-in has no login or no password, then 400 VALIDATION_FAILED', async (t) => {
  const noLogin = await app.client().post('/api/auth/signin', { password: 'whatever1' });
  t.is(noLogin.status, 400);
  t.is(noLogin.body.error.details[0].path, 'login');
  const noPassword = await app.client().post('/api/auth/signin', { login: 'someone' });
  t.is(noPassword.status, 400);
  t.is(noPassword.body.error.details[0].path, 'password');
});

test('when the refresh cookie is presented, then 200 gives a new pair, and only hashes are stored with the old one revoked and linked', async (t) => {
  const { c, res } = await signedUp('rot');
  const oldRefresh = c.cookies.get('refresh_token')!;
  t.regex(oldRefresh, /^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url

  const r = await c.post('/api/auth/refresh');
  t.is(r.status, 200, r.text);
  t.deepEqual(r.body.user, res.body.user);
  const newRefresh = c.cookies.get('refresh_token')!;
  t.not(newRefresh, oldRefresh);
  t.truthy(setCookie(r, 'access_token')); // a fresh access token (identical bytes if issued in the same second)
  t.regex(setCookie(r, 'refresh_token')!, /; path=\/api\/auth;/);

  const rows = await app.t.db('refresh_tokens').where({ user_id: res.body.user.id }).orderBy('id');
  t.is(rows.length, 2);
  const [old, next] = rows;
  t.is(old.token_hash, sha256(oldRefresh));
  t.is(next.token_hash, sha256(newRefresh));
  t.is(old.family_id, next.family_id);
  t.truthy(old.revoked_at);
  t.is(Number(old.replaced_by_id), Number(next.id));
  t.is(next.revoked_at, null);
  const everything = JSON.stringify(rows);
  t.false(everything.includes(oldRefresh));
  t.false(everything.includes(newRefresh));
  t.true(Date.parse(`${String(next.expires_at).replace(' ', 'T')}Z`) - Date.now() > 6.9 * 24 * 3600 * 1000);

  // The new pair works; the rotated-out token is now a reuse.
  t.is((await c.get('/api/auth/me')).status, 200);
  const again = await c.request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${oldRefresh}` } });
  t.is(again.status, 401);
  t.is(again.body.error.code, 'TOKEN_REUSED');
});

test('when a revoked refresh token is presented, then the whole family is revoked and its newest token stops working', async (t) => {
  const { c, res } = await signedUp('reuse');
  const first = c.cookies.get('refresh_token')!;
  t.is((await c.post('/api/auth/refresh')).status, 200);
  t.is((await c.post('/api/auth/refresh')).status, 200);
  const newest = c.cookies.get('refresh_token')!;

  // A second session of the same user is a different family and must survive.
  const other = app.client();
  t.is((await other.post('/api/auth/signin', { login: res.body.user.username, password: 'correct horse 1' })).status, 200);

  const thief = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${first}` } });
  t.is(thief.status, 401);
  t.is(thief.body.error.code, 'TOKEN_REUSED');

  const victim = await c.post('/api/auth/refresh');
  t.is(victim.status, 401);
  t.is(victim.body.error.code, 'TOKEN_REUSED');
  // The dead cookies are cleared too.
  t.is(c.cookies.get('refresh_token'), undefined);
  const active = await app.t
    .db('refresh_tokens')
    .where({ token_hash: sha256(newest) })
    .first();
  t.truthy(active.revoked_at);

  t.is((await other.post('/api/auth/refresh')).status, 200);
});

test('when the same refresh token is used by two requests at once, then one rotates and the other is a reuse that ends the family', async (t) => {
  const { c } = await signedUp('race');
  const token = c.cookies.get('refresh_token')!;
  const a = app.client();
  const b = app.client();
  const [ra, rb] = await Promise.all([
    a.request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${token}` } }),
    b.request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${token}` } }),
  ]);
  const statuses = [ra.status, rb.status].sort();
  t.deepEqual(statuses, [200, 401]);
  const loser = ra.status === 401 ? ra : rb;
  const winner = ra.status === 200 ? a : b;
  t.is(loser.body.error.code, 'TOKEN_REUSED');
  // The winner's new token belonged to the revoked family.
  const after = await winner.post('/api/auth/refresh');
  t.is(after.status, 401);
});

test('when the refresh cookie is missing, malformed, unknown or expired, then 401 UNAUTHENTICATED', async (t) => {
  const none = await app.client().post('/api/auth/refresh');
  t.is(none.status, 401);
  t.is(none.body.error.code, 'UNAUTHENTICATED');
  for (const cookie of ['refresh_token=short', `refresh_token=${'A'.repeat(43)}`]) {
    const r = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie } });
    t.is(r.status, 401);
    t.is(r.body.error.code, 'UNAUTHENTICATED');
  }
  const { c } = await signedUp('expired');
  const token = c.cookies.get('refresh_token')!;
  await app.t
    .db('refresh_tokens')
    .where({ token_hash: sha256(token) })
    .update({ expires_at: '2020-01-01 00:00:00.000' });
  const expired = await c.post('/api/auth/refresh');
  t.is(expired.status, 401);
  t.is(expired.body.error.code, 'UNAUTHENTICATED');
});

test('when the role changed since sign-in, then refresh returns the stored role and signs it into the new access token', async (t) => {
  const { c, res } = await signedUp('promoted');
  await app.t.db('users').where({ id: res.body.user.id }).update({ role: 'admin' });
  const r = await c.post('/api/auth/refresh');
  t.is(r.status, 200);
  t.is(r.body.user.role, 'admin');
  const claims = jwt.verify(c.cookies.get('access_token')!, app.config.accessTokenSecret, { algorithms: ['HS256'] }) as jwt.JwtPayload;
  t.is(claims.role, 'admin');
  t.is(claims.sub, String(res.body.user.id));
});

test('when the user was deleted, then refresh and me answer 401', async (t) => {
  const { c, res } = await signedUp('gone');
  await app.t.db('users').where({ id: res.body.user.id }).delete();
  t.is((await c.get('/api/auth/me')).status, 401);
  const r = await c.post('/api/auth/refresh');
  t.is(r.status, 401);
  t.is(r.body.error.code, 'UNAUTHENTICATED');
});

test('when signing out, then 204 clears both cookies (with their paths) and the refresh token is revoked', async (t) => {
  const { c } = await signedUp('bye');
  const token = c.cookies.get('refresh_token')!;
  const res = await c.post('/api/auth/logout');
  t.is(res.status, 204);
  t.regex(setCookie(res, 'access_token')!, /^access_token=; path=\/; expires=Thu, 01 Jan 1970/);
  t.regex(setCookie(res, 'refresh_token')!, /^refresh_token=; path=\/api\/auth; expires=Thu, 01 Jan 1970/);
  t.is(c.cookies.size, 0);
  const row = await app.t
    .db('refresh_tokens')
    .where({ token_hash: sha256(token) })
    .first();
  t.truthy(row.revoked_at);
  const replay = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${token}` } });
  t.is(replay.status, 401);
});

test('when already signed out, then both logout paths still answer 204 and clear the cookies', async (t) => {
  for (const path of ['/api/auth/logout', '/api/logout']) {
    const res = await app.client().post(path);
    t.is(res.status, 204, path);
    t.truthy(setCookie(res, 'access_token'));
    t.truthy(setCookie(res, 'refresh_token'));
  }
  const junk = await app.client().request('POST', '/api/logout', { headers: { cookie: 'refresh_token=nonsense; access_token=nonsense' } });
  t.is(junk.status, 204);
});

test('when POST /api/logout gets the refresh cookie, then that token is revoked', async (t) => {
  const { c } = await signedUp('legacy');
  const token = c.cookies.get('refresh_token')!;
  t.is((await c.post('/api/logout')).status, 204);
  t.truthy(
    (
      await app.t
        .db('refresh_tokens')
        .where({ token_hash: sha256(token) })
        .first()
    ).revoked_at,
  );
});

test('when a browser calls POST /api/logout (the refresh cookie is scoped to /api/auth, so only the access token comes), then the session is revoked', async (t) => {
  const { c } = await signedUp('browser');
  const token = c.cookies.get('refresh_token')!;
  const res = await c.request('POST', '/api/logout', { headers: { cookie: `access_token=${c.cookies.get('access_token')}` } });
  t.is(res.status, 204);
  t.truthy(
    (
      await app.t
        .db('refresh_tokens')
        .where({ token_hash: sha256(token) })
        .first()
    ).revoked_at,
  );
});

test('when POST /api/logout comes after the access token expired (only that cookie is sent), then the session is still revoked and refresh gives 401', async (t) => {
  const c = app.client();
  const account = newAccount('idle');
  t.is((await c.post('/api/auth/signup', account)).status, 201);
  const refreshToken = c.cookies.get('refresh_token')!;
  // The same claims, signed with the same secret, but expired a minute ago (15 idle minutes later).
  const claims = jwt.decode(c.cookies.get('access_token')!) as { sub: string; role: string; sid: string };
  t.truthy(claims.sid);
  const expired = jwt.sign({ role: claims.role, sid: claims.sid, exp: Math.floor(Date.now() / 1000) - 60 }, app.config.accessTokenSecret, {
    algorithm: 'HS256',
    subject: claims.sub,
  });
  t.is((await app.client().get('/api/auth/me', { authorization: `Bearer ${expired}` })).status, 401, 'the token really is expired');

  const res = await app.client().request('POST', '/api/logout', { headers: { cookie: `access_token=${expired}` } });
  t.is(res.status, 204);
  t.truthy(
    (
      await app.t
        .db('refresh_tokens')
        .where({ token_hash: sha256(refreshToken) })
        .first()
    ).revoked_at,
  );
  const again = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${refreshToken}` } });
  t.is(again.status, 401);
});

test('when POST /api/logout gets an expired access token signed with another secret, then nothing is revoked', async (t) => {
  const c = app.client();
  t.is((await c.post('/api/auth/signup', newAccount('forged'))).status, 201);
  const refreshToken = c.cookies.get('refresh_token')!;
  const claims = jwt.decode(c.cookies.get('access_token')!) as { sub: string; role: string; sid: string };
  const forged = jwt.sign({ role: claims.role, sid: claims.sid, exp: Math.floor(Date.now() / 1000) - 60 }, 'another-secret-0123456789abcdef0123', {
    algorithm: 'HS256',
    subject: claims.sub,
  });
  t.is((await app.client().request('POST', '/api/logout', { headers: { cookie: `access_token=${forged}` } })).status, 204);
  t.is(
    (
      await app.t
        .db('refresh_tokens')
        .where({ token_hash: sha256(refreshToken) })
        .first()
    ).revoked_at,
    null,
  );
  const still = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${refreshToken}` } });
  t.is(still.status, 200);
});

test('when /api/auth/me is called without, or with a Bearer, access token, then 401 or 200', async (t) => {
  const none = await app.client().get('/api/auth/me');
  t.is(none.status, 401);
  t.is(none.body.error.code, 'UNAUTHENTICATED');
  const { c, res } = await signedUp('bearer');
  const bearer = await app.client().get('/api/auth/me', { authorization: `Bearer ${c.cookies.get('access_token')}` });
  t.is(bearer.status, 200);
  t.is(bearer.body.user.id, res.body.user.id);
});

test('when COOKIE_SECURE=true and TLS ends at a proxy (plain http here), then sign-in works and both cookies are Secure', async (t) => {
  const secure = await startApp({ database: app.t, env: { COOKIE_SECURE: 'true' } });
  const proxied = await startApp({ database: app.t, env: { COOKIE_SECURE: 'true', TRUST_PROXY: 'true' } });
  try {
    const { account } = await signedUp('secure');
    for (const [server, headers] of [
      [secure, {}],
      [proxied, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' }],
    ] as const) {
      const res = await server.client().request('POST', '/api/auth/signin', { json: { login: account.username, password: account.password }, headers });
      t.is(res.status, 200, res.text);
      t.regex(setCookie(res, 'access_token')!, /; secure/);
      t.regex(setCookie(res, 'refresh_token')!, /; secure/);
      const out = await server.client().post('/api/auth/logout');
      t.is(out.status, 204);
      t.regex(setCookie(out, 'refresh_token')!, /; secure/);
    }
  } finally {
    await secure.close();
    await proxied.close();
  }
});

test('when a token was revoked after it was read, then the guarded rotation update affects no row (the concurrent-reuse signal)', async (t) => {
  const { c, res } = await signedUp('guard');
  const row = await refreshTokensRepository.findByHash(app.t.db, sha256(c.cookies.get('refresh_token')!));
  t.truthy(row);
  t.is(await refreshTokensRepository.revokeIfActive(app.t.db, row!.id, new Date(), null), 1);
  t.is(await refreshTokensRepository.revokeIfActive(app.t.db, row!.id, new Date(), 12345), 0);
  const after = await app.t.db('refresh_tokens').where({ id: row!.id }).first();
  t.is(after.replaced_by_id, null); // the losing rotation linked nothing
  t.is(Number(after.user_id), res.body.user.id);
});
