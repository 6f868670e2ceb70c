/**
 * POST /api/webhooks/stripe over real HTTP, on SQLite or MariaDB (TEST_DB=mysql): signatures made
 * by the Stripe SDK's own test-header helper and checked on the raw bytes, each event applied at
 * most once (also five deliveries at once), and the order states of docs/data.md.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { cancelOrder, type PublicOrder } from '../../src/orders/orders.service.js';
import { startApp, type Client, type Res, type TestApp } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { FakeStripe, paymentIntentEvent, signPayload, type FakeIntent } from '../helpers/fake-stripe.js';
import { createOrderFromCart, createProduct } from '../helpers/services.js';

const SECRET = 'whsec_test_webhooks';

let app: TestApp;
let stripe: FakeStripe;
let db: Db;
let client: Client;

test.before(async () => {
  stripe = await FakeStripe.start();
  app = await startApp({ env: stripe.env({ STRIPE_WEBHOOK_SECRET: SECRET }) });
  db = app.t.db;
  client = app.client();
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

interface Fixture {
  userId: number;
  productId: number;
  order: PublicOrder;
  intent: FakeIntent;
}

/** A buyer's pending order of 3 × 45.00 (stock 10 → 7), checked out over HTTP. */
async function checkedOutOrder(): Promise<Fixture> {
  const n = ++seq;
  const u = await signedInCustomer(db, app.config.accessTokenSecret, 'w');
  const p = await createProduct(db, { name: `Webhook watch ${run} ${n}`, price: '45.00', stock: 10 });
  await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 3 });
  const { order } = await createOrderFromCart(db, u.id);
  const auth = u.auth;
  const res = await client.post('/api/checkout', { order_id: order.id }, auth);
  if (res.status !== 200) throw new Error(`checkout failed: ${res.text}`);
  return { userId: u.id, productId: p.id, order, intent: stripe.intents.get(res.body.payment_intent_id)! };
}

function deliver(event: unknown, opts: { secret?: string; signature?: string | null; tamper?: (payload: string) => string } = {}): Promise<Res> {
  const payload = JSON.stringify(event, null, 2); // Stripe's bodies are pretty-printed: bytes matter
  const signature = opts.signature === undefined ? signPayload(payload, opts.secret ?? SECRET) : opts.signature;
  const body = opts.tamper ? opts.tamper(payload) : payload;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (signature !== null) headers['stripe-signature'] = signature;
  return client.request('POST', '/api/webhooks/stripe', { body, headers });
}

async function orderRow(id: number) {
  return db('orders').where({ id }).first();
}
async function stockOf(productId: number): Promise<number> {
  return Number((await db('products').where({ id: productId }).first()).stock);
}
async function eventRows(eventId: string) {
  return db('stripe_events').where({ id: eventId });
}

test('when payment_intent.succeeded matches the order, then the order is paid with paid_at set and the event recorded as applied', async (t) => {
  const f = await checkedOutOrder();
  const intent = stripe.setStatus(f.intent.id, 'succeeded');
  const event = paymentIntentEvent('payment_intent.succeeded', intent);
  const before = Date.now();

  const res = await deliver(event);
  t.is(res.status, 200, res.text);
  t.deepEqual(res.body, { received: true });

  const row = await orderRow(f.order.id);
  t.is(row.status, 'paid');
  t.truthy(row.paid_at);
  const paidAt = new Date(`${String(row.paid_at).replace(' ', 'T')}Z`).getTime();
  t.true(paidAt >= before - 1000 && paidAt <= Date.now() + 1000);

  const [recorded] = await eventRows(event.id);
  t.is(recorded.type, 'payment_intent.succeeded');
  t.is(recorded.payment_intent_id, f.intent.id);
  t.is(Number(recorded.order_id), f.order.id);
  t.regex(recorded.outcome, /^applied/);
  t.is(recorded.outcome_kind, 'applied');
});

