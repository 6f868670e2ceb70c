/**
 * POST /api/orders/:id/cancel for an order that has a PaymentIntent, over real HTTP on SQLite or
 * MariaDB (TEST_DB=mysql), with the official Stripe SDK talking to the local fake Stripe: the
 * intent is canceled at Stripe first; a payment Stripe already has is applied instead; and when
 * Stripe cannot be asked, the order is canceled anyway, logged, and `orders reconcile` (the
 * service it runs) later cancels the intent or reports a payment taken in between.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { signAccessToken } from '../../src/auth/access-token.js';
import type { Db } from '../../src/db/connection.js';
import { reconcilePayments } from '../../src/payments/reconcile.service.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { createOrderFromCart, createProduct, createUser } from '../helpers/services.js';

let database: TestDatabase;
let db: Db;
let stripe: FakeStripe;
/** Stripe reachable. */
let app: TestApp;
/** The same database, but Stripe's address refuses connections. */
let cutOff: TestApp;
/** The same database, without STRIPE_SECRET_KEY. */
let unconfigured: TestApp;
/** Log lines of the cut-off app. */
const logged: Record<string, unknown>[] = [];

/** A port nothing listens on: a server that listened there is closed again. */
async function refusedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test.before(async () => {
  database = await createTestDatabase();
  db = database.db;
  stripe = await FakeStripe.start();
  app = await startApp({ database, env: stripe.env() });
  cutOff = await startApp({
    database,
    env: { STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: `http://127.0.0.1:${await refusedPort()}`, LOG_LEVEL: 'warn' },
    logStream: { write: (line: string) => void logged.push(JSON.parse(line)) },
  });
  unconfigured = await startApp({ database });
});
test.after.always(async () => {
  for (const a of [app, cutOff, unconfigured]) await a?.close();
  await stripe?.close();
  await database?.drop();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

interface Checkout {
  userId: number;
  auth: Record<string, string>;
  orderId: number;
  productId: number;
  intentId: string;
}

/** A customer's pending order of 2 × 150.00 (stock 5 → 3), checked out through the API. */
async function checkedOut(): Promise<Checkout> {
  const n = ++seq;
  const u = await createUser(db, { username: `cx${run}_${n}`, email: `cx${run}_${n}@example.com`, password: 'correct horse' });
  const auth = { authorization: `Bearer ${signAccessToken({ id: u.id, role: u.role }, app.config.accessTokenSecret)}` };
  const p = await createProduct(db, { name: `Cancel watch ${run} ${n}`, price: '150.00', stock: 5 });
  await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 2 });
  const { order } = await createOrderFromCart(db, u.id);
  const res = await app.client().post('/api/checkout', { order_id: order.id }, auth);
  if (res.status !== 200) throw new Error(`checkout failed: ${res.status} ${res.text}`);
  return { userId: u.id, auth, orderId: order.id, productId: p.id, intentId: res.body.payment_intent_id };
}

const orderRow = async (id: number) => db('orders').where({ id }).first();
const stockOf = async (productId: number) => Number((await db('products').where({ id: productId }).first()).stock);
const cancelCalls = (intentId: string) => stripe.requestsTo('POST', `/v1/payment_intents/${intentId}/cancel`).length;

test('when a customer cancels a pending order with a PaymentIntent, then the intent is canceled at Stripe, then the order, and the stock comes back', async (t) => {
  const o = await checkedOut();
  t.is(await stockOf(o.productId), 3);

  const res = await app.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.status, 'canceled');
  t.is(cancelCalls(o.intentId), 1);
  t.is(stripe.intents.get(o.intentId)?.status, 'canceled');
  t.is(await stockOf(o.productId), 5);
  const row = await orderRow(o.orderId);
  t.is(row.status, 'canceled');
  t.is(row.intent_cancel_unconfirmed_at, null, 'Stripe confirmed: nothing for reconcile to follow up');

  // Canceling again is refused, and Stripe is not asked again.
  const again = await app.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth);
  t.is(again.status, 409);
  t.is(again.body.error.code, 'INVALID_TRANSITION');
  t.is(cancelCalls(o.intentId), 1);
  t.is(await stockOf(o.productId), 5);
});

test('when Stripe already has the payment, then the payment is applied instead: the order is paid, the cancel is 409, and the stock stays sold', async (t) => {
  const o = await checkedOut();
  stripe.setStatus(o.intentId, 'succeeded');

  const res = await app.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth);
  t.is(res.status, 409, res.text);
  t.is(res.body.error.code, 'INVALID_TRANSITION');
  t.regex(res.body.error.message, /paid/);
  const row = await orderRow(o.orderId);
  t.is(row.status, 'paid');
  t.truthy(row.paid_at);
  t.is(await stockOf(o.productId), 3);
  t.is(stripe.intents.get(o.intentId)?.status, 'succeeded');
  // The customer sees the paid order.
  t.is((await app.client().get(`/api/orders/${o.orderId}`, o.auth)).body.status, 'paid');
});

test('when the payment is processing at Stripe, then the cancel is 409 and the order stays pending with its stock held', async (t) => {
  const o = await checkedOut();
  stripe.setStatus(o.intentId, 'processing');

  const res = await app.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth);
  t.is(res.status, 409, res.text);
  t.is(res.body.error.code, 'INVALID_TRANSITION');
  t.regex(res.body.error.message, /processing/);
  t.is((await orderRow(o.orderId)).status, 'pending');
  t.is(await stockOf(o.productId), 3);
});

