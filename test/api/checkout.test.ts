/**
 * POST /api/checkout over real HTTP, on SQLite or MariaDB (TEST_DB=mysql), with the official
 * Stripe SDK talking to a local fake Stripe (test/helpers/fake-stripe.ts).
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { cancelOrder, markPaid, type PublicOrder } from '../../src/orders/orders.service.js';
import { startApp, type Client, type TestApp } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { createOrderFromCart, createProduct, updateProduct } from '../helpers/services.js';

let app: TestApp;
let stripe: FakeStripe;
let db: Db;
let client: Client;

test.before(async () => {
  stripe = await FakeStripe.start();
  app = await startApp({ env: stripe.env({ STRIPE_WEBHOOK_SECRET: 'whsec_test_checkout' }) });
  db = app.t.db;
  client = app.client();
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

interface Buyer {
  id: number;
  auth: Record<string, string>;
}

async function buyer(): Promise<Buyer> {
  return signedInCustomer(db, app.config.accessTokenSecret, 'c');
}

async function product(price: string, stock = 10) {
  return createProduct(db, { name: `Checkout watch ${run} ${++seq}`, price, stock });
}

async function putInCart(userId: number, productId: number, quantity = 1) {
  await db('cart_items').insert({ user_id: userId, product_id: productId, quantity });
}

/** A pending order of two lines: 2 × 120.50 + 1 × 59.99 = 300.99. */
async function pendingOrder(b: Buyer): Promise<PublicOrder> {
  const p1 = await product('120.50');
  const p2 = await product('59.99');
  await putInCart(b.id, p1.id, 2);
  await putInCart(b.id, p2.id, 1);
  return (await createOrderFromCart(db, b.id)).order;
}

async function orderRow(id: number) {
  return db('orders').where({ id }).first();
}

const createsFor = (orderId: number) =>
  stripe.requestsTo('POST', '/v1/payment_intents').filter((r) => r.path === '/v1/payment_intents' && r.body.metadata?.order_id === String(orderId));

test('when a pending order is checked out, then the PaymentIntent is for its database total, carries order and user ids, and is stored on the order', async (t) => {
  const b = await buyer();
  const order = await pendingOrder(b);
  t.is(order.total_cents, 30099);

  const res = await client.post('/api/checkout', { order_id: order.id, amount: 1, currency: 'eur' }, b.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.order_id, order.id);
  t.is(res.body.amount, 300.99);
  t.is(res.body.amount_cents, 30099, 'the charged amount in cents, as Stripe takes it');
  t.is(res.body.currency, 'usd');
  t.regex(res.body.payment_intent_id, /^pi_/);

  const intent = stripe.intents.get(res.body.payment_intent_id)!;
  t.is(res.body.client_secret, intent.client_secret);
  t.is(intent.amount, 30099);
  t.is(intent.currency, 'usd');
  t.deepEqual(intent.metadata, { order_id: String(order.id), user_id: String(b.id) });
  t.deepEqual(intent.automatic_payment_methods, { enabled: true });

  const [create] = createsFor(order.id);
  t.is(create.idempotencyKey, `order-${order.id}-30099`);
  t.is(create.authorization, 'Bearer sk_test_fake');

  const row = await orderRow(order.id);
  t.is(row.payment_intent_id, res.body.payment_intent_id);
  t.is(row.status, 'pending');
});

