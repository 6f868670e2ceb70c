/**
 * The orders service against a real database (SQLite, or MariaDB with TEST_DB=mysql): the state
 * moves the payments code and the CLI build on, and the lookups they use.
 */
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { AppError, type ErrorCode } from '../../src/errors.js';
import {
  attachPaymentIntent,
  cancelOrder,
  findOrderByPaymentIntent,
  getOrder,
  listOrders,
  listPendingOlderThan,
  markPaid,
  markStatus,
  parseOrderFilter,
} from '../../src/orders/orders.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createOrderFromCart, createProduct, createUser } from '../helpers/services.js';

let tdb: TestDatabase;
test.before(async () => {
  tdb = await createTestDatabase();
});
test.after.always(async () => {
  await tdb?.drop();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

async function user() {
  const n = ++seq;
  return createUser(tdb.db, { username: `o${run}_${n}`, email: `o${run}_${n}@example.com`, password: 'correct horse' });
}

async function product(price = '100.00', stock = 10) {
  return createProduct(tdb.db, { name: `Watch ${run} ${++seq}`, price, stock });
}

const stockOf = async (id: number) => Number((await tdb.db('products').where('id', id).first('stock')).stock);

/** A pending order of `quantity` units of a fresh product (stock 10). */
async function pendingOrder(quantity = 2) {
  const u = await user();
  const p = await product('100.00', 10);
  await tdb.db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity });
  const { order } = await createOrderFromCart(tdb.db, u.id);
  return { user: u, product: p, order };
}

async function rejects(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCode) {
  const err = await t.throwsAsync(promise, { instanceOf: AppError });
  t.is(err?.code, code, err?.message);
  return err;
}

test('when an order is paid, then it moves once, paid_at is set, and a second markPaid changes nothing', async (t) => {
  const { order } = await pendingOrder();
  const paidAt = new Date('2026-11-20T10:11:12.345Z');
  t.true(await markPaid(tdb.db, order.id, paidAt));
  t.false(await markPaid(tdb.db, order.id, new Date()));
  const now = await getOrder(tdb.db, order.id);
  t.is(now.status, 'paid');
  t.is(now.paid_at, '2026-11-20T10:11:12.345Z');
});

test('when an order goes paid → shipped → delivered, then each step is allowed once and nothing moves back', async (t) => {
  const { order } = await pendingOrder();
  await rejects(t, markStatus(tdb.db, order.id, 'shipped'), 'INVALID_TRANSITION'); // unpaid
  await rejects(t, markStatus(tdb.db, order.id, 'delivered'), 'INVALID_TRANSITION');
  t.true(await markPaid(tdb.db, order.id));
  t.is((await markStatus(tdb.db, order.id, 'shipped')).status, 'shipped');
  await rejects(t, markStatus(tdb.db, order.id, 'shipped'), 'INVALID_TRANSITION');
  await rejects(t, markStatus(tdb.db, order.id, 'canceled'), 'INVALID_TRANSITION');
  t.false(await markPaid(tdb.db, order.id));
  t.is((await markStatus(tdb.db, order.id, 'delivered')).status, 'delivered');
  await rejects(t, markStatus(tdb.db, order.id, 'shipped'), 'INVALID_TRANSITION');
  t.is((await getOrder(tdb.db, order.id)).status, 'delivered');
});

test('when a pending order is marked canceled, then stock comes back; canceling again is INVALID_TRANSITION and gives nothing more', async (t) => {
  const { order, product: p } = await pendingOrder(3);
  t.is(await stockOf(p.id), 7);
  t.is((await markStatus(tdb.db, order.id, 'canceled')).status, 'canceled');
  t.is(await stockOf(p.id), 10);
  await rejects(t, markStatus(tdb.db, order.id, 'canceled'), 'INVALID_TRANSITION');
  t.false(await cancelOrder(tdb.db, order.id));
  t.false(await markPaid(tdb.db, order.id), 'a canceled order cannot be paid');
  t.is(await stockOf(p.id), 10);
});

