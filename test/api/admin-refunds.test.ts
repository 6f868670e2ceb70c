/**
 * POST /api/admin/orders/:id/refund and the refund webhooks over real HTTP (SQLite, or MariaDB
 * with TEST_DB=mysql), the Stripe SDK talking to the local fake Stripe: partial then full
 * refunds, never more than was paid, a retried request refunding once, stock back only when
 * asked and once, the webhooks applied once however often they arrive, who may refund, and an
 * audit row per refund and none per refused one (docs/api.md, "Refunds").
 */
import test from 'ava';
import { signAccessToken } from '../../src/auth/access-token.js';
import type { Db } from '../../src/db/connection.js';
import { markPaid } from '../../src/orders/orders.service.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { FakeStripe, refundEvent, signPayload } from '../helpers/fake-stripe.js';
import { placePendingOrder } from '../helpers/orders.js';
import { signedInAs, type SignedIn } from '../helpers/staff.js';

const SECRET = 'whsec_test_refunds';

let app: TestApp;
let db: Db;
let stripe: FakeStripe;
let staff: SignedIn;

test.before(async () => {
  stripe = await FakeStripe.start();
  app = await startApp({ env: stripe.env({ STRIPE_WEBHOOK_SECRET: SECRET }) });
  db = app.t.db;
  staff = await signedInAs(db, app.config.accessTokenSecret, 'staff');
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

/** A paid order of `quantity` watches at 80.00 from a stock of 4, its intent succeeded at Stripe. */
async function paidOrder(label: string, quantity = 2) {
  const placed = await placePendingOrder(db, { label, price: '80.00', stock: 4, quantity }, stripe);
  stripe.setStatus(placed.intent.id, 'succeeded');
  if (!(await markPaid(db, placed.order.id))) throw new Error('not paid');
  return placed;
}

const refund = (id: number, json: unknown = {}, headers: Record<string, string> = staff.auth) =>
  app.client().request('POST', `/api/admin/orders/${id}/refund`, { json, headers });
const auditOf = (id: number) => db('audit_log').where({ target_type: 'order', target_id: String(id), action: 'order.refund' });
const orderRow = (id: number) => db('orders').where('id', id).first();
const stockOf = async (productId: number) => Number((await db('products').where('id', productId).first()).stock);
const stripeRefundsFor = (intentId: string) => stripe.requestsTo('POST', '/v1/refunds').filter((r) => r.body.payment_intent === intentId);

function deliver(event: unknown) {
  const payload = JSON.stringify(event, null, 2);
  return app.client().request('POST', '/api/webhooks/stripe', {
    body: payload,
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signPayload(payload, SECRET) },
  });
}

test('when staff refund part and then the rest, then Stripe refunds each once, the order shows the refunded amount, and it ends refunded', async (t) => {
  const placed = await paidOrder('Rp');
  const first = await refund(placed.order.id, { amount: '50.00', reason: 'scratched' });
  t.is(first.status, 201, first.text);
  t.is(first.body.refund.amount_cents, 5000);
  t.is(first.body.refund.status, 'succeeded');
  t.false(first.body.refund.restocked);
  t.is(first.body.order.status, 'paid');
  t.is(first.body.order.refunded_cents, 5000);
  t.is(first.body.order.refunded, 50);
  t.is(first.body.order.payment.state, 'partially_refunded');
  t.is(stripe.intents.get(placed.intent.id)?.amount_refunded, 5000);

  const rest = await refund(placed.order.id, {});
  t.is(rest.status, 201, rest.text);
  t.is(rest.body.refund.amount_cents, 11000);
  t.is(rest.body.order.status, 'refunded');
  t.is(rest.body.order.refunded_cents, 16000);
  t.is(rest.body.order.payment.state, 'refunded');
  t.is(rest.body.order.refunds.length, 2);
  t.is(stripeRefundsFor(placed.intent.id).length, 2);
  t.is(stripe.intents.get(placed.intent.id)?.amount_refunded, 16000);

  // The customer sees it on their own order.
  const customer = { authorization: `Bearer ${signAccessToken({ id: placed.userId, role: 'customer' }, app.config.accessTokenSecret)}` };
  const mine = await app.client().get(`/api/orders/${placed.order.id}`, customer);
  t.is(mine.status, 200, mine.text);
  t.is(mine.body.status, 'refunded');
  t.is(mine.body.refunded_cents, 16000);
  t.is(mine.body.refunded, 160);

  const rows = await auditOf(placed.order.id).orderBy('id');
  t.is(rows.length, 2);
  t.is(rows[0].actor, String(staff.id));
  t.deepEqual(JSON.parse(rows[0].before), { status: 'paid', refunded_cents: 0 });
  t.like(JSON.parse(rows[1].after), { status: 'refunded', refunded_cents: 16000, amount_cents: 11000 });

  // Stripe's own charge.refunded for these refunds changes nothing more.
  const again = await deliver(refundEvent('charge.refunded', stripe.chargeOf(placed.intent.id)));
  t.is(again.status, 200, again.text);
  t.is(Number((await orderRow(placed.order.id)).refunded_cents), 16000);
  t.is(
    await db('refunds')
      .where('order_id', placed.order.id)
      .count({ n: '*' })
      .first()
      .then((r) => Number(r?.n)),
    2,
  );

  // Nothing is left: a further refund is refused.
  const more = await refund(placed.order.id, { amount: 1 });
  t.is(more.status, 409, more.text);
  t.is(more.body.error.code, 'INVALID_TRANSITION');
});

test('when a refund exceeds the rest of what was paid, then it is 409 and nothing changes (no Stripe call, no audit row)', async (t) => {
  const placed = await paidOrder('Rx');
  t.is((await refund(placed.order.id, { amount: 6000 })).status, 201);
  const res = await refund(placed.order.id, { amount: '100.01' });
  t.is(res.status, 409, res.text);
  t.is(res.body.error.code, 'CONFLICT');
  t.like(res.body.error.details[0], { requested_cents: 10001, refundable_cents: 10000 });
  const row = await orderRow(placed.order.id);
  t.is(Number(row.refunded_cents), 6000);
  t.is(row.status, 'paid');
  t.is(stripeRefundsFor(placed.intent.id).length, 1);
  t.is((await db('refunds').where('order_id', placed.order.id)).length, 1);
  t.is((await auditOf(placed.order.id)).length, 1);
});

test('when the same refund request is retried with its Idempotency-Key, also 5 times at once, then it refunds once', async (t) => {
  const placed = await paidOrder('Ri');
  const headers = { ...staff.auth, 'idempotency-key': `refund-${placed.order.id}-a` };
  const first = await refund(placed.order.id, { amount: 2500 }, headers);
  t.is(first.status, 201, first.text);
  const retry = await refund(placed.order.id, { amount: 2500 }, headers);
  t.is(retry.status, 200, retry.text);
  t.is(retry.headers.get('idempotent-replayed'), 'true');
  t.is(retry.body.refund.id, first.body.refund.id);

  const burst = { ...staff.auth, 'idempotency-key': `refund-${placed.order.id}-b` };
  const answers = await Promise.all(Array.from({ length: 5 }, () => refund(placed.order.id, { amount: 1000 }, burst)));
  t.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 201], answers.map((a) => a.text).join('\n'));
  t.is(new Set(answers.map((a) => a.body.refund.id)).size, 1);

  t.is(Number((await orderRow(placed.order.id)).refunded_cents), 3500);
  t.is(stripe.intents.get(placed.intent.id)?.amount_refunded, 3500);
  t.is((await auditOf(placed.order.id)).length, 2);
});

