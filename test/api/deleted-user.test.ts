/**
 * An access token outlives its user: it stays valid for up to 15 minutes after `users remove`.
 * Writes made for such a user must answer 401 UNAUTHENTICATED (not a 500 from the foreign key).
 */
import test from 'ava';
import { removeUser } from '../../src/users/users.service.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { createProduct } from '../helpers/services.js';

let app: TestApp;
test.before(async () => {
  app = await startApp();
});
test.after.always(async () => {
  await app?.close();
});

let seq = 0;

/** A customer removed after their access token was issued, and that token as a Bearer header. */
async function removedCustomer() {
  const user = await signedInCustomer(app.t.db, app.config.accessTokenSecret, 'gone');
  await removeUser(app.t.db, user.username);
  return { id: user.id, headers: user.auth };
}

const product = () => createProduct(app.t.db, { name: `Orphan watch ${++seq}`, price: '10.00', stock: 5 });

test('when a removed user adds to the cart with a still-valid token, then 401 UNAUTHENTICATED and nothing is stored', async (t) => {
  const gone = await removedCustomer();
  const p = await product();
  const res = await app.client().post('/api/cart', { product_id: p.id, quantity: 2 }, gone.headers);
  t.is(res.status, 401, res.text);
  t.is(res.body.error.code, 'UNAUTHENTICATED');
  t.deepEqual(await app.t.db('cart_items').where({ user_id: gone.id }).select('id'), []);
  t.is(Number((await app.t.db('products').where({ id: p.id }).first('stock')).stock), 5);
});

test('when a removed user places an order with a still-valid token, then 401 UNAUTHENTICATED and no order is made', async (t) => {
  const gone = await removedCustomer();
  const res = await app.client().post('/api/orders', undefined, { ...gone.headers, 'idempotency-key': `gone-${gone.id}` });
  t.is(res.status, 401, res.text);
  t.is(res.body.error.code, 'UNAUTHENTICATED');
  t.deepEqual(await app.t.db('orders').where({ user_id: gone.id }).select('id'), []);
});

test('when a user who still exists adds to the cart and orders, then both work (the check only answers failures)', async (t) => {
  const { auth: headers } = await signedInCustomer(app.t.db, app.config.accessTokenSecret, 'kept');
  const p = await product();
  t.is((await app.client().post('/api/cart', { product_id: p.id }, headers)).status, 200);
  const order = await app.client().post('/api/orders', undefined, headers);
  t.is(order.status, 201, order.text);
  t.is(order.body.total_cents, 1000);
});
