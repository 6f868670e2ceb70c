/**
 * Hosted checkout (POST /api/checkout with mode hosted), shipping, and the checkout.session.*
 * webhooks over real HTTP, on SQLite or MariaDB (TEST_DB=mysql), with the official Stripe SDK
 * talking to the local fake Stripe (test/helpers/fake-stripe.ts).
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { expirePendingOrders, reconcilePayments } from '../../src/payments/reconcile.service.js';
import { startApp, type Client, type TestApp } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { checkoutSessionEvent, FakeStripe, paymentIntentEvent, signPayload, type FakeSession } from '../helpers/fake-stripe.js';
import { createProduct } from '../helpers/services.js';
import { signedInAs } from '../helpers/staff.js';

const SECRET = 'whsec_test_hosted';
const STORE = 'https://shop.example.test';

let app: TestApp;
let stripe: FakeStripe;
let db: Db;
let client: Client;

test.before(async () => {
  stripe = await FakeStripe.start();
  app = await startApp({
    env: stripe.env({
      STRIPE_WEBHOOK_SECRET: SECRET,
      STORE_URL: `${STORE}/`,
      SHIPPING_FLAT_CENTS: '1599',
      FREE_SHIPPING_OVER_CENTS: '100000',
      SHIPPING_COUNTRIES: 'GB,DE,us',
    }),
  });
  db = app.t.db;
  client = app.client();
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

async function buyerWithCart(lines: Array<[price: string, quantity: number, stock?: number]>) {
  const b = await signedInCustomer(db, app.config.accessTokenSecret, 'h');
  const products = [];
  for (const [price, quantity, stock] of lines) {
    const p = await createProduct(db, { name: `Hosted watch ${run} ${++seq}`, price, stock: stock ?? 10 });
    await db('cart_items').insert({ user_id: b.id, product_id: p.id, quantity });
    products.push(p);
  }
  return { b, products };
}

async function stockOf(id: number): Promise<number> {
  return Number((await db('products').where({ id }).first()).stock);
}

function sendEvent(event: unknown) {
  const payload = JSON.stringify(event);
  return client.request('POST', '/api/webhooks/stripe', {
    body: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signPayload(payload, SECRET) },
  });
}

async function hosted(auth: Record<string, string>, body: Record<string, unknown> = {}) {
  return client.post('/api/checkout', { mode: 'hosted', ...body }, auth);
}

test('when a cart is checked out hosted, then one Checkout Session has the lines at database prices, the shipping line, the order reference and STORE_URL return URLs, and its id is on the order', async (t) => {
  const { b } = await buyerWithCart([
    ['120.50', 2],
    ['59.99', 1],
  ]);
  const res = await hosted(b.auth, { cartItems: [{ id: 1, price: 0.01, quantity: 99 }] });
  t.is(res.status, 200, res.text);
  t.deepEqual(Object.keys(res.body).sort(), ['checkout_session_id', 'order_id', 'url']);
  t.regex(res.body.checkout_session_id, /^cs_test_/);
  const session = stripe.sessions.get(res.body.checkout_session_id)!;
  t.is(res.body.url, session.url);

  // 2 × 120.50 + 59.99 = 300.99, + 15.99 shipping = 316.98
  t.is(session.amount_subtotal, 30099);
  t.is(session.amount_total, 31698);
  t.is(session.currency, 'usd');
  t.is(session.client_reference_id, String(res.body.order_id));
  t.deepEqual(session.metadata, { order_id: String(res.body.order_id), user_id: String(b.id) });
  t.is(session.success_url, `${STORE}/success?session_id={CHECKOUT_SESSION_ID}`);
  t.is(session.cancel_url, `${STORE}/cancel`);

  const [create] = stripe.requestsTo('POST', '/v1/checkout/sessions').filter((r) => r.body.client_reference_id === String(res.body.order_id));
  t.is(create.idempotencyKey, `order-${res.body.order_id}-31698-session`);
  const lines = Object.values(create.body.line_items) as any[];
  t.deepEqual(
    lines.map((l) => [l.price_data.unit_amount, l.quantity]),
    [
      ['12050', '2'],
      ['5999', '1'],
    ],
  );
  t.is(create.body.shipping_options['0'].shipping_rate_data.fixed_amount.amount, '1599');
  t.deepEqual(Object.values(create.body.shipping_address_collection.allowed_countries), ['GB', 'DE', 'US']);

  const order = await client.get(`/api/orders/${res.body.order_id}`, b.auth);
  t.is(order.body.shipping_cents, 1599);
  t.is(order.body.shipping, 15.99);
  t.is(order.body.total_cents, 31698);
  t.is(order.body.shipping_address, null);
  const row = await db('orders').where({ id: res.body.order_id }).first();
  t.is(row.checkout_session_id, res.body.checkout_session_id);
  t.is((await db('cart_items').where({ user_id: b.id })).length, 0, 'the cart became the order');
});

test('when a pending order is checked out hosted again (also 4 at once), then the same open session comes back and Stripe is asked to create one only once', async (t) => {
  const { b } = await buyerWithCart([['80.00', 1]]);
  const first = await hosted(b.auth);
  t.is(first.status, 200, first.text);
  const again = await Promise.all(Array.from({ length: 4 }, () => hosted(b.auth, { order_id: first.body.order_id })));
  for (const r of again) {
    t.is(r.status, 200, r.text);
    t.is(r.body.checkout_session_id, first.body.checkout_session_id);
  }
  const creates = stripe.requestsTo('POST', '/v1/checkout/sessions').filter((r) => r.body.client_reference_id === String(first.body.order_id));
  t.is(creates.length, 1);
});

test('when an order has a Checkout Session, then a PaymentIntent checkout of it is 409 ORDER_NOT_PAYABLE (and the other way round)', async (t) => {
  const { b } = await buyerWithCart([['10.00', 1]]);
  const h = await hosted(b.auth);
  const pi = await client.post('/api/checkout', { order_id: h.body.order_id }, b.auth);
  t.is(pi.status, 409, pi.text);
  t.is(pi.body.error.code, 'ORDER_NOT_PAYABLE');

  const other = await buyerWithCart([['10.00', 1]]);
  const p = await client.post('/api/checkout', {}, other.b.auth);
  t.is(p.status, 200, p.text);
  const h2 = await hosted(other.b.auth, { order_id: p.body.order_id });
  t.is(h2.status, 409, h2.text);
  t.is(h2.body.error.code, 'ORDER_NOT_PAYABLE');
});

test('when checkout.session.completed arrives 5 times at once (same event and 5 different ids), then the order is paid once and the shipping address Stripe collected is stored', async (t) => {
  const { b } = await buyerWithCart([['250.00', 1]]);
  const h = await hosted(b.auth);
  const session = stripe.completeSession(h.body.checkout_session_id);
  const event = checkoutSessionEvent('checkout.session.completed', session);
  const same = await Promise.all(Array.from({ length: 5 }, () => sendEvent(event)));
  const distinct = await Promise.all(Array.from({ length: 5 }, () => sendEvent(checkoutSessionEvent('checkout.session.completed', session))));
  for (const r of [...same, ...distinct]) t.is(r.status, 200, r.text);

  const order = await client.get(`/api/orders/${h.body.order_id}`, b.auth);
  t.is(order.body.status, 'paid');
  t.truthy(order.body.paid_at);
  t.deepEqual(order.body.shipping_address, {
    name: 'Ada Lovelace',
    line1: '12 Analytical Row',
    line2: 'Flat 3',
    city: 'London',
    postal_code: 'N1 7AA',
    region: null,
    country: 'GB',
  });
  const events = await db('stripe_events').whereIn('id', [event.id]);
  t.is(events.length, 1);
  t.is(events[0].outcome_kind, 'applied');
  const kinds = (await db('stripe_events').where({ order_id: h.body.order_id })).map((e: { outcome_kind: string }) => e.outcome_kind);
  t.is(kinds.length, 6, 'the repeated event id is recorded once');
  t.is(kinds.filter((k: string) => k === 'applied').length, 1, 'one event moved the order');
});

test('when a completed session reports another amount, then the order stays pending and the event is recorded as a mismatch', async (t) => {
  const { b } = await buyerWithCart([['99.00', 1]]);
  const h = await hosted(b.auth);
  const session = stripe.completeSession(h.body.checkout_session_id, { amount_total: 100 });
  const event = checkoutSessionEvent('checkout.session.completed', session);
  const res = await sendEvent(event);
  t.is(res.status, 200, res.text);
  const row = await db('stripe_events').where({ id: event.id }).first();
  t.is(row.outcome_kind, 'mismatch');
  t.is(Number(row.order_id), h.body.order_id);
  t.regex(row.outcome, /amount mismatch 100 != 11499/);
  t.is((await db('orders').where({ id: h.body.order_id }).first()).status, 'pending');

  const currency = checkoutSessionEvent('checkout.session.completed', { ...session, amount_total: 11499, currency: 'eur' });
  await sendEvent(currency);
  t.is((await db('stripe_events').where({ id: currency.id }).first()).outcome_kind, 'mismatch');
  t.is((await db('orders').where({ id: h.body.order_id }).first()).status, 'pending');
});

test('when a session completes unpaid (async method), then the order stays pending until async_payment_succeeded pays it', async (t) => {
  const { b } = await buyerWithCart([['40.00', 1]]);
  const h = await hosted(b.auth);
  const session = stripe.completeSession(h.body.checkout_session_id, { payment_status: 'unpaid' });
  const completed = checkoutSessionEvent('checkout.session.completed', session);
  await sendEvent(completed);
  t.is((await db('stripe_events').where({ id: completed.id }).first()).outcome_kind, 'payment_incomplete');
  t.is((await db('orders').where({ id: h.body.order_id }).first()).status, 'pending');

  session.payment_status = 'paid';
  await sendEvent(checkoutSessionEvent('checkout.session.async_payment_succeeded', session));
  t.is((await db('orders').where({ id: h.body.order_id }).first()).status, 'paid');
});

test('when an async payment fails, then the order is canceled and its stock comes back', async (t) => {
  const { b, products } = await buyerWithCart([['40.00', 3, 5]]);
  const h = await hosted(b.auth);
  t.is(await stockOf(products[0].id), 2);
  const session = stripe.completeSession(h.body.checkout_session_id, { payment_status: 'unpaid' });
  const res = await sendEvent(checkoutSessionEvent('checkout.session.async_payment_failed', session));
  t.is(res.status, 200, res.text);
  t.is((await db('orders').where({ id: h.body.order_id }).first()).status, 'canceled');
  t.is(await stockOf(products[0].id), 5);
});

test('when checkout.session.expired arrives 5 times at once, then the order is canceled and its stock comes back once', async (t) => {
  const { b, products } = await buyerWithCart([
    ['30.00', 2, 4],
    ['20.00', 1, 1],
  ]);
  const h = await hosted(b.auth);
  t.is(await stockOf(products[0].id), 2);
  t.is(await stockOf(products[1].id), 0);
  const session = stripe.sessions.get(h.body.checkout_session_id)!;
  session.status = 'expired';
  const results = await Promise.all(Array.from({ length: 5 }, () => sendEvent(checkoutSessionEvent('checkout.session.expired', session))));
  for (const r of results) t.is(r.status, 200, r.text);
  t.is((await db('orders').where({ id: h.body.order_id }).first()).status, 'canceled');
  t.is(await stockOf(products[0].id), 4);
  t.is(await stockOf(products[1].id), 1);
  // The losers say already_applied, or on MariaDB wrong_state (their snapshot still saw it pending).
  const kinds = (await db('stripe_events').where({ order_id: h.body.order_id })).map((e: { outcome_kind: string }) => e.outcome_kind);
  t.is(kinds.length, 5);
  t.is(kinds.filter((k: string) => k === 'applied').length, 1, 'one event moved the order');

  const again = await hosted(b.auth, { order_id: h.body.order_id });
  t.is(again.status, 409, again.text);
  t.is(again.body.error.code, 'ORDER_NOT_PAYABLE');
});

test('when a session event names no order of ours, then it is recorded as unmatched and nothing moves', async (t) => {
  const event = checkoutSessionEvent('checkout.session.completed', {
    id: `cs_test_stranger_${run}`,
    payment_status: 'paid',
    amount_total: 100,
    currency: 'usd',
  } as Partial<FakeSession> & { id: string });
  const res = await sendEvent(event);
  t.is(res.status, 200, res.text);
  t.is((await db('stripe_events').where({ id: event.id }).first()).outcome_kind, 'unmatched');
});

test('when a session event has a malformed session, then 400 VALIDATION_FAILED and nothing is recorded', async (t) => {
  const event = checkoutSessionEvent('checkout.session.completed', { id: 'cs_bad', amount_total: 'lots' as unknown as number });
  const res = await sendEvent(event);
  t.is(res.status, 400, res.text);
  t.is(res.body.error.code, 'VALIDATION_FAILED');
  t.is(await db('stripe_events').where({ id: event.id }).first(), undefined);
});

test('when the customer cancels an order being paid on the hosted page, then the session is expired at Stripe and stock comes back', async (t) => {
  const { b, products } = await buyerWithCart([['45.00', 2, 2]]);
  const h = await hosted(b.auth);
  const res = await client.post(`/api/orders/${h.body.order_id}/cancel`, {}, b.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.status, 'canceled');
  t.is(stripe.sessions.get(h.body.checkout_session_id)!.status, 'expired');
  t.is(await stockOf(products[0].id), 2);
});

test('when a PaymentIntent checkout sends a shipping address, then it is validated, stored on the order, and passed to the intent as shipping; the total includes shipping, free over the threshold', async (t) => {
  const { b } = await buyerWithCart([['500.00', 2]]);
  const bad = await client.post('/api/checkout', { shipping_address: { name: 'X', line1: '', city: 'Y', postal_code: '1', country: 'Germany' } }, b.auth);
  t.is(bad.status, 400, bad.text);
  t.is(bad.body.error.code, 'VALIDATION_FAILED');
  const paths = (bad.body.error.details as { path: string }[]).map((d) => d.path).sort();
  t.deepEqual(paths, ['shipping_address.country', 'shipping_address.line1']);

  const address = { name: 'Grace Hopper', line1: '1 Harbour St', city: 'Hamburg', postal_code: '20095', country: 'de' };
  const res = await client.post('/api/checkout', { shipping_address: address }, b.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.amount_cents, 100000, 'a 1000.00 subtotal ships free (FREE_SHIPPING_OVER_CENTS=100000)');
  const order = await client.get(`/api/orders/${res.body.order_id}`, b.auth);
  t.is(order.body.shipping_cents, 0);
  t.deepEqual(order.body.shipping_address, { ...address, country: 'DE', line2: null, region: null });
  const [create] = stripe.requestsTo('POST', '/v1/payment_intents').filter((r) => r.body.metadata?.order_id === String(res.body.order_id));
  t.deepEqual(create.body.shipping, { name: 'Grace Hopper', address: { line1: '1 Harbour St', city: 'Hamburg', postal_code: '20095', country: 'DE' } });

  const hostedWithAddress = await hosted(b.auth, { shipping_address: address });
  t.is(hostedWithAddress.status, 400, hostedWithAddress.text);
});

test('when a cart below the threshold is paid by PaymentIntent, then the flat shipping is part of the amount charged', async (t) => {
  const { b } = await buyerWithCart([['10.00', 1]]);
  const res = await client.post('/api/checkout', {}, b.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.amount_cents, 1000 + 1599);
  t.is(stripe.intents.get(res.body.payment_intent_id)!.amount, 2599);
});

// reconcile and expire look at every pending order of the database: serial (ava runs these first).
test.serial('when a completed session was never delivered as an event, then orders reconcile pays the order from Stripe', async (t) => {
  const { b } = await buyerWithCart([['70.00', 1]]);
  const h = await hosted(b.auth);
  stripe.completeSession(h.body.checkout_session_id);
  const report = await reconcilePayments(db, app.config);
  const mine = report.orders.find((o) => o.order_id === h.body.order_id);
  t.is(mine?.action, 'paid', JSON.stringify(mine));
  t.is(mine?.intent_status, 'session complete/paid');
  const order = await db('orders').where({ id: h.body.order_id }).first();
  t.is(order.status, 'paid');
  t.is(order.ship_country, 'GB');
});

test.serial(
  'when orders expire meets an order with an open session, then the session is expired at Stripe and the order canceled with its stock back; a session paid meanwhile pays the order instead',
  async (t) => {
    const open = await buyerWithCart([['15.00', 2, 3]]);
    const h1 = await hosted(open.b.auth);
    const paid = await buyerWithCart([['16.00', 1]]);
    const h2 = await hosted(paid.b.auth);
    stripe.completeSession(h2.body.checkout_session_id);

    const report = await expirePendingOrders(db, app.config, { olderThanMs: 1, now: new Date(Date.now() + 60_000) });
    const byId = new Map(report.orders.map((o) => [o.order_id, o]));
    t.is(byId.get(h1.body.order_id)?.action, 'canceled', JSON.stringify(byId.get(h1.body.order_id)));
    t.is(stripe.sessions.get(h1.body.checkout_session_id)!.status, 'expired');
    t.is(await stockOf(open.products[0].id), 3);
    t.is(byId.get(h2.body.order_id)?.action, 'paid', JSON.stringify(byId.get(h2.body.order_id)));
  },
);

test("when the session's PaymentIntent reports a failed attempt, then the order stays pending, and a cancel still expires the session at Stripe", async (t) => {
  const { b, products } = await buyerWithCart([['33.00', 1, 1]]);
  const h = await hosted(b.auth);
  const [create] = stripe.requestsTo('POST', '/v1/checkout/sessions').filter((r) => r.body.client_reference_id === String(h.body.order_id));
  t.deepEqual(create.body.payment_intent_data.metadata, { order_id: String(h.body.order_id), user_id: String(b.id) });
  const intent = stripe.addIntent({ amount: 3300 + 1599, metadata: { order_id: String(h.body.order_id), user_id: String(b.id) } });
  const failed = paymentIntentEvent('payment_intent.payment_failed', intent);
  t.is((await sendEvent(failed)).status, 200);
  t.is((await db('orders').where({ id: h.body.order_id }).first()).status, 'pending');

  const res = await client.post(`/api/orders/${h.body.order_id}/cancel`, {}, b.auth);
  t.is(res.status, 200, res.text);
  t.is(res.body.status, 'canceled');
  t.is(stripe.sessions.get(h.body.checkout_session_id)!.status, 'expired');
  t.is(await stockOf(products[0].id), 1);
});

test("when a hosted order is paid, then its session's PaymentIntent is on the order and staff can refund it at Stripe", async (t) => {
  const { b } = await buyerWithCart([['300.00', 1]]);
  const h = await hosted(b.auth);
  const session = stripe.completeSession(h.body.checkout_session_id);
  t.is((await sendEvent(checkoutSessionEvent('checkout.session.completed', session))).status, 200);
  const row = await db('orders').where({ id: h.body.order_id }).first();
  t.is(row.status, 'paid');
  t.is(row.payment_intent_id, session.payment_intent);

  const staff = await signedInAs(db, app.config.accessTokenSecret, 'staff');
  const res = await client.request('POST', `/api/admin/orders/${h.body.order_id}/refund`, { json: {}, headers: staff.auth });
  t.is(res.status, 201, res.text);
  t.is(res.body.order.status, 'refunded');
  const refunds = stripe.requestsTo('POST', '/v1/refunds').filter((r) => r.body.payment_intent === session.payment_intent);
  t.is(refunds.length, 1);
  t.is(Number(refunds[0].body.amount), row.total_cents);
});