test('when the stock comes back only when asked, then it comes back exactly once', async (t) => {
  const placed = await paidOrder('Rs');
  t.is(await stockOf(placed.productId), 2);
  const plain = await refund(placed.order.id, { amount: 1000 });
  t.is(plain.status, 201, plain.text);
  t.is(await stockOf(placed.productId), 2);
  const back = await refund(placed.order.id, { amount: 1000, restock: true });
  t.is(back.status, 201, back.text);
  t.true(back.body.refund.restocked);
  t.is(await stockOf(placed.productId), 4);
  const last = await refund(placed.order.id, { restock: true });
  t.is(last.status, 201, last.text);
  t.false(last.body.refund.restocked);
  t.is(last.body.order.status, 'refunded');
  t.is(await stockOf(placed.productId), 4);
});

test('when a refund made in Stripe’s dashboard is announced 5 times at once, then it is applied once', async (t) => {
  const placed = await paidOrder('Rw');
  const partial = stripe.refundInDashboard(placed.intent.id, 4000);
  const created = refundEvent('refund.created', partial);
  const first = await Promise.all(Array.from({ length: 5 }, () => deliver(created)));
  t.deepEqual(
    first.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  t.is(Number((await orderRow(placed.order.id)).refunded_cents), 4000);
  t.is((await db('refunds').where('stripe_refund_id', partial.id)).length, 1);
  t.is((await db('stripe_events').where('id', created.id)).length, 1);

  stripe.refundInDashboard(placed.intent.id, 12000);
  const charged = refundEvent('charge.refunded', stripe.chargeOf(placed.intent.id));
  const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(charged)));
  t.deepEqual(
    answers.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  const row = await orderRow(placed.order.id);
  t.is(row.status, 'refunded');
  t.is(Number(row.refunded_cents), 16000);
  const events = await db('stripe_events').where('id', charged.id);
  t.is(events.length, 1);
  t.is(events[0].outcome_kind, 'applied');
  // Made at Stripe, not here: no admin audit row.
  t.is((await auditOf(placed.order.id)).length, 0);
});

