/**
 * The compatibility adapter (docs/legacy.md) over real HTTP, on SQLite or MariaDB (TEST_DB=mysql):
 * every row of the table in the old shapes and status codes, the rules of watchstore applied
 * (stock caps under concurrency, prices from the database), and silent session renewal.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import jwt from 'jsonwebtoken';
import { hmacKey } from '../../src/auth/access-token.js';
import { cliActor } from '../../src/auth/permissions.js';
import { adminUpdateUser } from '../../src/users/admin-users.service.js';
import type { Db } from '../../src/db/connection.js';
import { startApp, type Client, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { createProduct } from '../helpers/services.js';

const SHOP = 'http://shop.example.test';
const P = '/legacy';

let app: TestApp;
let stripe: FakeStripe;
let db: Db;

test.before(async () => {
  stripe = await FakeStripe.start();
  app = await startApp({
    seed: true,
    env: stripe.env({
      LEGACY_API_PREFIX: P,
      CORS_ORIGINS: SHOP,
      STORE_URL: SHOP,
      SHIPPING_FLAT_CENTS: '1599',
      ...UNLIMITED_AUTH,
    }),
  });
  db = app.t.db;
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

const run = randomBytes(3).toString('hex');
let seq = 0;
const browser = { origin: SHOP };

/** A browser of the old frontend, signed up through the adapter. */
async function oldFrontend(): Promise<{ c: Client; username: string; id: number }> {
  const c = app.client();
  const username = `old${run}_${++seq}`;
  const res = await c.post(`${P}/api/auth/signup`, { username, password: 'correct horse 1' }, browser);
  if (res.status !== 201) throw new Error(res.text);
  const user = await db('users').where({ username }).first();
  return { c, username, id: Number(user.id) };
}

async function product(price = '100.00', stock = 10) {
  return createProduct(db, { name: `Legacy watch ${run} ${++seq}`, price, stock });
}

