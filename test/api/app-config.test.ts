/**
 * An app built with its own configuration (createApp({config})) uses that configuration, not the
 * process's global one (getConfig(), from the environment): the store currency of new orders and
 * the bcrypt cost of new passwords. Real HTTP, on SQLite or MariaDB (TEST_DB=mysql), with the fake
 * Stripe for checkout.
 */
import test from 'ava';
import { getConfig } from '../../src/config.js';
import { startApp, type Client, type TestApp } from '../helpers/app.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { createProduct } from '../helpers/services.js';

let app: TestApp;
let stripe: FakeStripe;
test.before(async () => {
  stripe = await FakeStripe.start();
  // The test process's environment says usd and cost 4 (test/helpers/env.mjs); this app says otherwise.
  app = await startApp({ env: stripe.env({ STORE_CURRENCY: 'EUR', BCRYPT_COST: '5' }) });
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

let n = 0;
async function customerWithCart(): Promise<{ c: Client; username: string; password: string }> {
  const username = `cfg_${++n}_${process.pid}`;
  const password = 'correct horse 1';
  const c = app.client();
  const res = await c.post('/api/auth/signup', { username, email: `${username}@example.com`, password });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  const p = await createProduct(app.t.db, { name: `Config watch ${n} ${process.pid}`, price: '250.00', stock: 5 });
  must((await c.post('/api/cart', { product_id: p.id, quantity: 2 })).status === 200, 'add to cart');
  return { c, username, password };
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(`setup failed: ${what}`);
}

test('when the app is configured with another currency than the environment, then its new orders are in the app’s currency', async (t) => {
  t.is(getConfig().currency, 'usd', 'the global configuration really differs');
  t.is(app.config.currency, 'eur');
  const { c } = await customerWithCart();
  const res = await c.post('/api/orders');
  t.is(res.status, 201, res.text);
  t.is(res.body.currency, 'eur');
  t.is(res.body.total_cents, 50000);
  t.is((await app.t.db('orders').where({ id: res.body.id }).first()).currency, 'eur');
});

test('when checkout makes the order from the cart, then the order and its PaymentIntent are in the app’s currency', async (t) => {
  const { c } = await customerWithCart();
  const res = await c.post('/api/checkout', {});
  t.is(res.status, 200, res.text);
  t.is(res.body.currency, 'eur');
  t.is(stripe.intents.get(res.body.payment_intent_id)?.currency, 'eur');
  t.is((await app.t.db('orders').where({ id: res.body.order_id }).first()).currency, 'eur');
});

test('when the app is configured with another bcrypt cost than the environment, then passwords set through it use the app’s cost', async (t) => {
  t.is(getConfig().bcryptCost, 4, 'the global configuration really differs');
  const { username, password } = await customerWithCart();
  const row = await app.t.db('users').where({ username }).first();
  t.regex(row.password_hash, /^\$2[aby]\$05\$/);
  // And signing in checks against it as usual.
  t.is((await app.client().post('/api/auth/signin', { login: username, password })).status, 200);
  t.is((await app.client().post('/api/auth/signin', { login: username, password: 'wrong password' })).status, 401);
});