test('when a payment and a cancel race for one pending order, then exactly one of them wins and stock matches the winner', async (t) => {
  for (let round = 0; round < 5; round++) {
    const { order, product: p } = await pendingOrder(2);
    const [paid, canceled] = await Promise.all([markPaid(tdb.db, order.id), cancelOrder(tdb.db, order.id)]);
    t.true(paid !== canceled, `round ${round}: paid=${paid} canceled=${canceled}`);
    const now = await getOrder(tdb.db, order.id);
    t.is(now.status, paid ? 'paid' : 'canceled');
    t.is(await stockOf(p.id), paid ? 8 : 10);
  }
});

test("when cancelOrder runs in the caller's transaction and that transaction rolls back, then nothing changed", async (t) => {
  const { order, product: p } = await pendingOrder(2);
  await t.throwsAsync(
    tdb.db.transaction(async (trx) => {
      t.true(await cancelOrder(trx, order.id));
      throw new Error('caller gives up');
    }),
    { message: 'caller gives up' },
  );
  t.is((await getOrder(tdb.db, order.id)).status, 'pending');
  t.is(await stockOf(p.id), 8);
});

test('when a mark names an unknown state or a missing order, then VALIDATION_FAILED or NOT_FOUND', async (t) => {
  const { order } = await pendingOrder();
  await rejects(t, markStatus(tdb.db, order.id, 'paid' as never), 'VALIDATION_FAILED');
  await rejects(t, markStatus(tdb.db, 99_999_999, 'shipped'), 'NOT_FOUND');
  await rejects(t, getOrder(tdb.db, 99_999_999), 'NOT_FOUND');
});

test("when getOrder is given a user id, then another user's order is NOT_FOUND", async (t) => {
  const { order, user: owner } = await pendingOrder();
  const stranger = await user();
  t.is((await getOrder(tdb.db, order.id, { userId: owner.id })).id, order.id);
  await rejects(t, getOrder(tdb.db, order.id, { userId: stranger.id }), 'NOT_FOUND');
});

test('when a PaymentIntent is attached, then the order is found by it; the same id again is fine, another is a CONFLICT', async (t) => {
  const { order } = await pendingOrder();
  const other = (await pendingOrder()).order;
  const pi = `pi_${run}_${++seq}`;
  t.is(await findOrderByPaymentIntent(tdb.db, pi), undefined);
  await attachPaymentIntent(tdb.db, order.id, pi);
  await attachPaymentIntent(tdb.db, order.id, pi);
  t.like(await findOrderByPaymentIntent(tdb.db, pi), { id: order.id, payment_intent_id: pi });
  await rejects(t, attachPaymentIntent(tdb.db, order.id, `${pi}_x`), 'CONFLICT');
  await rejects(t, attachPaymentIntent(tdb.db, other.id, pi), 'CONFLICT');
  await rejects(t, attachPaymentIntent(tdb.db, 99_999_999, pi), 'NOT_FOUND');
  t.is((await getOrder(tdb.db, other.id)).payment_intent_id, null);
});

test('when pending orders are listed by age, then only pending ones created before the cutoff come, oldest first', async (t) => {
  const a = (await pendingOrder()).order;
  const b = (await pendingOrder()).order;
  const paid = (await pendingOrder()).order;
  await markPaid(tdb.db, paid.id);
  await tdb.db('orders').where('id', a.id).update({ created_at: '2026-01-01 08:00:00.000' });
  await tdb.db('orders').where('id', b.id).update({ created_at: '2026-01-01 09:00:00.000' });
  await tdb.db('orders').where('id', paid.id).update({ created_at: '2026-01-01 07:00:00.000' });

  // Other tests here run at the same time: look only at this test's orders.
  const ours = (orders: { id: number }[]) => orders.map((o) => o.id).filter((id) => [a.id, b.id, paid.id].includes(id));
  const old = await listPendingOlderThan(tdb.db, new Date('2026-01-01T08:30:00Z'));
  t.deepEqual(ours(old), [a.id]);
  t.deepEqual(ours(await listPendingOlderThan(tdb.db, new Date('2026-01-02T00:00:00Z'))), [a.id, b.id]);
  t.is(old.find((o) => o.id === a.id)?.items.length, 1);
});

