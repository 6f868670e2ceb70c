/**
 * Issue 10, "Found by probing the HTTP API" (items 1, 2, 3, 5 and 6), over real HTTP on SQLite or
 * MariaDB (TEST_DB=mysql): bodies that do not decompress, signed webhooks that are not Stripe
 * events, concurrent refresh and sign-out of one session, login variants against the per-login
 * rate limit, and the origin check of cookie sessions. (Slow clients: test/api/server-limits.test.ts.)
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import test from 'ava';
import type { DestinationStream } from 'pino';
import { verifyCredentials } from '../../src/users/users.service.js';
import { startApp, type Client, type Res, type TestApp } from '../helpers/app.js';
import { signPayload } from '../helpers/fake-stripe.js';

const SECRET = 'whsec_test_hardening';
const SHOP = 'https://shop.example.com';

let app: TestApp;
const logLines: Array<Record<string, any>> = [];
const logStream: DestinationStream = {
  write(s: string) {
    for (const l of s.split('\n')) if (l.trim()) logLines.push(JSON.parse(l));
  },
};

test.before(async () => {
  app = await startApp({
    env: {
      STRIPE_WEBHOOK_SECRET: SECRET,
      CORS_ORIGINS: SHOP,
      LOG_LEVEL: 'info',
      // Only the per-login limit is under test: the others stay out of the way.
      RATE_LIMIT_SIGNIN_PER_IP: '100000',
      RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '5',
      RATE_LIMIT_SIGNUP_PER_IP: '100000',
      RATE_LIMIT_REFRESH_PER_IP: '100000',
      // Strict rotation: any reuse ends the family (the grace window is test/api/refresh-grace.test.ts).
      REFRESH_REUSE_GRACE_SECONDS: '0',
    },
    logStream,
  });
});
test.after.always(async () => {
  await app?.close();
});

let seq = 0;
/** A new account, signed up over HTTP; the client holds its cookies. */
async function signedUp(prefix: string): Promise<{ c: Client; username: string; password: string; id: number }> {
  const username = `${prefix}${++seq}${process.pid % 1000}`;
  const password = 'correct horse 1';
  const c = app.client();
  const res = await c.post('/api/auth/signup', { username, email: `${username}@example.com`, password });
  if (res.status !== 201) throw new Error(`signup failed: ${res.text}`);
  return { c, username, password, id: res.body.user.id };
}

const errorLogsOf = (reqIds: string[]) => logLines.filter((l) => l.level >= 50 && reqIds.includes(l.req_id));

// --- 1. Bodies that fail to decompress

/** Every operation of the OpenAPI document that takes a JSON body. */
async function routesWithBody(): Promise<{ method: string; path: string }[]> {
  const doc = (await app.client().get('/api/openapi.json')).body;
  const out: { method: string; path: string }[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (op.requestBody?.content?.['application/json']) out.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, '1') });
    }
  }
  return out;
}