test('GET /api/fetch/products: a bare array of every product in the old shape, image_url relative, any Authorization ignored; the image loads under the prefix', async (t) => {
  const res = await app.client().get(`${P}/api/fetch/products`, { authorization: 'Bearer the-old-static-key' });
  t.is(res.status, 200, res.text);
  t.true(Array.isArray(res.body));
  const total = Number((await db('products').count({ n: '*' }))[0].n);
  t.is(res.body.length, total);
  const withImage = res.body.find((p: { image_url: string | null }) => p.image_url);
  t.deepEqual(Object.keys(withImage).sort(), ['created_at', 'description', 'id', 'image_url', 'name', 'price', 'stock']);
  t.is(typeof withImage.price, 'number');
  t.regex(withImage.image_url, /^images\/[^/]+$/);
  const image = await app.client().get(`${P}/${withImage.image_url}`);
  t.is(image.status, 200);
  t.regex(image.headers.get('content-type') ?? '', /image\//);
});

test('POST /api/auth/signup: 201 {message} with session cookies and no e-mail; 400 {errors} for bad input and {message} for a taken username; the e-mail can be added later', async (t) => {
  const c = app.client();
  const username = `new${run}_${++seq}`;
  const res = await c.post(`${P}/api/auth/signup`, { username, password: 'correct horse 1', email: 'ignored@example.com' }, browser);
  t.is(res.status, 201, res.text);
  t.is(typeof res.body.message, 'string');
  const cookies = res.headers.getSetCookie();
  t.true(cookies.some((x) => /^access_token=.+; path=\//.test(x)));
  t.true(
    cookies.some((x) => new RegExp(`^refresh_token=.+; path=${P};`).test(x)),
    cookies.join('\n'),
  );
  const row = await db('users').where({ username }).first();
  t.is(row.email, null);

  const short = await app.client().post(`${P}/api/auth/signup`, { username: `x${run}${seq}`, password: 'short' }, browser);
  t.is(short.status, 400, short.text);
  t.deepEqual(
    short.body.errors.map((e: { field: string }) => e.field),
    ['password'],
  );
  const missing = await app.client().post(`${P}/api/auth/signup`, {}, browser);
  t.is(missing.status, 400);
  t.truthy(missing.body.errors);
  const taken = await app.client().post(`${P}/api/auth/signup`, { username: username.toUpperCase(), password: 'correct horse 1' }, browser);
  t.is(taken.status, 400, taken.text);
  t.is(typeof taken.body.message, 'string');

  // A second account without an e-mail is fine (no e-mail clashes with none).
  t.truthy(await oldFrontend());
  // The customer adds an e-mail through watchstore's own API.
  const me = await c.request('PATCH', '/api/auth/me', { json: { email: 'Added@Example.com' }, headers: browser });
  t.is(me.status, 200, me.text);
  t.is(me.body.user.email, 'added@example.com');
  const other = await oldFrontend();
  const clash = await other.c.request('PATCH', '/api/auth/me', { json: { email: 'added@example.com' }, headers: browser });
  t.is(clash.status, 409);
  t.is(clash.body.error.code, 'EMAIL_TAKEN');
  const bad = await other.c.request('PATCH', '/api/auth/me', { json: { email: 'not-an-address' }, headers: browser });
  t.is(bad.status, 400);
});

test('POST /api/auth/login: 200 {id, username} with cookies; 401 {message} alike for an unknown user and a wrong password; 400 when a field is missing', async (t) => {
  const { username, id } = await oldFrontend();
  const c = app.client();
  const ok = await c.post(`${P}/api/auth/login`, { username, password: 'correct horse 1' }, browser);
  t.is(ok.status, 200, ok.text);
  t.deepEqual(ok.body, { id, username });
  t.truthy(c.cookies.get('access_token'));
  t.truthy(c.cookies.get('refresh_token'));

  const wrong = await app.client().post(`${P}/api/auth/login`, { username, password: 'wrong password' }, browser);
  const unknown = await app.client().post(`${P}/api/auth/login`, { username: `nobody${run}`, password: 'wrong password' }, browser);
  t.is(wrong.status, 401);
  t.is(unknown.status, 401);
  t.deepEqual(wrong.body, unknown.body);
  t.is(typeof wrong.body.message, 'string');

  const missing = await app.client().post(`${P}/api/auth/login`, { username }, browser);
  t.is(missing.status, 400, missing.text);
});

test('GET /api/fetch/user: 200 {loggedIn: true, user: {id, username}} when signed in, 401 text Unauthorized when not; POST /api/logout: 200 {loggedIn: false}, cookies cleared', async (t) => {
  const { c, username, id } = await oldFrontend();
  const me = await c.get(`${P}/api/fetch/user`, browser);
  t.is(me.status, 200, me.text);
  t.deepEqual(me.body, { loggedIn: true, user: { id, username } });

  const anon = await app.client().get(`${P}/api/fetch/user`, browser);
  t.is(anon.status, 401);
  t.regex(anon.headers.get('content-type') ?? '', /^text\/plain/);
  t.is(anon.text, 'Unauthorized');

  const out = await c.post(`${P}/api/logout`, undefined, browser);
  t.is(out.status, 200);
  t.deepEqual(out.body, { loggedIn: false });
  t.is(c.cookies.get('access_token'), undefined);
  t.is(c.cookies.get('refresh_token'), undefined);
  t.is((await c.get(`${P}/api/fetch/user`, browser)).status, 401);
  // Signing out twice is fine.
  t.deepEqual((await c.post(`${P}/api/logout`, undefined, browser)).body, { loggedIn: false });
});

test('the cart rows: GET /api/cart bare array, count of lines, add-to-cart, increment, decrement, DELETE one and all, in the old shapes and status codes', async (t) => {
  const { c, id: userId } = await oldFrontend();
  const a = await product('100.00', 2);
  const b = await product('50.00', 5);

  const empty = await c.get(`${P}/api/cart`, browser);
  t.is(empty.status, 200);
  t.deepEqual(empty.body, []);

  t.deepEqual((await c.post(`${P}/api/add-to-cart`, { productId: a.id }, browser)).body, { success: true });
  t.deepEqual((await c.post(`${P}/api/add-to-cart`, { productId: a.id }, browser)).body, { success: true });
  t.deepEqual((await c.post(`${P}/api/add-to-cart`, { productId: b.id }, browser)).body, { success: true });
  const full = await c.post(`${P}/api/add-to-cart`, { productId: a.id }, browser);
  t.is(full.status, 400, 'a line never goes above the stock');
  const none = await c.post(`${P}/api/add-to-cart`, { productId: 999_999 }, browser);
  t.is(none.status, 404);
  t.regex(none.headers.get('content-type') ?? '', /^text\/plain/);
  const invalid = await c.post(`${P}/api/add-to-cart`, { productId: 'one' }, browser);
  t.is(invalid.status, 400);

  const cart = await c.get(`${P}/api/cart`, browser);
  t.is(cart.status, 200);
  t.is(cart.body.length, 2, 'one line per product');
  const lineA = cart.body.find((l: { product_id: number }) => l.product_id === a.id);
  t.deepEqual(Object.keys(lineA).sort(), ['id', 'product', 'product_id', 'quantity', 'user_id']);
  t.is(lineA.user_id, userId);
  t.is(lineA.quantity, 2);
  t.is(lineA.product.price, 100);
  t.is(lineA.product.id, a.id);
  t.true(Number.isInteger(lineA.id) && lineA.id > 0);

  t.deepEqual((await c.get(`${P}/api/cart/count`, browser)).body, { count: 2 }, 'lines, not units');

  const atStock = await c.post(`${P}/api/cart/increment`, { productId: a.id }, browser);
  t.is(atStock.status, 400);
  t.regex(atStock.headers.get('content-type') ?? '', /^text\/plain/);
  const inc = await c.post(`${P}/api/cart/increment`, { productId: b.id }, browser);
  t.is(inc.status, 200);
  t.regex(inc.headers.get('content-type') ?? '', /^text\/plain/);
  const other = await product('10.00', 5);
  t.is((await c.post(`${P}/api/cart/increment`, { productId: other.id }, browser)).status, 404, 'no line');
  t.is((await c.post(`${P}/api/cart/increment`, { productId: 999_999 }, browser)).status, 404, 'no product');

  t.is((await c.post(`${P}/api/cart/decrement`, { productId: b.id }, browser)).status, 200);
  const atOne = await c.post(`${P}/api/cart/decrement`, { productId: b.id }, browser);
  t.is(atOne.status, 400, 'a line at 1 is not removed');
  t.is((await db('cart_items').where({ user_id: userId, product_id: b.id }).first()).quantity, 1);
  t.is((await c.post(`${P}/api/cart/decrement`, { productId: other.id }, browser)).status, 404);

  const del = await c.delete(`${P}/api/cart/${b.id}`, browser);
  t.is(del.status, 200);
  t.regex(del.headers.get('content-type') ?? '', /^text\/plain/);
  t.is((await c.delete(`${P}/api/cart/${b.id}`, browser)).status, 200, 'also when there is no such line');
  t.is((await c.delete(`${P}/api/cart/abc`, browser)).status, 400);

  const cleared = await c.delete(`${P}/api/cart`, browser);
  t.is(cleared.status, 200);
  t.is(cleared.text, 'Cart cleared');
  t.deepEqual((await c.get(`${P}/api/cart`, browser)).body, []);

  for (const [method, path] of [
    ['GET', '/api/cart'],
    ['GET', '/api/cart/count'],
    ['POST', '/api/add-to-cart'],
    ['DELETE', '/api/cart'],
  ]) {
    const anon = await app.client().request(method, `${P}${path}`, { json: method === 'POST' ? { productId: a.id } : undefined, headers: browser });
    t.is(anon.status, 401, `${method} ${path}`);
    t.is(anon.text, 'Unauthorized');
  }
});

test('when 50 add-to-cart requests for one product arrive at once, then the line holds exactly the stock and the rest are 400', async (t) => {
  const { c, id: userId } = await oldFrontend();
  const p = await product('20.00', 7);
  const results = await Promise.all(Array.from({ length: 50 }, () => c.post(`${P}/api/add-to-cart`, { productId: p.id }, browser)));
  const statuses = results.map((r) => r.status);
  t.is(statuses.filter((s) => s === 200).length, 7, statuses.join(' '));
  t.is(statuses.filter((s) => s === 400).length, 43, statuses.join(' '));
  const lines = await db('cart_items').where({ user_id: userId, product_id: p.id });
  t.is(lines.length, 1);
  t.is(Number(lines[0].quantity), 7);
});

test('POST /api/checkout: {sessionId} of a Checkout Session made from the server-side cart at database prices plus shipping; the prices in cartItems are ignored', async (t) => {
  const { c, id: userId } = await oldFrontend();
  const p = await product('250.00', 3);
  await c.post(`${P}/api/add-to-cart`, { productId: p.id }, browser);
  await c.post(`${P}/api/add-to-cart`, { productId: p.id }, browser);
  const res = await c.post(`${P}/api/checkout`, { cartItems: [{ id: p.id, name: 'cheap', price: 0.01, quantity: 100 }] }, browser);
  t.is(res.status, 200, res.text);
  t.deepEqual(Object.keys(res.body), ['sessionId']);
  const session = stripe.sessions.get(res.body.sessionId)!;
  t.is(session.amount_total, 2 * 25000 + 1599);
  t.is(session.success_url, `${SHOP}/success?session_id={CHECKOUT_SESSION_ID}`);
  t.is(session.cancel_url, `${SHOP}/cancel`);
  const order = await db('orders').where({ checkout_session_id: res.body.sessionId }).first();
  t.is(Number(order.user_id), userId);
  t.is(Number(order.total_cents), 51599);
  t.is(Number(order.shipping_cents), 1599);
  t.deepEqual((await c.get(`${P}/api/cart`, browser)).body, []);

  const again = await c.post(`${P}/api/checkout`, { cartItems: [] }, browser);
  t.is(again.status, 400, 'an empty cart');
  t.is(typeof again.body.message, 'string');
});

function expiredAccessToken(userId: number, sid?: string): string {
  return jwt.sign({ role: 'customer', ...(sid ? { sid } : {}) }, hmacKey(app.config.accessTokenSecret), {
    algorithm: 'HS256',
    subject: String(userId),
    expiresIn: -60,
  });
}

test('when the access token has expired and the refresh cookie is valid, then the adapter answers and sets new cookies (8 requests at once share one renewal)', async (t) => {
  const { c, id, username } = await oldFrontend();
  const refreshToken = c.cookies.get('refresh_token')!;
  c.cookies.set('access_token', expiredAccessToken(id));
  const res = await c.get(`${P}/api/fetch/user`, browser);
  t.is(res.status, 200, res.text);
  t.deepEqual(res.body, { loggedIn: true, user: { id, username } });
  const set = res.headers.getSetCookie();
  t.true(set.some((x) => x.startsWith('access_token=')));
  t.true(set.some((x) => x.startsWith('refresh_token=') && x.includes(`path=${P}`)));
  t.not(c.cookies.get('refresh_token'), refreshToken);

  // A page load: several requests at once, all with the expired token and the same cookie.
  const page = app.client();
  const { c: c2, id: id2 } = await oldFrontend();
  page.cookies.set('refresh_token', c2.cookies.get('refresh_token')!);
  page.cookies.set('access_token', expiredAccessToken(id2));
  const results = await Promise.all([
    ...Array.from({ length: 4 }, () => page.get(`${P}/api/cart`, browser)),
    ...Array.from({ length: 4 }, () => page.get(`${P}/api/cart/count`, browser)),
  ]);
  t.deepEqual(
    results.map((r) => r.status),
    Array(8).fill(200),
    results.map((r) => r.text).join(' | '),
  );
  const family = await db('refresh_tokens').where({ user_id: id2 });
  t.is(family.filter((r: { revoked_at: unknown }) => r.revoked_at === null).length, 1, 'the session is alive, renewed once');

  // No refresh cookie, or a dead one: 401 Unauthorized.
  const none = app.client();
  none.cookies.set('access_token', expiredAccessToken(id));
  const r = await none.get(`${P}/api/fetch/user`, browser);
  t.is(r.status, 401);
  t.is(r.text, 'Unauthorized');
});

test('the adapter is off without LEGACY_API_PREFIX, and its routes are in the OpenAPI document under the Legacy tag when on', async (t) => {
  const doc = (await app.client().get('/api/openapi.json')).body;
  for (const path of [
    '/api/fetch/products',
    '/api/fetch/user',
    '/api/auth/signup',
    '/api/auth/login',
    '/api/logout',
    '/api/cart',
    '/api/cart/count',
    '/api/add-to-cart',
    '/api/cart/increment',
    '/api/cart/decrement',
    '/api/cart/{productId}',
    '/api/checkout',
    '/images/{file}',
  ]) {
    const item = doc.paths[`${P}${path}`];
    t.truthy(item, path);
    for (const op of Object.values(item) as { tags: string[] }[]) t.deepEqual(op.tags, ['Legacy'], path);
  }
  t.truthy(doc.paths['/api/auth/me'].patch);

  const off = await startApp({ database: app.t });
  try {
    t.is((await off.client().get(`${P}/api/fetch/products`)).status, 404);
    t.falsy((await off.client().get('/api/openapi.json')).body.paths[`${P}/api/cart`]);
  } finally {
    await off.close();
  }
});

test('sign-up and sign-in through the adapter share the main API rate limits', async (t) => {
  const limited = await startApp({ database: app.t, env: { LEGACY_API_PREFIX: P, RATE_LIMIT_SIGNUP_PER_IP: '2', RATE_LIMIT_PREFIX: `legacy-${run}` } });
  try {
    const c = limited.client();
    t.is((await c.post('/api/auth/signup', { username: `rl${run}a`, email: `rl${run}a@example.com`, password: 'correct horse 1' })).status, 201);
    t.is((await c.post(`${P}/api/auth/signup`, { username: `rl${run}b`, password: 'correct horse 1' })).status, 201);
    const third = await c.post(`${P}/api/auth/signup`, { username: `rl${run}c`, password: 'correct horse 1' });
    t.is(third.status, 429);
    t.is(typeof third.body.message, 'string');
    t.truthy(third.headers.get('retry-after'));
  } finally {
    await limited.close();
  }
});

test('when the account is disabled, then the adapter refuses its access cookie at the next request (401 Unauthorized, cookies cleared), not after the token expires', async (t) => {
  const { c, id } = await oldFrontend();
  t.is((await c.get(`${P}/api/cart`, browser)).status, 200);
  await adminUpdateUser(db, cliActor('test'), id, { disabled: true });
  const res = await c.get(`${P}/api/cart`, browser);
  t.is(res.status, 401, res.text);
  t.is(res.text, 'Unauthorized');
  t.is(c.cookies.get('refresh_token'), undefined, 'its dead refresh cookie is cleared');
});