test('when Stripe announces this store’s own refund, then it is linked, not counted twice; a refund that failed stops counting', async (t) => {
  const placed = await paidOrder('Ro');
  const made = await refund(placed.order.id, { amount: 3000 });
  t.is(made.status, 201, made.text);
  const atStripe = stripe.refunds.get(made.body.refund.stripe_refund_id)!;
  t.is(atStripe.metadata.refund_id, String(made.body.refund.id));

  const created = await deliver(refundEvent('refund.created', atStripe));
  t.is(created.status, 200, created.text);
  t.is((await db('refunds').where('order_id', placed.order.id)).length, 1);
  t.is(Number((await orderRow(placed.order.id)).refunded_cents), 3000);

  const failed = refundEvent('refund.updated', { ...atStripe, status: 'failed' });
  const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(failed)));
  t.deepEqual(
    answers.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  t.is((await db('refunds').where('order_id', placed.order.id).first()).status, 'failed');
  t.is(Number((await orderRow(placed.order.id)).refunded_cents), 0);
});

test('when Stripe fails the refund, then 502, the reservation is given back, and no audit row is written', async (t) => {
  const placed = await paidOrder('Rf');
  stripe.failNext(500, { times: 5, when: (r) => r.path === '/v1/refunds' && r.body.payment_intent === placed.intent.id });
  const res = await refund(placed.order.id, { amount: 2000, restock: true });
  t.is(res.status, 502, res.text);
  t.is(res.body.error.code, 'PAYMENT_PROVIDER_ERROR');
  stripe.clearFailures();
  const row = await orderRow(placed.order.id);
  t.is(Number(row.refunded_cents), 0);
  t.is(row.status, 'paid');
  t.deepEqual(await db('refunds').where('order_id', placed.order.id), []);
  t.is(await stockOf(placed.productId), 2);
  t.is((await auditOf(placed.order.id)).length, 0);
  // The whole amount is still there to refund.
  const again = await refund(placed.order.id, {});
  t.is(again.status, 201, again.text);
  t.is(again.body.refund.amount_cents, 16000);
});

test('when a customer or nobody asks for a refund, or the order is not paid, then it is refused and nothing is written', async (t) => {
  const placed = await paidOrder('Ra');
  const customer = await signedInAs(db, app.config.accessTokenSecret, 'customer');
  const forbidden = await refund(placed.order.id, {}, customer.auth);
  t.is(forbidden.status, 403, forbidden.text);
  const anon = await refund(placed.order.id, {}, {});
  t.is(anon.status, 401, anon.text);
  const bad = await refund(placed.order.id, { amount: '-5' });
  t.is(bad.status, 400, bad.text);
  const zero = await refund(placed.order.id, { amount: 0 });
  t.is(zero.status, 400, zero.text);

  const pending = await placePendingOrder(db, { label: 'Rn', price: '80.00', stock: 4, quantity: 1 }, stripe);
  const notPaid = await refund(pending.order.id, {});
  t.is(notPaid.status, 409, notPaid.text);
  t.is(notPaid.body.error.code, 'INVALID_TRANSITION');

  t.is(stripeRefundsFor(placed.intent.id).length, 0);
  t.is(stripeRefundsFor(pending.intent.id).length, 0);
  t.is((await auditOf(placed.order.id)).length, 0);
  t.is((await auditOf(pending.order.id)).length, 0);
  t.is(Number((await orderRow(placed.order.id)).refunded_cents), 0);
});