test('when a body sent as gzip, deflate or br does not decompress, then every route with a body answers 400 INVALID_JSON, logged as a client error', async (t) => {
  const routes = await routesWithBody();
  t.true(routes.length >= 5, `routes with a body: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}`);
  const valid = gzipSync(Buffer.from('{"a":1}'));
  const bodies: Record<string, Buffer> = { garbage: Buffer.from('x'), truncated: valid.subarray(0, valid.length - 6), 'json as is': Buffer.from('{"a":1}') };
  const ids: string[] = [];
  for (const { method, path } of routes) {
    for (const encoding of ['gzip', 'deflate', 'br', 'GZIP']) {
      for (const [what, body] of Object.entries(bodies)) {
        const res = await app.client().request(method, path, { body, headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
        ids.push(res.headers.get('x-request-id')!);
        t.is(res.status, 400, `${method} ${path} ${encoding} ${what} → ${res.status} ${res.text}`);
        t.is(res.body.error?.code, 'INVALID_JSON', `${method} ${path} ${encoding} ${what}`);
      }
    }
  }
  t.deepEqual(errorLogsOf(ids), [], 'no error-level log line for a client error');
  const requestLines = logLines.filter((l) => l.msg === 'request' && ids.includes(l.req_id));
  t.true(requestLines.length > 0 && requestLines.every((l) => l.level === 30 && l.status === 400));
});

test('when the Content-Encoding is unknown, then 415 naming it; a correctly compressed body still works', async (t) => {
  for (const encoding of ['compress', 'zstd', 'gzip, gzip', 'x']) {
    const res = await app
      .client()
      .request('POST', '/api/auth/signin', { body: 'x', headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
    t.is(res.status, 415, `${encoding} → ${res.text}`);
    t.is(res.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    t.true(res.body.error.message.includes('Content-Encoding'));
  }
  const { username, password } = await signedUp('zip');
  const json = Buffer.from(JSON.stringify({ login: username, password }));
  for (const [encoding, body] of [
    ['gzip', gzipSync(json)],
    ['deflate', deflateSync(json)],
    ['br', brotliCompressSync(json)],
  ] as const) {
    const res = await app.client().request('POST', '/api/auth/signin', { body, headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
    t.is(res.status, 200, `${encoding} → ${res.text}`);
  }
});

// --- 2. Signed webhooks that are not Stripe events

function deliverSigned(payload: string): Promise<Res> {
  return app.client().request('POST', '/api/webhooks/stripe', {
    body: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signPayload(payload, SECRET) },
  });
}

test('when a correctly signed webhook body is not a Stripe event, then 400 VALIDATION_FAILED and nothing is recorded', async (t) => {
  const before = Number((await app.t.db('stripe_events').count({ n: '*' }))[0].n);
  const intent = (o: Record<string, unknown>) => ({
    id: 'evt_bad_intent',
    type: 'payment_intent.succeeded',
    data: { object: { object: 'payment_intent', id: 'pi_x', ...o } },
  });
  const bodies: unknown[] = [
    {},
    [],
    'x',
    42,
    null,
    { type: 'payment_intent.succeeded', data: { object: {} } },
    { id: 'evt_null_type', type: null, data: { object: {} } },
    { id: 'evt_no_type', data: { object: {} } },
    { id: 12, type: 'payment_intent.succeeded', data: { object: {} } },
    { id: '', type: 'x', data: { object: {} } },
    { id: 'evt_long_type', type: 'x'.repeat(101), data: { object: {} } },
    { id: `evt_${'x'.repeat(300)}`, type: 'payment_intent.succeeded', data: { object: {} } },
    { id: 'evt_no_data', type: 'payment_intent.succeeded' },
    { id: 'evt_data_string', type: 'payment_intent.succeeded', data: 'x' },
    { id: 'evt_data_object_null', type: 'payment_intent.succeeded', data: { object: null } },
    intent({ currency: 5 }),
    intent({ amount_received: 'lots' }),
    intent({ id: 7 }),
    intent({ id: `pi_${'x'.repeat(300)}` }),
    intent({ metadata: 'x' }),
    intent({ last_payment_error: 'x' }),
  ];
  for (const body of bodies) {
    const res = await deliverSigned(JSON.stringify(body));
    t.is(res.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${res.status} ${res.text}`);
    t.is(res.body.error?.code, 'VALIDATION_FAILED');
  }
  t.is(Number((await app.t.db('stripe_events').count({ n: '*' }))[0].n), before);
  // A real event (of a type the store does not handle) is still received and recorded.
  const ok = await deliverSigned(
    JSON.stringify({ id: 'evt_hardening_ok', object: 'event', type: 'customer.created', data: { object: { object: 'customer' } } }),
  );
  t.is(ok.status, 200, ok.text);
  t.is(Number((await app.t.db('stripe_events').count({ n: '*' }))[0].n), before + 1);
});

// --- 3. Concurrent refresh and sign-out of one session

test('when 8 requests refresh one session at once, again and again, then none answers 500: one rotates, the rest get 401 TOKEN_REUSED', async (t) => {
  const statuses = new Map<number, number>();
  for (let round = 0; round < 12; round++) {
    const { c } = await signedUp('race');
    const cookie = `refresh_token=${c.cookies.get('refresh_token')}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => app.client().request('POST', '/api/auth/refresh', { headers: { cookie } })));
    for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const ok = results.filter((r) => r.status === 200);
    t.true(ok.length <= 1, `round ${round}: ${results.map((r) => r.status).join(' ')}`);
    for (const r of results.filter((x) => x.status !== 200)) {
      t.is(r.status, 401, `round ${round}: ${r.text}`);
      t.true(['TOKEN_REUSED', 'UNAUTHENTICATED'].includes(r.body.error.code), r.text);
    }
  }
  t.log('refresh statuses', Object.fromEntries(statuses));
  t.false(statuses.has(500));
});

test('when a session is refreshed and signed out at once from several tabs, then every answer is 200, 204 or 401', async (t) => {
  for (let round = 0; round < 8; round++) {
    const { c } = await signedUp('tabs');
    const cookie = `refresh_token=${c.cookies.get('refresh_token')}; access_token=${c.cookies.get('access_token')}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => app.client().request('POST', i % 2 ? '/api/auth/logout' : '/api/auth/refresh', { headers: { cookie } })),
    );
    for (const r of results) t.true([200, 204, 401].includes(r.status), `round ${round}: ${r.status} ${r.text}`);
  }
});

// --- 5. One login, however it is written

test('when wrong passwords are sent for eve written in many ways, then they share one per-login budget, and every variant signs in as eve', async (t) => {
  const eve = await signedUp('eve');
  const name = eve.username;
  const fullWidth = [...name].map((ch) => (/[a-z0-9]/.test(ch) ? String.fromCodePoint(ch.codePointAt(0)! + 0xfee0) : ch)).join('');
  const accented = name.replace('e', 'é').replace(/e(\d)/, 'ë$1');
  const variants = [
    name,
    `${name}\u0000`,
    `${name}\u200b`,
    `\u200d${name}`,
    `${name}\ufeff`,
    fullWidth,
    name.toUpperCase(),
    accented,
    `e\u0301${name.slice(1)}`,
    ` ${name} `,
  ];
  // Each variant reaches eve (as the database's collation lets it on MariaDB)…
  for (const login of variants) {
    const user = await verifyCredentials(app.t.db, login, eve.password, { bcryptCost: 4 });
    t.is(user.id, eve.id, JSON.stringify(login));
  }
  // …so all of them count against one budget of 5: the sixth wrong password is limited.
  const wrong: number[] = [];
  for (const login of [...variants, ...variants]) {
    wrong.push((await app.client().post('/api/auth/signin', { login, password: 'wrong password' })).status);
  }
  t.deepEqual(wrong.slice(0, 5), [401, 401, 401, 401, 401], wrong.join(' '));
  t.true(
    wrong.slice(5).every((s) => s === 429),
    wrong.join(' '),
  );
});

test('when a sign-up username differs from a taken one only by width, invisible characters or case, then 409 USERNAME_TAKEN; accents are refused', async (t) => {
  const { username } = await signedUp('dup');
  const fullWidth = [...username].map((ch) => (/[a-z0-9]/.test(ch) ? String.fromCodePoint(ch.codePointAt(0)! + 0xfee0) : ch)).join('');
  let n = 0;
  for (const variant of [username.toUpperCase(), `${username}\u200b`, `${username}\u0000`, fullWidth, `\ufeff${username}`]) {
    const res = await app.client().post('/api/auth/signup', { username: variant, email: `dupvariant${++n}@example.com`, password: 'correct horse 1' });
    t.is(res.status, 409, `${JSON.stringify(variant)} → ${res.text}`);
    t.is(res.body.error.code, 'USERNAME_TAKEN');
  }
  const accented = await app
    .client()
    .post('/api/auth/signup', { username: username.replace('d', 'ď'), email: 'dupaccent@example.com', password: 'correct horse 1' });
  t.is(accented.status, 400, accented.text);
  // A full-width name that is free is stored as its plain form.
  const fresh = await app.client().post('/api/auth/signup', { username: 'ｆｒｅｓｈ\u200b', email: 'fresh-fw@example.com', password: 'correct horse 1' });
  t.is(fresh.status, 201, fresh.text);
  t.is(fresh.body.user.username, 'fresh');
});

// --- 6. Cookie sessions from another site

test('when a cookie-signed-in request that changes state comes from another origin, then 403 FORBIDDEN and nothing changes', async (t) => {
  const { c } = await signedUp('csrf');
  const product = (await app.client().get('/api/products?limit=1')).body;
  t.truthy(product);
  const foreign: Record<string, string>[] = [
    { origin: 'https://evil.example' },
    { origin: 'null' },
    { origin: `${SHOP}.evil.example` },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
  ];
  for (const headers of foreign) {
    for (const [method, path] of [
      ['POST', '/api/auth/logout'],
      ['POST', '/api/auth/refresh'],
      ['POST', '/api/cart/increment'],
      ['DELETE', '/api/cart'],
      ['POST', '/api/orders'],
    ]) {
      const res = await c.request(method, path, { json: {}, headers });
      t.is(res.status, 403, `${method} ${path} ${JSON.stringify(headers)} → ${res.status} ${res.text}`);
      t.is(res.body.error.code, 'FORBIDDEN');
    }
  }
  // Still signed in: none of them reached its route.
  t.is((await c.get('/api/auth/me', { origin: 'https://evil.example' })).status, 200);
});

test('when a cookie request comes from the store itself, CORS_ORIGINS, or with neither header; or uses a Bearer token; then it is not refused', async (t) => {
  const { c } = await signedUp('same');
  const own = new URL(app.url).origin;
  const allowed: Record<string, string>[] = [{ origin: own }, { origin: SHOP }, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, {}];
  for (const headers of allowed) {
    const res = await c.request('DELETE', '/api/cart', { headers });
    t.is(res.status, 200, `${JSON.stringify(headers)} → ${res.text}`);
  }
  const refreshed = await c.request('POST', '/api/auth/refresh', { headers: { origin: SHOP } });
  t.is(refreshed.status, 200, refreshed.text);
  // A Bearer token is not sent by a browser on its own: no origin check.
  const bearer = { authorization: `Bearer ${c.cookies.get('access_token')}`, origin: 'https://evil.example', cookie: '' };
  t.is((await app.client().request('DELETE', '/api/cart', { headers: bearer })).status, 200);
  // Sign-in without cookies is not a cookie session.
  const { username, password } = await signedUp('fresh');
  t.is((await app.client().post('/api/auth/signin', { login: username, password }, { origin: 'https://evil.example' })).status, 200);
});

test('when the OpenAPI document is read, then every state-changing operation but the webhook documents 403', async (t) => {
  const doc = (await app.client().get('/api/openapi.json')).body;
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (method === 'get') continue;
      if (path === '/api/webhooks/stripe') t.is(op.responses['403'], undefined);
      else t.truthy(op.responses['403'], `${method} ${path}`);
    }
  }
});