test('when an order is checked out again, also five times at once, then the same PaymentIntent comes back', async (t) => {
  const b = await buyer();
  const order = await pendingOrder(b);
  const concurrent = await Promise.all(Array.from({ length: 5 }, () => client.post('/api/checkout', { order_id: order.id }, b.auth)));
  t.deepEqual(
    concurrent.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  const ids = new Set(concurrent.map((r) => r.body.payment_intent_id));
  t.is(ids.size, 1);
  const [intentId] = ids;

  const again = await client.post('/api/checkout', { order_id: order.id }, b.auth);
  t.is(again.status, 200);
  t.is(again.body.payment_intent_id, intentId);
  t.is(again.body.client_secret, concurrent[0].body.client_secret);

  const intentsForOrder = [...stripe.intents.values()].filter((i) => i.metadata.order_id === String(order.id));
  t.is(intentsForOrder.length, 1);
  t.is((await orderRow(order.id)).payment_intent_id, intentId);
  // The repeat after the id was stored retrieves the intent instead of creating one.
  t.true(stripe.requestsTo('GET', `/v1/payment_intents/${intentId}`).length >= 1);
});

test("when a product's price changes after the order, then checkout charges the order's total from the database", async (t) => {
  const b = await buyer();
  const p = await product('250.00');
  await putInCart(b.id, p.id, 2);
  const { order } = await createOrderFromCart(db, b.id);
  await updateProduct(db, p.id, { price: '10.00' });

  const res = await client.post('/api/checkout', { order_id: order.id }, b.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.amount, 500);
  t.is(res.body.amount_cents, 50000);
  t.is(stripe.intents.get(res.body.payment_intent_id)!.amount, 50000);
  t.is(Number((await orderRow(order.id)).total_cents), 50000);
});

test('when the body is {}, then the cart becomes an order first and the same Idempotency-Key returns that order and intent', async (t) => {
  const b = await buyer();
  const p = await product('99.95', 5);
  await putInCart(b.id, p.id, 3);
  const key = `checkout-${run}-${seq}`;

  const first = await client.post('/api/checkout', {}, { ...b.auth, 'Idempotency-Key': key });
  t.is(first.status, 200, first.text);
  t.is(first.body.amount, 299.85);
  const orders = await db('orders').where({ user_id: b.id });
  t.is(orders.length, 1);
  t.is(Number(orders[0].id), first.body.order_id);
  t.is(orders[0].payment_intent_id, first.body.payment_intent_id);
  t.is((await db('cart_items').where({ user_id: b.id })).length, 0);
  t.is(Number((await db('products').where({ id: p.id }).first()).stock), 2);

  const retry = await client.post('/api/checkout', {}, { ...b.auth, 'Idempotency-Key': key });
  t.is(retry.status, 200, retry.text);
  t.is(retry.body.order_id, first.body.order_id);
  t.is(retry.body.payment_intent_id, first.body.payment_intent_id);
  t.is((await db('orders').where({ user_id: b.id })).length, 1);
});

test('when the body is {} and the cart is empty, then 400 EMPTY_CART and Stripe is not asked', async (t) => {
  const b = await buyer();
  const before = stripe.requests.length;
  const res = await client.post('/api/checkout', {}, b.auth);
  t.is(res.status, 400);
  t.is(res.body.error.code, 'EMPTY_CART');
  t.is((await db('orders').where({ user_id: b.id })).length, 0);
  t.true(stripe.requests.slice(before).every((r) => r.body.metadata?.user_id !== String(b.id)));
});

test("when another user's order is checked out, then 404 NOT_FOUND and no intent is made", async (t) => {
  const owner = await buyer();
  const other = await buyer();
  const order = await pendingOrder(owner);
  const res = await client.post('/api/checkout', { order_id: order.id }, other.auth);
  t.is(res.status, 404);
  t.is(res.body.error.code, 'NOT_FOUND');
  t.is(createsFor(order.id).length, 0);
  t.is((await orderRow(order.id)).payment_intent_id, null);

  const missing = await client.post('/api/checkout', { order_id: 2_000_000_000 }, other.auth);
  t.is(missing.status, 404);
});

test('when the order is paid or canceled, then 409 ORDER_NOT_PAYABLE and no intent is made', async (t) => {
  const b = await buyer();
  const paid = await pendingOrder(b);
  t.true(await markPaid(db, paid.id));
  const canceled = await pendingOrder(b);
  t.true(await cancelOrder(db, canceled.id));

  for (const order of [paid, canceled]) {
    const res = await client.post('/api/checkout', { order_id: order.id }, b.auth);
    t.is(res.status, 409);
    t.is(res.body.error.code, 'ORDER_NOT_PAYABLE');
    t.is(createsFor(order.id).length, 0);
  }
  t.is((await orderRow(paid.id)).status, 'paid');
  t.is((await orderRow(canceled.id)).status, 'canceled');
});

test('when the caller is not signed in or the order id is not a positive integer, then 401 or 400', async (t) => {
  const b = await buyer();
  const anonymous = await client.post('/api/checkout', { order_id: 1 });
  t.is(anonymous.status, 401);
  t.is(anonymous.body.error.code, 'UNAUTHENTICATED');
  for (const order_id of [0, -3, 1.5, 'abc', true]) {
    const res = await client.post('/api/checkout', { order_id }, b.auth);
    t.is(res.status, 400, `order_id ${JSON.stringify(order_id)}`);
    t.is(res.body.error.code, 'VALIDATION_FAILED');
  }
});

test('when Stripe fails (500, then a 402), then 502 PAYMENT_PROVIDER_ERROR and the order is unchanged; a later checkout works', async (t) => {
  const b = await buyer();
  const order = await pendingOrder(b);
  const forThisOrder = (r: { body: Record<string, any> }) => r.body.metadata?.order_id === String(order.id);

  stripe.failNext(500, { times: 10, when: forThisOrder });
  const res = await client.post('/api/checkout', { order_id: order.id }, b.auth);
  t.is(res.status, 502, res.text);
  t.is(res.body.error.code, 'PAYMENT_PROVIDER_ERROR');
  stripe.clearFailures();
  let row = await orderRow(order.id);
  t.is(row.payment_intent_id, null);
  t.is(row.status, 'pending');
  t.is(Number(row.total_cents), 30099);

  stripe.failNext(402, { when: forThisOrder });
  const declined = await client.post('/api/checkout', { order_id: order.id }, b.auth);
  t.is(declined.status, 502);
  t.is(declined.body.error.code, 'PAYMENT_PROVIDER_ERROR');
  row = await orderRow(order.id);
  t.is(row.payment_intent_id, null);

  const ok = await client.post('/api/checkout', { order_id: order.id }, b.auth);
  t.is(ok.status, 200, ok.text);
  t.is((await orderRow(order.id)).payment_intent_id, ok.body.payment_intent_id);
});

test('when STRIPE_SECRET_KEY is not configured, then 503 PAYMENTS_UNAVAILABLE and {} leaves the cart as it was', async (t) => {
  const bare = await startApp({ database: app.t });
  t.teardown(() => bare.close());
  t.falsy(bare.config.stripeSecretKey);
  const b = await buyer();
  const order = await pendingOrder(b);

  const res = await bare.client().post('/api/checkout', { order_id: order.id }, b.auth);
  t.is(res.status, 503);
  t.is(res.body.error.code, 'PAYMENTS_UNAVAILABLE');
  t.is((await orderRow(order.id)).payment_intent_id, null);

  const p = await product('10.00');
  await putInCart(b.id, p.id, 1);
  const fromCart = await bare.client().post('/api/checkout', {}, b.auth);
  t.is(fromCart.status, 503);
  t.is((await db('cart_items').where({ user_id: b.id })).length, 1);
  t.is((await db('orders').where({ user_id: b.id })).length, 1);
});
