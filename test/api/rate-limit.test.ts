import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { createRateLimits, DEFAULT_RATE_LIMIT_PREFIX } from '../../src/http/middleware/rate-limit.js';
import { startApp, type Res, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// One database for the file; every test starts its own app, so each gets fresh in-memory counters.
let database: TestDatabase;
const apps: TestApp[] = [];
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(async () => {
  for (const a of apps) await a.close();
  await database?.drop();
});

async function appWith(env: Record<string, string> = {}): Promise<TestApp> {
  const a = await startApp({ database, env });
  apps.push(a);
  return a;
}

const signin = (a: TestApp, login: string, headers: Record<string, string> = {}) =>
  a.client().request('POST', '/api/auth/signin', { json: { login, password: 'not the password' }, headers });

function assertLimited(t: import('ava').ExecutionContext, res: Res, limit: number) {
  t.is(res.status, 429, res.text);
  t.is(res.body.error.code, 'RATE_LIMITED');
  t.is(typeof res.body.error.message, 'string');
  const retryAfter = Number(res.headers.get('retry-after'));
  t.true(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers.get('retry-after')}`);
  t.is(res.headers.get('x-ratelimit-limit'), String(limit));
  t.is(res.headers.get('x-ratelimit-remaining'), '0');
  t.true(Number(res.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
}

test('when one address makes an 11th sign-in within the window, then it is refused with 429 RATE_LIMITED and Retry-After', async (t) => {
  const a = await appWith();
  for (let i = 1; i <= 10; i++) {
    const res = await signin(a, `someone${i}`); // distinct logins: only the per-IP limit applies
    t.is(res.status, 401, `attempt ${i}`);
    t.is(res.headers.get('x-ratelimit-limit') !== null, true);
  }
  assertLimited(t, await signin(a, 'someone11'), 10);
});

test('when a limited address then sends the right password, then it is still refused (the handler never runs)', async (t) => {
  const a = await appWith({ RATE_LIMIT_SIGNIN_PER_IP: '2' });
  const account = { username: 'rl_rightpw', email: 'rl_rightpw@example.com', password: 'right password 1' };
  t.is((await a.client().post('/api/auth/signup', account)).status, 201);
  t.is((await signin(a, 'x1')).status, 401);
  t.is((await signin(a, 'x2')).status, 401);
  const res = await a.client().post('/api/auth/signin', { login: account.username, password: account.password });
  t.is(res.status, 429);
  t.is(res.headers.getSetCookie().length, 0);
});

test('when the same login is tried a 6th time from one address (in any case), then 429, while other logins still get through', async (t) => {
  const a = await appWith();
  for (const login of ['Victim', 'victim', 'VICTIM', ' victim ', 'victim']) t.is((await signin(a, login)).status, 401);
  assertLimited(t, await signin(a, 'vIcTiM'), 5);
  // The old `username` / `email` fields count against the same login.
  t.is((await a.client().post('/api/auth/signin', { username: 'victim', password: 'x' })).status, 429);
  t.is((await signin(a, 'someone-else')).status, 401);
});

test('when X-Forwarded-For is forged on every request and TRUST_PROXY is off, then it does not escape the limit', async (t) => {
  const a = await appWith({ TRUST_PROXY: 'false' });
  for (let i = 1; i <= 10; i++) t.is((await signin(a, `f${i}`, { 'x-forwarded-for': `198.51.100.${i}` })).status, 401);
  assertLimited(t, await signin(a, 'f11', { 'x-forwarded-for': '198.51.100.11' }), 10);
});

test('when TRUST_PROXY is on, then different X-Forwarded-For addresses are different clients', async (t) => {
  const a = await appWith({ TRUST_PROXY: 'true' });
  for (let i = 1; i <= 10; i++) t.is((await signin(a, `p${i}`, { 'x-forwarded-for': '203.0.113.1' })).status, 401);
  assertLimited(t, await signin(a, 'p11', { 'x-forwarded-for': '203.0.113.1' }), 10);
  t.is((await signin(a, 'p12', { 'x-forwarded-for': '203.0.113.2' })).status, 401);
});

test('when TRUST_PROXY is on and a client prepends forged addresses, then the proxy-appended address is the key', async (t) => {
  const a = await appWith({ TRUST_PROXY: 'true' });
  for (let i = 1; i <= 10; i++) t.is((await signin(a, `q${i}`, { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.50` })).status, 401);
  assertLimited(t, await signin(a, 'q11', { 'x-forwarded-for': '10.9.9.11, 203.0.113.50' }), 10);
});

test('when one address signs up a 6th time within the window, then 429 and no account is made', async (t) => {
  const a = await appWith();
  for (let i = 1; i <= 5; i++) {
    const res = await a.client().post('/api/auth/signup', { username: `rl_su_${i}`, email: `rl_su_${i}@example.com`, password: 'password 123' });
    t.is(res.status, 201, res.text);
  }
  const res = await a.client().post('/api/auth/signup', { username: 'rl_su_6', email: 'rl_su_6@example.com', password: 'password 123' });
  assertLimited(t, res, 5);
  t.is(await database.db('users').where({ username: 'rl_su_6' }).first(), undefined);
});

