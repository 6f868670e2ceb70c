/**
 * The payments services in-process, on SQLite or MariaDB, with the real Stripe SDK talking to the
 * fake Stripe: the races and Stripe answers that are awkward to stage through HTTP or the CLI.
 * Serial: expire and reconcile act on every pending order in the database.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { toDbTime } from '../../src/db/values.js';
import { attachPaymentIntent, cancelOrder, type PublicOrder } from '../../src/orders/orders.service.js';
import { durationSchema } from '../../src/payments/payments.schemas.js';
import { checkout, intentIdempotencyKey } from '../../src/payments/payments.service.js';
import { expirePendingOrders, reconcilePayments } from '../../src/payments/reconcile.service.js';
import type { StripeConfig } from '../../src/payments/stripe-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { createOrderFromCart, createProduct, createUser } from '../helpers/services.js';

let tdb: TestDatabase;
let db: Db;
let stripe: FakeStripe;
let config: StripeConfig & { currency: string };

test.before(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  stripe = await FakeStripe.start();
  config = { stripeSecretKey: 'sk_test_fake', stripeApiBase: stripe.url, currency: 'usd' };
});
test.after.always(async () => {
  await tdb?.drop();
  await stripe?.close();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

async function pendingOrder(ageMs = 0): Promise<{ order: PublicOrder; productId: number }> {
  const n = ++seq;
  const u = await createUser(db, { username: `i${run}_${n}`, email: `i${run}_${n}@example.com`, password: 'correct horse' });
  const p = await createProduct(db, { name: `Integration watch ${run} ${n}`, price: '33.00', stock: 6 });
  await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 2 });
  const { order } = await createOrderFromCart(db, u.id);
  if (ageMs)
    await db('orders')
      .where({ id: order.id })
      .update({ created_at: toDbTime(new Date(Date.now() - ageMs)) });
  return { order, productId: p.id };
}

async function row(orderId: number) {
  return db('orders').where({ id: orderId }).first();
}

test('when a hold time is given, then 30m, 2h and 1d are read and anything else is refused', (t) => {
  t.is(durationSchema.parse('30m'), 30 * 60_000);
  t.is(durationSchema.parse('2h'), 2 * 3_600_000);
  t.is(durationSchema.parse('1d'), 86_400_000);
  t.is(durationSchema.parse('45s'), 45_000);
  for (const bad of ['', '30', 'm', '1.5h', '-1h', '0m', '2w', '30 minutes']) t.false(durationSchema.safeParse(bad).success, bad);
});

test.serial('when the order is canceled while Stripe is creating its intent, then checkout cancels that intent and answers ORDER_NOT_PAYABLE', async (t) => {
  const { order, productId } = await pendingOrder();
  stripe.beforeAnswer = async (req) => {
    if (req.path === '/v1/payment_intents' && req.body.metadata?.order_id === String(order.id)) await cancelOrder(db, order.id);
  };
  try {
    const err = await t.throwsAsync(checkout(db, config, { userId: order.user_id, orderId: order.id }));
    t.is((err as { code?: string }).code, 'ORDER_NOT_PAYABLE');
  } finally {
    stripe.beforeAnswer = undefined;
  }
  const r = await row(order.id);
  t.is(r.status, 'canceled');
  const intent = stripe.intents.get(r.payment_intent_id)!;
  t.is(intent.status, 'canceled');
  t.is(Number((await db('products').where({ id: productId }).first()).stock), 6);
});

test.serial('when checkout runs, then the Stripe idempotency key is derived from the order id and amount', async (t) => {
  const { order } = await pendingOrder();
  t.is(intentIdempotencyKey(order), `order-${order.id}-6600`);
  const result = await checkout(db, config, { userId: order.user_id, orderId: order.id });
  t.is(result.amount, 66);
  const create = stripe.requests.find((r) => r.path === '/v1/payment_intents' && r.body.metadata?.order_id === String(order.id));
  t.is(create?.idempotencyKey, `order-${order.id}-6600`);
});

test.serial('when an expired order is still processing at Stripe, then expire leaves it pending with its stock held', async (t) => {
  const { order, productId } = await pendingOrder(2 * 3_600_000);
  const intent = stripe.addIntent({ amount: order.total_cents, status: 'processing' });
  await attachPaymentIntent(db, order.id, intent.id);

  const report = await expirePendingOrders(db, config, { olderThanMs: 3_600_000 });
  const mine = report.orders.find((o) => o.order_id === order.id);
  t.like(mine, { action: 'left', status: 'pending', intent_status: 'processing', outcome: 'ignored: payment processing' });
  t.is(report.failed, 0);
  t.is((await row(order.id)).status, 'pending');
  t.is(Number((await db('products').where({ id: productId }).first()).stock), 4);

  // Once Stripe settles it, reconcile applies the payment.
  stripe.setStatus(intent.id, 'succeeded');
  const rec = await reconcilePayments(db, config);
  t.like(
    rec.orders.find((o) => o.order_id === order.id),
    { action: 'paid', status: 'paid' },
  );
});

test.serial('when Stripe has no such intent, then reconcile reports an error for that order and changes nothing', async (t) => {
  const { order } = await pendingOrder();
  await attachPaymentIntent(db, order.id, `pi_missing_${run}`);
  const report = await reconcilePayments(db, config);
  const mine = report.orders.find((o) => o.order_id === order.id);
  t.like(mine, { action: 'error', status: 'pending' });
  t.regex(mine!.outcome, /No such payment_intent/);
  t.true(report.failed >= 1);
  t.is((await row(order.id)).status, 'pending');
  await db('orders').where({ id: order.id }).update({ payment_intent_id: null });
});

test.serial('when no Stripe key is configured, then reconcile is PAYMENTS_UNAVAILABLE and expire leaves orders with an intent alone', async (t) => {
  const err = await t.throwsAsync(reconcilePayments(db, {}));
  t.is((err as { code?: string }).code, 'PAYMENTS_UNAVAILABLE');

  const withIntent = await pendingOrder(2 * 3_600_000);
  await attachPaymentIntent(db, withIntent.order.id, stripe.addIntent({ amount: withIntent.order.total_cents }).id);
  const without = await pendingOrder(2 * 3_600_000);
  const report = await expirePendingOrders(db, {}, { olderThanMs: 3_600_000 });
  t.like(
    report.orders.find((o) => o.order_id === withIntent.order.id),
    { action: 'skipped', status: 'pending' },
  );
  t.like(
    report.orders.find((o) => o.order_id === without.order.id),
    { action: 'canceled', status: 'canceled' },
  );
  t.true(report.failed >= 1);
  t.is((await row(withIntent.order.id)).status, 'pending');
});