// reconcile looks at every order in the database: serial, so no other test's order moves under it.
test.serial('when Stripe cannot be reached, then the order is still canceled with its stock back, marked for reconcile, and logged', async (t) => {
  const o = await checkedOut();

  const res = await cutOff.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.status, 'canceled');
  t.is(await stockOf(o.productId), 5);
  const row = await orderRow(o.orderId);
  t.is(row.status, 'canceled');
  t.truthy(row.intent_cancel_unconfirmed_at);
  t.is(stripe.intents.get(o.intentId)?.status, 'requires_payment_method', 'the intent is still payable at Stripe');

  const warning = logged.find((l) => l.order_id === o.orderId);
  t.truthy(warning, 'a warning names the order');
  t.like(warning, { level: 40, payment_intent_id: o.intentId, req_id: res.headers.get('x-request-id') });
  t.regex(String(warning?.msg), /reconcile/);

  // reconcile (with Stripe back) cancels the intent and stops following the order up.
  const report = await reconcilePayments(db, app.config);
  const followed = report.orders.find((a) => a.order_id === o.orderId);
  t.like(followed, { action: 'canceled', status: 'canceled', intent_status: 'canceled', payment_intent_id: o.intentId });
  t.is(stripe.intents.get(o.intentId)?.status, 'canceled');
  t.is((await orderRow(o.orderId)).intent_cancel_unconfirmed_at, null);
  t.is(await stockOf(o.productId), 5, 'stock came back once');
  const next = await reconcilePayments(db, app.config);
  t.is(
    next.orders.find((a) => a.order_id === o.orderId),
    undefined,
    'followed up once',
  );
});

test('when Stripe answers the cancel with an error, then the order is canceled and marked just the same', async (t) => {
  const o = await checkedOut();
  // The SDK retries a 500 once: both attempts fail.
  stripe.failNext(500, { times: 2, when: (r) => r.path === `/v1/payment_intents/${o.intentId}/cancel` });

  const res = await app.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth);
  t.is(res.status, 200, res.text);
  t.is((await orderRow(o.orderId)).status, 'canceled');
  t.truthy((await orderRow(o.orderId)).intent_cancel_unconfirmed_at);
  t.is(await stockOf(o.productId), 5);
});

test.serial(
  'when the customer pays the still-live intent after canceling while Stripe was unreachable, then reconcile reports a refund and the order stays canceled',
  async (t) => {
    const o = await checkedOut();
    t.is((await cutOff.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth)).status, 200);
    stripe.setStatus(o.intentId, 'succeeded');

    const report = await reconcilePayments(db, app.config);
    const followed = report.orders.find((a) => a.order_id === o.orderId);
    t.like(followed, { action: 'refund', status: 'canceled', intent_status: 'succeeded' });
    t.regex(String(followed?.outcome), /needs a refund: Stripe took \$300\.00/);
    t.true(report.refunds_needed >= 1);
    const row = await orderRow(o.orderId);
    t.is(row.status, 'canceled', 'nothing moves backwards');
    t.is(row.paid_at, null);
    t.is(row.intent_cancel_unconfirmed_at, null, 'reported once');
    t.is(await stockOf(o.productId), 5);
  },
);

// Serial (ava runs these before the concurrent tests), so counting Stripe's requests is exact.
test.serial(
  'when payments are not configured, then a customer can still cancel an order that has a PaymentIntent, and it is marked for reconcile',
  async (t) => {
    const o = await checkedOut();
    const calls = stripe.requests.length;

    const res = await unconfigured.client().post(`/api/orders/${o.orderId}/cancel`, undefined, o.auth);
    t.is(res.status, 200, res.text);
    t.is(res.body.status, 'canceled');
    t.is(await stockOf(o.productId), 5);
    t.truthy((await orderRow(o.orderId)).intent_cancel_unconfirmed_at);
    t.is(stripe.requests.length, calls, 'Stripe was not asked');
  },
);

test.serial('when an order has no PaymentIntent, then cancel does not call Stripe', async (t) => {
  const n = ++seq;
  const u = await createUser(db, { username: `cn${run}_${n}`, email: `cn${run}_${n}@example.com`, password: 'correct horse' });
  const p = await createProduct(db, { name: `Unpaid watch ${run} ${n}`, price: '20.00', stock: 2 });
  await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 1 });
  const { order } = await createOrderFromCart(db, u.id);
  const calls = stripe.requests.length;

  const res = await app.client().post(`/api/orders/${order.id}/cancel`, undefined, {
    authorization: `Bearer ${signAccessToken({ id: u.id, role: u.role }, app.config.accessTokenSecret)}`,
  });
  t.is(res.status, 200, res.text);
  t.is(res.body.status, 'canceled');
  t.is(await stockOf(p.id), 2);
  t.is(stripe.requests.length, calls);
  t.is((await orderRow(order.id)).intent_cancel_unconfirmed_at, null);
});

test("when another customer tries to cancel someone's order, then 404 and Stripe is not asked", async (t) => {
  const o = await checkedOut();
  const stranger = await createUser(db, { username: `cs${run}_${++seq}`, email: `cs${run}_${seq}@example.com`, password: 'correct horse' });
  const res = await app.client().post(`/api/orders/${o.orderId}/cancel`, undefined, {
    authorization: `Bearer ${signAccessToken({ id: stranger.id, role: stranger.role }, app.config.accessTokenSecret)}`,
  });
  t.is(res.status, 404);
  t.is(cancelCalls(o.intentId), 0);
  t.is((await orderRow(o.orderId)).status, 'pending');
});