test('when orders are listed by user, status and since, then the filters combine and total counts all matches', async (t) => {
  const { user: u, order: first } = await pendingOrder();
  const p = await product();
  await tdb.db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 1 });
  const second = (await createOrderFromCart(tdb.db, u.id)).order;
  await tdb.db('orders').where('id', first.id).update({ created_at: '2025-06-01 12:00:00.000' });

  const mine = await listOrders(tdb.db, { userId: u.id });
  t.is(mine.total, 2);
  t.deepEqual(
    mine.items.map((o) => o.id),
    [second.id, first.id],
  );
  const recent = await listOrders(tdb.db, { userId: u.id, since: parseOrderFilter({ since: '2026-01-01' }).since });
  t.deepEqual(
    recent.items.map((o) => o.id),
    [second.id],
  );
  t.is((await listOrders(tdb.db, { userId: u.id, status: 'paid' })).total, 0);
  const one = await listOrders(tdb.db, { userId: u.id, limit: 1 });
  t.is(one.items.length, 1);
  t.is(one.total, 2);
  await rejects(t, listOrders(tdb.db, { status: 'lost' }), 'VALIDATION_FAILED');
  for (const since of ['2026-13-45', '2026-02-30', '1.1.2026']) t.throws(() => parseOrderFilter({ since }), { instanceOf: AppError }, since);
  t.throws(() => parseOrderFilter({ limit: '0' }), { instanceOf: AppError });
});

test('when a cart line’s product is removed before ordering, then its line leaves with it (cascade) and the rest is ordered', async (t) => {
  const u = await user();
  const kept = await product('10.00', 5);
  const gone = await product('20.00', 5);
  await tdb.db('cart_items').insert([
    { user_id: u.id, product_id: kept.id, quantity: 1 },
    { user_id: u.id, product_id: gone.id, quantity: 1 },
  ]);
  await tdb.db('products').where('id', gone.id).delete();
  const { order } = await createOrderFromCart(tdb.db, u.id);
  t.deepEqual(
    order.items.map((i) => i.product_id),
    [kept.id],
  );
  t.is(order.total_cents, 1000);
});

test('when two products at the top price (99,999,999.99) are ordered, then the total is exact and every cents value is a JS number', async (t) => {
  const u = await user();
  const a = await product('99999999.99', 5);
  const b = await product('99999999.99', 5);
  t.is(a.price_cents, 9_999_999_999);
  await tdb.db('cart_items').insert([
    { user_id: u.id, product_id: a.id, quantity: 1 },
    { user_id: u.id, product_id: b.id, quantity: 1 },
  ]);
  const { order } = await createOrderFromCart(tdb.db, u.id);
  t.is(order.total_cents, 19_999_999_998);
  t.is(order.total, 199_999_999.98);
  const again = await getOrder(tdb.db, order.id);
  t.is(typeof again.total_cents, 'number');
  t.is(again.total_cents, 19_999_999_998);
  t.deepEqual(
    again.items.map((i) => [typeof i.unit_price_cents, i.unit_price_cents, i.line_total_cents]),
    [
      ['number', 9_999_999_999, 9_999_999_999],
      ['number', 9_999_999_999, 9_999_999_999],
    ],
  );
  t.is(again.currency, 'usd');
  const [listed] = (await listOrders(tdb.db, { userId: u.id })).items;
  t.is(listed?.total_cents, 19_999_999_998);
});

test('when a pending order that has a PaymentIntent is marked canceled here, then it is refused (that cancel goes through Stripe) and nothing changes', async (t) => {
  const { order, product: p } = await pendingOrder(1);
  await attachPaymentIntent(tdb.db, order.id, `pi_mark_${order.id}`);
  await rejects(t, markStatus(tdb.db, order.id, 'canceled'), 'INVALID_TRANSITION');
  t.is((await getOrder(tdb.db, order.id)).status, 'pending');
  t.is(await stockOf(p.id), 9);
});
