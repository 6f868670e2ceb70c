import { createHash } from 'node:crypto';
import { toDbTime } from '../../src/db/values.js';
import test from 'ava';
import jwt from 'jsonwebtoken';
import { hashPassword } from '../../src/users/password.js';
import { usersRepository } from '../../src/users/users.repository.js';
import { startApp, type Res, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';

let app: TestApp;
const NO_LIMITS = {
  ...UNLIMITED_AUTH,
};
const alice = { username: 'alice', email: 'alice@example.com', password: 'alice password 1' };
let aliceId: number;

test.before(async () => {
  app = await startApp({ env: NO_LIMITS });
  const res = await app.client().post('/api/auth/signup', alice);
  if (res.status !== 201) throw new Error(res.text);
  aliceId = res.body.user.id;
  // An admin account the injections would love to become.
  await usersRepository.insert(app.t.db, {
    username: 'admin',
    email: 'admin@example.com',
    password_hash: await hashPassword('admin password 1', 4),
    role: 'admin',
  });
});
test.after.always(async () => {
  await app?.close();
});

function neverLeaks(t: import('ava').ExecutionContext, res: Res) {
  t.false(/password_hash|\$2[aby]\$/.test(res.text), 'no password hash in the response');
}

test('when sign-in fields carry SQL injection, then the answer is 401 or 400, never 200 or 500', async (t) => {
  const forgedHash = await hashPassword('pwned123', 4);
  const union = `' UNION SELECT 1,'admin','a@b.c','${forgedHash}','admin','2020-01-01','2020-01-01' -- `;
  const attempts: Record<string, unknown>[] = [
    { login: union, password: 'pwned123' },
    { username: union, password: 'pwned123' },
    { email: union, password: 'pwned123' },
    { login: "admin' --", password: 'anything' },
    { login: "admin' OR '1'='1", password: "' OR '1'='1" },
    { login: "' OR 1=1 -- ", password: 'x' },
    { login: 'admin', password: "' OR '1'='1' -- " },
    { login: 'alice"; DROP TABLE users; --', password: 'x' },
    { login: "alice') OR ('a'='a", password: 'x' },
    { login: ['admin'], password: 'x' },
    { login: { $ne: null }, password: { $ne: null } },
    { login: 'admin', password: ['admin password 1'] },
  ];
  for (const body of attempts) {
    const res = await app.client().post('/api/auth/signin', body);
    t.true([400, 401].includes(res.status), `${JSON.stringify(body)} → ${res.status} ${res.text}`);
    t.is(res.headers.getSetCookie().filter((c) => c.startsWith('access_token=')).length, 0);
    neverLeaks(t, res);
  }
  // The tables are intact and alice still signs in.
  t.is((await app.client().post('/api/auth/signin', { login: 'alice', password: alice.password })).status, 200);
});

test('when sign-up fields carry SQL injection, then 400 and no account is made; the password is only ever hashed', async (t) => {
  const attempts: Record<string, unknown>[] = [
    { username: "x' OR '1'='1", email: 'inj1@example.com', password: 'password 123' },
    { username: "admin'--", email: 'inj2@example.com', password: 'password 123' },
    { username: 'inj3', email: "inj3@example.com' OR '1'='1", password: 'password 123' },
    { username: 'inj4', email: "'); DROP TABLE users; --@x.com", password: 'password 123' },
    { username: ['inj5'], email: 'inj5@example.com', password: 'password 123' },
  ];
  for (const body of attempts) {
    const res = await app.client().post('/api/auth/signup', body);
    t.is(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${res.text}`);
    t.is(res.body.error.code, 'VALIDATION_FAILED');
  }
  t.is(await app.t.db('users').where('email', 'like', 'inj%').orWhere('username', 'like', '%inj%').first(), undefined);

  // A password that looks like SQL is just a password.
  const sqlish = "'); UPDATE users SET role='admin'; --";
  const res = await app.client().post('/api/auth/signup', { username: 'sqlish', email: 'sqlish@example.com', password: sqlish });
  t.is(res.status, 201);
  t.is(res.body.user.role, 'customer');
  t.is((await app.t.db('users').where({ username: 'alice' }).first()).role, 'customer');
  t.is((await app.client().post('/api/auth/signin', { login: 'sqlish', password: sqlish })).status, 200);
});

test('when the sign-up body asks for role admin, then the account is a customer and its token says so', async (t) => {
  const c = app.client();
  const res = await c.post('/api/auth/signup', { username: 'wannabe', email: 'wannabe@example.com', password: 'password 123', role: 'admin' });
  t.is(res.status, 201);
  t.is(res.body.user.role, 'customer');
  const claims = jwt.decode(c.cookies.get('access_token')!) as jwt.JwtPayload;
  t.is(claims.role, 'customer');
});

/** A JWT put together by hand, as an attacker would. */
function handMade(header: object, payload: object, signature = ''): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

test('when the access token is alg none, tampered, signed with another secret or expired, then /api/auth/me answers 401', async (t) => {
  const c = app.client();
  t.is((await c.post('/api/auth/signin', { login: 'alice', password: alice.password })).status, 200);
  const good = c.cookies.get('access_token')!;
  t.is((await app.client().get('/api/auth/me', { cookie: `access_token=${good}` })).status, 200);

  const now = Math.floor(Date.now() / 1000);
  const [header, , signature] = good.split('.');
  const claims = { sub: String(aliceId), role: 'admin', iat: now, exp: now + 600 };
  const forged = {
    'alg none': handMade({ alg: 'none', typ: 'JWT' }, claims),
    'alg none, with a signature': handMade({ alg: 'none', typ: 'JWT' }, claims, signature),
    'tampered payload (role admin)': `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`,
    'wrong secret': jwt.sign({ role: 'admin' }, 'not-the-secret-0123456789abcdef0123456789', { algorithm: 'HS256', subject: String(aliceId), expiresIn: 600 }),
    'HS512 with the right secret': jwt.sign({ role: 'customer' }, app.config.accessTokenSecret, {
      algorithm: 'HS512',
      subject: String(aliceId),
      expiresIn: 600,
    }),
    expired: jwt.sign({ role: 'customer', exp: now - 60 }, app.config.accessTokenSecret, { algorithm: 'HS256', subject: String(aliceId) }),
    'no subject': jwt.sign({ role: 'customer' }, app.config.accessTokenSecret, { algorithm: 'HS256', expiresIn: 600 }),
    garbage: 'not.a.jwt',
  };
  for (const [name, token] of Object.entries(forged)) {
    const ways: Record<string, string>[] = [{ cookie: `access_token=${token}` }, { authorization: `Bearer ${token}` }];
    for (const headers of ways) {
      const res = await app.client().get('/api/auth/me', headers);
      t.is(res.status, 401, `${name} via ${Object.keys(headers)[0]}`);
      t.is(res.body.error.code, 'UNAUTHENTICATED');
    }
  }
});

test('when a refresh token is reused, then TOKEN_REUSED and the newest token of its family no longer works', async (t) => {
  const c = app.client();
  t.is((await c.post('/api/auth/signin', { login: 'alice', password: alice.password })).status, 200);
  const stolen = c.cookies.get('refresh_token')!;
  t.is((await c.post('/api/auth/refresh')).status, 200);
  const newest = c.cookies.get('refresh_token')!;
  // Past the grace window (REFRESH_REUSE_GRACE_SECONDS, 30 s by default): the rotation was 31 s ago.
  await app.t
    .db('refresh_tokens')
    .where({ token_hash: createHash('sha256').update(stolen).digest('hex') })
    .update({ revoked_at: toDbTime(new Date(Date.now() - 31_000)) });
  const reuse = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${stolen}` } });
  t.is(reuse.status, 401);
  t.is(reuse.body.error.code, 'TOKEN_REUSED');
  const after = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${newest}` } });
  t.is(after.status, 401);
  t.is(after.body.error.code, 'TOKEN_REUSED');
});

test('when any auth endpoint answers, then no password hash is in it', async (t) => {
  const c = app.client();
  const responses = [
    await c.post('/api/auth/signup', { username: 'leaky', email: 'leaky@example.com', password: 'password 123' }),
    await c.post('/api/auth/signin', { login: 'leaky', password: 'password 123' }),
    await c.get('/api/auth/me'),
    await c.post('/api/auth/refresh'),
    await c.post('/api/auth/signup', { username: 'leaky', email: 'leaky@example.com', password: 'password 123' }),
    await c.post('/api/auth/signin', { login: 'leaky', password: 'wrong password' }),
    await c.post('/api/auth/logout'),
  ];
  t.deepEqual(
    responses.map((r) => r.status),
    [201, 200, 200, 200, 409, 401, 204],
  );
  for (const res of responses) {
    neverLeaks(t, res);
    t.false(res.text.includes('password 123'), res.text);
  }
});

test('when eight sign-ins with bcrypt cost 10 are running, then a health check issued meanwhile answers before they finish', async (t) => {
  const slow = await startApp({ database: app.t, env: { ...NO_LIMITS, BCRYPT_COST: '10' } });
  try {
    const password = 'slow password 1';
    const hash = await hashPassword(password, 10);
    for (let i = 0; i < 8; i++) {
      await usersRepository.insert(app.t.db, { username: `slow${i}`, email: `slow${i}@example.com`, password_hash: hash, role: 'customer' });
    }
    // Wait until the server has all eight sign-ins in hand before asking for health.
    let received = 0;
    slow.server.on('request', (req) => {
      if (req.url === '/api/auth/signin') received++;
    });
    const order: string[] = [];
    const signins = Array.from({ length: 8 }, (_, i) =>
      slow
        .client()
        .post('/api/auth/signin', { login: `slow${i}`, password })
        .then((r) => {
          order.push(`signin:${r.status}`);
        }),
    );
    const deadline = Date.now() + 10_000;
    while (received < 8 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    t.is(received, 8);
    const health = await slow.client().get('/api/health');
    order.push(`health:${health.status}`);
    await Promise.all(signins);
    // Sign-ins still running when health answered: with a blocking bcrypt it would come last.
    t.is(order.length, 9, order.join(' '));
    const healthAt = order.indexOf('health:200');
    t.true(healthAt >= 0, `health answered 200: ${order.join(' ')}`);
    t.true(healthAt < 8, `health answered before the last sign-in: ${order.join(' ')}`);
    t.is(order.filter((o) => o === 'signin:200').length, 8);
  } finally {
    await slow.close();
  }
});