test('when the same event is delivered five times at once and again later, then it is applied once: one row, paid_at unchanged', async (t) => {
  const f = await checkedOutOrder();
  const event = paymentIntentEvent('payment_intent.succeeded', stripe.setStatus(f.intent.id, 'succeeded'));

  const all = await Promise.all(Array.from({ length: 5 }, () => deliver(event)));
  t.deepEqual(
    all.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  t.true(all.every((r) => r.body.received === true));
  const rows = await eventRows(event.id);
  t.is(rows.length, 1);
  t.regex(rows[0].outcome, /^applied/);
  const paid = await orderRow(f.order.id);
  t.is(paid.status, 'paid');

  const later = await deliver(event);
  t.is(later.status, 200);
  const again = await orderRow(f.order.id);
  t.is(String(again.paid_at), String(paid.paid_at));
  t.is(String(again.updated_at), String(paid.updated_at));
  t.is((await eventRows(event.id)).length, 1);
  t.is(await stockOf(f.productId), 7);
});

test('when the signature is forged, missing, or for other bytes, then 400 and nothing changes', async (t) => {
  const f = await checkedOutOrder();
  const event = paymentIntentEvent('payment_intent.succeeded', stripe.setStatus(f.intent.id, 'succeeded'));

  const forged = await deliver(event, { secret: 'whsec_not_ours' });
  const missing = await deliver(event, { signature: null });
  const garbage = await deliver(event, { signature: 't=1,v1=deadbeef' });
  const tampered = await deliver(event, { tamper: (p) => p.replace(`"amount": ${f.order.total_cents}`, '"amount": 1') });
  for (const res of [forged, missing, garbage, tampered]) {
    t.is(res.status, 400, res.text);
    t.is(res.body.error.code, 'VALIDATION_FAILED');
  }
  t.is((await orderRow(f.order.id)).status, 'pending');
  t.is((await eventRows(event.id)).length, 0);
});

test('when the amount or currency does not match the order, then the order stays pending and the event is recorded as ignored', async (t) => {
  const f = await checkedOutOrder();
  const short = paymentIntentEvent('payment_intent.succeeded', { ...f.intent, status: 'succeeded', amount: 1000, amount_received: 1000 });
  const res = await deliver(short);
  t.is(res.status, 200);
  t.is((await orderRow(f.order.id)).status, 'pending');
  const [row] = await eventRows(short.id);
  t.is(row.outcome, `ignored: amount mismatch 1000 != ${f.order.total_cents}`);
  t.is(row.outcome_kind, 'mismatch');
  t.is(Number(row.order_id), f.order.id);

  const euros = paymentIntentEvent('payment_intent.succeeded', { ...f.intent, status: 'succeeded', amount_received: f.order.total_cents, currency: 'eur' });
  t.is((await deliver(euros)).status, 200);
  t.is((await orderRow(f.order.id)).status, 'pending');
  t.regex((await eventRows(euros.id))[0].outcome, /^ignored: currency mismatch eur != usd/);
});

test('when a payment succeeds for a canceled order, then it stays canceled and the event is recorded as ignored', async (t) => {
  const f = await checkedOutOrder();
  t.true(await cancelOrder(db, f.order.id));
  t.is(await stockOf(f.productId), 10);

  const event = paymentIntentEvent('payment_intent.succeeded', stripe.setStatus(f.intent.id, 'succeeded'));
  const res = await deliver(event);
  t.is(res.status, 200);
  const row = await orderRow(f.order.id);
  t.is(row.status, 'canceled');
  t.is(row.paid_at, null);
  t.is(await stockOf(f.productId), 10);
  t.like((await eventRows(event.id))[0], { outcome: 'ignored: order canceled', outcome_kind: 'wrong_state' });
});

test('when payment_intent.canceled arrives (twice, as two events), then the order is canceled and its stock comes back once', async (t) => {
  const f = await checkedOutOrder();
  t.is(await stockOf(f.productId), 7);
  const intent = stripe.setStatus(f.intent.id, 'canceled');

  const first = paymentIntentEvent('payment_intent.canceled', intent);
  t.is((await deliver(first)).status, 200);
  t.is((await orderRow(f.order.id)).status, 'canceled');
  t.is(await stockOf(f.productId), 10);
  t.regex((await eventRows(first.id))[0].outcome, /^applied/);

  const second = paymentIntentEvent('payment_intent.canceled', intent);
  t.is((await deliver(second)).status, 200);
  t.is(await stockOf(f.productId), 10);
  t.regex((await eventRows(second.id))[0].outcome, /^ignored: order already canceled/);
  t.is((await eventRows(second.id))[0].outcome_kind, 'already_applied');
});

test('when payment_intent.payment_failed arrives, then the order stays pending and the failure is recorded', async (t) => {
  const f = await checkedOutOrder();
  const event = paymentIntentEvent('payment_intent.payment_failed', {
    ...f.intent,
    status: 'requires_payment_method',
    last_payment_error: { code: 'card_declined', message: 'Your card was declined.' },
  } as FakeIntent);
  t.is((await deliver(event)).status, 200);
  t.is((await orderRow(f.order.id)).status, 'pending');
  t.is(await stockOf(f.productId), 7);
  const [row] = await eventRows(event.id);
  t.is(row.type, 'payment_intent.payment_failed');
  t.regex(row.outcome, /^ignored: payment failed \(card_declined: Your card was declined\.\)/);
  t.is(row.outcome_kind, 'payment_failed');
});

test('when an event names an unknown payment intent, then 200 and it is recorded', async (t) => {
  const event = paymentIntentEvent('payment_intent.succeeded', {
    id: `pi_unknown_${run}`,
    amount: 500,
    amount_received: 500,
    currency: 'usd',
    status: 'succeeded',
  });
  const res = await deliver(event);
  t.is(res.status, 200);
  const [row] = await eventRows(event.id);
  t.is(row.payment_intent_id, `pi_unknown_${run}`);
  t.is(row.order_id, null);
  t.like(row, { outcome: 'ignored: unknown payment intent', outcome_kind: 'unmatched' });

  const other = paymentIntentEvent('invoice.paid' as never, { id: `pi_x_${run}` });
  t.is((await deliver(other)).status, 200);
  t.regex((await eventRows(other.id))[0].outcome, /^ignored: event type invoice.paid is not handled/);
  t.is((await eventRows(other.id))[0].outcome_kind, 'not_handled');
});

test("when the intent was never stored on the order, then the order is found by the intent's metadata (same user only)", async (t) => {
  const n = ++seq;
  const u = await signedInCustomer(db, app.config.accessTokenSecret, 'm');
  const p = await createProduct(db, { name: `Metadata watch ${run} ${n}`, price: '12.34', stock: 5 });
  await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 1 });
  const { order } = await createOrderFromCart(db, u.id);

  const wrongUser = stripe.addIntent({
    amount: 1234,
    status: 'succeeded',
    amount_received: 1234,
    metadata: { order_id: String(order.id), user_id: String(u.id + 1000) },
  });
  const rejected = paymentIntentEvent('payment_intent.succeeded', wrongUser);
  t.is((await deliver(rejected)).status, 200);
  t.is((await orderRow(order.id)).status, 'pending');
  t.regex((await eventRows(rejected.id))[0].outcome, /^ignored: metadata user/);

  const intent = stripe.addIntent({
    amount: 1234,
    status: 'succeeded',
    amount_received: 1234,
    metadata: { order_id: String(order.id), user_id: String(u.id) },
  });
  const event = paymentIntentEvent('payment_intent.succeeded', intent);
  t.is((await deliver(event)).status, 200);
  const row = await orderRow(order.id);
  t.is(row.status, 'paid');
  t.is(row.payment_intent_id, intent.id);
});

test('when the webhook body is over 1 MB, then 413 PAYLOAD_TOO_LARGE', async (t) => {
  const res = await client.request('POST', '/api/webhooks/stripe', {
    body: Buffer.alloc(1024 * 1024 + 10, 'a'),
    headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
  });
  t.is(res.status, 413);
  t.is(res.body.error.code, 'PAYLOAD_TOO_LARGE');
});

test('when STRIPE_WEBHOOK_SECRET is not configured, then the webhook answers 503 and records nothing', async (t) => {
  const bare = await startApp({ database: app.t, env: stripe.env() });
  t.teardown(() => bare.close());
  const event = paymentIntentEvent('payment_intent.succeeded', { id: `pi_nosecret_${run}`, amount: 1 });
  const payload = JSON.stringify(event);
  const res = await bare.client().request('POST', '/api/webhooks/stripe', {
    body: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signPayload(payload, SECRET) },
  });
  t.is(res.status, 503);
  t.is(res.body.error.code, 'PAYMENTS_UNAVAILABLE');
  t.is((await eventRows(event.id)).length, 0);
});