test('when refresh is called more often than configured, then 429 (the limit is read from the config)', async (t) => {
  const a = await appWith({ RATE_LIMIT_REFRESH_PER_IP: '3' });
  for (let i = 1; i <= 3; i++) t.is((await a.client().post('/api/auth/refresh')).status, 401);
  assertLimited(t, await a.client().post('/api/auth/refresh'), 3);
});

test('when the default refresh limit is used, then the 31st refresh within the window is refused', async (t) => {
  const a = await appWith();
  for (let i = 1; i <= 30; i++) t.is((await a.client().post('/api/auth/refresh')).status, 401);
  assertLimited(t, await a.client().post('/api/auth/refresh'), 30);
});

test('when an address is limited, then Reset and Retry-After name the end of the window its first request opened, and a fresh window lets it in again', async (t) => {
  // No waiting for the window to pass: the headers must say when it ends (RATE_LIMIT_WINDOW_MS
  // after the first request, not moved by refused ones), and a fresh window — new counters, which
  // is what the end of the window gives the address — must let it straight back in.
  const windowS = 30;
  const env = { RATE_LIMIT_REFRESH_PER_IP: '1', RATE_LIMIT_WINDOW_MS: String(windowS * 1000) };
  const a = await appWith(env);
  const before = Date.now() / 1000;
  // Refresh without a cookie: no bcrypt, so the requests surely land in one window.
  const first = await a.client().post('/api/auth/refresh');
  const after = Date.now() / 1000;
  t.is(first.status, 401);
  const reset = Number(first.headers.get('x-ratelimit-reset'));
  t.true(reset >= before + windowS - 1 && reset <= after + windowS + 1, `X-RateLimit-Reset ${reset}, first request at ${before}..${after}`);

  for (let i = 0; i < 3; i++) {
    const refused = await a.client().post('/api/auth/refresh');
    assertLimited(t, refused, 1);
    t.is(Number(refused.headers.get('x-ratelimit-reset')), reset, 'a refused request does not move the end of the window');
    const retryAfter = Number(refused.headers.get('retry-after'));
    const left = reset - Date.now() / 1000;
    t.true(retryAfter >= Math.floor(left) && retryAfter <= Math.ceil(left) + 1 && retryAfter <= windowS, `Retry-After ${retryAfter}, ${left} s left`);
  }

  const fresh = await appWith(env);
  const again = await fresh.client().post('/api/auth/refresh');
  t.is(again.status, 401, 'the same address, in a fresh window, is not limited');
  t.is(again.headers.get('x-ratelimit-remaining'), '0');
  t.is(again.headers.get('x-ratelimit-limit'), '1');
});

test('when limits are hit on sign-in, then other routes are not limited', async (t) => {
  const a = await appWith({ RATE_LIMIT_SIGNIN_PER_IP: '1' });
  t.is((await signin(a, 'o1')).status, 401);
  t.is((await signin(a, 'o2')).status, 429);
  t.is((await a.client().get('/api/health')).status, 200);
  t.is((await a.client().post('/api/auth/refresh')).status, 401);
});

/** The X-RateLimit-* triple of a response, as numbers (Reset in seconds since the epoch). */
function limitHeaders(res: Res) {
  return {
    limit: Number(res.headers.get('x-ratelimit-limit')),
    remaining: Number(res.headers.get('x-ratelimit-remaining')),
    reset: Number(res.headers.get('x-ratelimit-reset')),
  };
}

test('when sign-ins come from one address, then X-RateLimit-Limit/Remaining describe whichever of its two limits has fewer requests left', async (t) => {
  // Defaults: 10 per IP, 5 per IP+login.
  const a = await appWith();
  const seen: [number, number][] = [];
  // Three tries of one login: per IP+login has 4, 3, 2 left; per IP 9, 8, 7.
  for (let i = 0; i < 3; i++) {
    const res = await signin(a, 'same-login');
    t.is(res.status, 401);
    const h = limitHeaders(res);
    t.true(h.reset > Date.now() / 1000, 'Reset is in the future');
    seen.push([h.limit, h.remaining]);
  }
  // Fresh logins: per IP+login starts again at 4 left, while per IP runs down 6, 5, 4, 3, 2, 1, 0.
  for (let i = 0; i < 7; i++) {
    const res = await signin(a, `fresh-${i}`);
    t.is(res.status, 401);
    const h = limitHeaders(res);
    seen.push([h.limit, h.remaining]);
  }
  t.deepEqual(seen, [
    [5, 4],
    [5, 3],
    [5, 2],
    [5, 4], // per IP 6 left
    [5, 4], // per IP 5 left
    [5, 4], // a tie (4 and 4): either is true
    [10, 3], // from here the per-IP limit is the closer one
    [10, 2],
    [10, 1],
    [10, 0],
  ]);
  // Remaining 0 was honest: the next sign-in, with yet another login, is refused.
  assertLimited(t, await signin(a, 'fresh-last'), 10);
});

test('when the app builds its own limits, then their key prefix is RATE_LIMIT_PREFIX (an explicit prefix option still wins)', (t) => {
  const configured = loadConfig({ RATE_LIMIT_PREFIX: 'shop-a:limits' });
  t.is(createRateLimits(configured).prefix, 'shop-a:limits');
  t.is(createRateLimits(configured, { prefix: 'explicit' }).prefix, 'explicit');
  t.is(createRateLimits(loadConfig({})).prefix, DEFAULT_RATE_LIMIT_PREFIX);
});
