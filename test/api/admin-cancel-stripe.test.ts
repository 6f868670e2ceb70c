/**
 * POST /api/admin/orders/:id/cancel for orders with a PaymentIntent, over real HTTP (SQLite, or
 * MariaDB with TEST_DB=mysql) with the Stripe SDK talking to the local fake Stripe: the customer's
 * cancel path (the intent canceled at Stripe first), one audit row for the cancel, and none when
 * Stripe already has the payment (the order is paid instead, 409).
 */
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { placePendingOrder } from '../helpers/orders.js';
import { signedInAs, type SignedIn } from '../helpers/staff.js';

let app: TestApp;
let db: Db;
let stripe: FakeStripe;
let staff: SignedIn;

test.before(async () => {
  stripe = await FakeStripe.start();
  app = await startApp({ env: stripe.env() });
  db = app.t.db;
  staff = await signedInAs(db, app.config.accessTokenSecret, 'staff');
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

const cancel = (id: number) => app.client().request('POST', `/api/admin/orders/${id}/cancel`, { headers: staff.auth });
const auditOf = (id: number) => db('audit_log').where({ target_type: 'order', target_id: String(id) });

test('when staff cancel a pending order with a PaymentIntent, then Stripe cancels the intent first, stock comes back, and one audit row is written', async (t) => {
  const placed = await placePendingOrder(db, { label: 'Sc', price: '80.00', stock: 4, quantity: 2 }, stripe);
  const res = await cancel(placed.order.id);
  t.is(res.status, 200, res.text);
  t.is(res.body.status, 'canceled');
  t.is(res.body.payment.state, 'canceled');
  t.is(res.body.payment.payment_intent_id, placed.intent.id);
  t.is(stripe.intents.get(placed.intent.id)?.status, 'canceled');
  t.is(stripe.requestsTo('POST', `/v1/payment_intents/${placed.intent.id}/cancel`).length, 1);
  t.is(Number((await db('products').where('id', placed.productId).first()).stock), 4);
  const rows = await auditOf(placed.order.id);
  t.is(rows.length, 1);
  t.is(rows[0].action, 'order.cancel');
  t.is(rows[0].actor, String(staff.id));
});

test('when Stripe already has the payment, then the admin cancel is 409, the order is paid, and no audit row is written', async (t) => {
  const placed = await placePendingOrder(db, { label: 'Sp', price: '80.00', stock: 4, quantity: 1 }, stripe);
  stripe.setStatus(placed.intent.id, 'succeeded');
  const res = await cancel(placed.order.id);
  t.is(res.status, 409, res.text);
  t.is(res.body.error.code, 'INVALID_TRANSITION');
  t.is((await db('orders').where('id', placed.order.id).first()).status, 'paid');
  t.deepEqual(await auditOf(placed.order.id), []);
});
