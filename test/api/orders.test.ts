/**
 * Orders over real HTTP, on SQLite or MariaDB (TEST_DB=mysql): the cart becomes an order with no
 * oversell under real concurrency, Idempotency-Key, ownership, cancel, listing.
 *
 * Cart lines are put in with plain inserts (the cart API is someone else's module); everything
 * about orders goes through the HTTP API. The load tests run serially, first, so their throughput
 * figures are not mixed with other tests' traffic.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { markPaid } from '../../src/orders/orders.service.js';
import { startApp, type Client, type Res, type TestApp } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { createProduct, updateProduct } from '../helpers/services.js';

let app: TestApp;
let db: Db;
let client: Client;

test.before(async () => {
  app = await startApp();
  db = app.t.db;
  client = app.client();
});
test.after.always(async () => {
  await app?.close();
});

/* ---------------------------------------------------------------- fixtures */

const run = randomBytes(3).toString('hex');
let seq = 0;

interface Buyer {
  id: number;
  auth: Record<string, string>;
}

async function buyer(): Promise<Buyer> {
  return signedInCustomer(db, app.config.accessTokenSecret, 'b');
}

async function buyers(count: number): Promise<Buyer[]> {
  const out: Buyer[] = [];
  // A few at a time: bcrypt runs on the thread pool either way.
  for (let i = 0; i < count; i += 20) out.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, () => buyer()))));
  return out;
}

async function product(price: string, stock: number) {
  return createProduct(db, { name: `Watch ${run} ${++seq}`, price, stock });
}

async function putInCart(userId: number, productId: number, quantity = 1) {
  await db('cart_items').insert({ user_id: userId, product_id: productId, quantity });
}

async function cartOf(userId: number): Promise<Array<{ product_id: number; quantity: number }>> {
  const rows = await db('cart_items').select('product_id', 'quantity').where('user_id', userId).orderBy('product_id');
  return rows.map((r) => ({ product_id: Number(r.product_id), quantity: Number(r.quantity) }));
}

async function stockOf(productId: number): Promise<number> {
  const row = await db('products').where('id', productId).first('stock');
  return Number(row.stock);
}

async function orderRowsOf(userId: number) {
  return db('orders').where('user_id', userId).orderBy('id');
}

function order(b: Buyer, headers: Record<string, string> = {}, body?: unknown): Promise<Res> {
  return client.post('/api/orders', body, { ...b.auth, ...headers });
}

function tally(responses: Res[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/* ---------------------------------------------------------------- no oversell under load */

test.serial(
  'when 200 buyers order the last 10 watches at once, then exactly 10 get one, stock is 0 and the other 190 get a clean 409 with their cart untouched',
  async (t) => {
    const watch = await product('1299.99', 10);
    const people = await buyers(200);
    for (const p of people) await putInCart(p.id, watch.id, 1);

    const started = performance.now();
    const responses = await Promise.all(people.map((p) => order(p)));
    const seconds = (performance.now() - started) / 1000;
    t.log(`${app.t.dialect}: 200 order attempts against stock 10 in ${(seconds * 1000).toFixed(0)} ms (${(200 / seconds).toFixed(0)} requests/s)`);

    const counts = tally(responses);
    t.deepEqual(counts, { 201: 10, 409: 190 }, JSON.stringify(counts));
    t.is(await stockOf(watch.id), 0);

    const [{ n: ordered }] = await db('order_items').where('product_id', watch.id).sum({ n: 'quantity' });
    t.is(Number(ordered), 10, 'ten units ordered in all');
    const [{ n: orderCount }] = await db('orders')
      .whereIn(
        'user_id',
        people.map((p) => p.id),
      )
      .count({ n: '*' });
    t.is(Number(orderCount), 10, 'ten orders in the database');

    for (const [i, res] of responses.entries()) {
      const cart = await cartOf(people[i].id);
      if (res.status === 201) {
        t.is(res.body.status, 'pending');
        t.is(res.body.total_cents, 129999);
        t.deepEqual(cart, [], 'a winner’s cart is emptied');
      } else {
        t.is(res.body.error.code, 'OUT_OF_STOCK');
        t.deepEqual(res.body.error.details, [{ product_id: watch.id, requested: 1, available: 0 }]);
        t.deepEqual(cart, [{ product_id: watch.id, quantity: 1 }], 'a loser’s cart is as it was');
      }
    }
  },
);

test.serial('when 200 buyers order at once with stock for all, then every order succeeds and stock drops by exactly 200', async (t) => {
  const watch = await product('250.00', 1000);
  const people = await buyers(200);
  for (const p of people) await putInCart(p.id, watch.id, 1);

  const started = performance.now();
  const responses = await Promise.all(people.map((p) => order(p)));
  const seconds = (performance.now() - started) / 1000;
  t.log(`${app.t.dialect}: 200 orders (no oversell) in ${(seconds * 1000).toFixed(0)} ms = ${(200 / seconds).toFixed(0)} orders/s`);

  t.deepEqual(tally(responses), { 201: 200 });
  t.is(await stockOf(watch.id), 800);
  t.is(new Set(responses.map((r) => r.body.id)).size, 200, '200 distinct orders');
});

test.serial('when the same Idempotency-Key is sent 10 times at once, then there is one order and all 10 answers carry its id', async (t) => {
  const b = await buyer();
  const watch = await product('499.00', 5);
  await putInCart(b.id, watch.id, 2);

  const responses = await Promise.all(Array.from({ length: 10 }, () => order(b, { 'Idempotency-Key': 'checkout-1' })));

  t.deepEqual(tally(responses), { 201: 1, 200: 9 });
  const ids = new Set(responses.map((r) => r.body.id));
  t.is(ids.size, 1);
  t.true(Number.isInteger([...ids][0]));
  t.is((await orderRowsOf(b.id)).length, 1);
  t.is(await stockOf(watch.id), 3, 'stock taken once');
  for (const r of responses.filter((x) => x.status === 200)) t.is(r.headers.get('idempotent-replayed'), 'true');
});

test.serial(
  'when the same Idempotency-Key is sent 10 times at once and the stock is short, then all 10 get a clean 409 OUT_OF_STOCK and nothing changes',
  async (t) => {
    // The first attempt rolls back while the others wait on its key: on MariaDB the waiters then
    // collide (a deadlock between them) and must be retried, never surface as a 500.
    const b = await buyer();
    const watch = await product('499.00', 1);
    await putInCart(b.id, watch.id, 2);

    const responses = await Promise.all(Array.from({ length: 10 }, () => order(b, { 'Idempotency-Key': 'short-1' })));

    t.deepEqual(tally(responses), { 409: 10 });
    for (const r of responses) t.is(r.body.error.code, 'OUT_OF_STOCK');
    t.is((await orderRowsOf(b.id)).length, 0);
    t.is(await stockOf(watch.id), 1);
    t.deepEqual(await cartOf(b.id), [{ product_id: watch.id, quantity: 2 }]);
  },
);

/* ---------------------------------------------------------------- creating */

test('when a signed-in buyer orders their cart, then a pending order with catalog names and prices comes back and the cart is empty', async (t) => {
  const b = await buyer();
  const a = await product('1299.99', 5);
  const c = await product('15.50', 10);
  await putInCart(b.id, a.id, 2);
  await putInCart(b.id, c.id, 3);

  const res = await order(b);

  t.is(res.status, 201);
  t.like(res.body, { status: 'pending', total_cents: 2 * 129999 + 3 * 1550, total: 2646.48, currency: 'usd', paid_at: null });
  t.deepEqual(res.body.items, [
    { product_id: a.id, name: a.name, unit_price: 1299.99, unit_price_cents: 129999, quantity: 2, line_total: 2599.98, line_total_cents: 259998 },
    { product_id: c.id, name: c.name, unit_price: 15.5, unit_price_cents: 1550, quantity: 3, line_total: 46.5, line_total_cents: 4650 },
  ]);
  t.false('user_id' in res.body);
  t.false('payment_intent_id' in res.body);
  t.regex(res.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.is(await stockOf(a.id), 3);
  t.is(await stockOf(c.id), 7);
  t.deepEqual(await cartOf(b.id), []);

  const again = await client.get(`/api/orders/${res.body.id}`, b.auth);
  t.is(again.status, 200);
  t.deepEqual(again.body, res.body);
});

test('when the second line of a two-line cart is short, then 409 OUT_OF_STOCK names it and nothing changes', async (t) => {
  const b = await buyer();
  const plenty = await product('100.00', 10);
  const scarce = await product('200.00', 2);
  await putInCart(b.id, plenty.id, 1);
  await putInCart(b.id, scarce.id, 3);

  const res = await order(b);

  t.is(res.status, 409);
  t.is(res.body.error.code, 'OUT_OF_STOCK');
  t.deepEqual(res.body.error.details, [{ product_id: scarce.id, requested: 3, available: 2 }]);
  t.is((await orderRowsOf(b.id)).length, 0, 'no order');
  t.is(await stockOf(plenty.id), 10, 'the first line’s stock is back as it was');
  t.is(await stockOf(scarce.id), 2);
  t.deepEqual(await cartOf(b.id), [
    { product_id: plenty.id, quantity: 1 },
    { product_id: scarce.id, quantity: 3 },
  ]);
});

test('when several lines are short, then the details list every short line', async (t) => {
  const b = await buyer();
  const x = await product('10.00', 1);
  const y = await product('10.00', 5);
  const z = await product('10.00', 0);
  for (const [p, q] of [
    [x, 2],
    [y, 1],
    [z, 1],
  ] as const)
    await putInCart(b.id, p.id, q);

  const res = await order(b);

  t.is(res.status, 409);
  t.deepEqual(
    [...res.body.error.details].sort((m: { product_id: number }, n: { product_id: number }) => m.product_id - n.product_id),
    [
      { product_id: x.id, requested: 2, available: 1 },
      { product_id: z.id, requested: 1, available: 0 },
    ],
  );
  t.is(await stockOf(y.id), 5);
});

test('when the cart is empty, then 400 EMPTY_CART and no order', async (t) => {
  const b = await buyer();
  const res = await order(b);
  t.is(res.status, 400);
  t.is(res.body.error.code, 'EMPTY_CART');
  t.is((await orderRowsOf(b.id)).length, 0);
});

test('when nobody is signed in, then ordering is 401', async (t) => {
  const res = await client.post('/api/orders');
  t.is(res.status, 401);
  t.is(res.body.error.code, 'UNAUTHENTICATED');
});

test('when the body names a price, total or another user, then they are ignored', async (t) => {
  const b = await buyer();
  const other = await buyer();
  const watch = await product('640.00', 4);
  await putInCart(b.id, watch.id, 1);

  const res = await order(
    b,
    {},
    {
      user_id: other.id,
      total: 0.01,
      total_cents: 1,
      price: 0.01,
      status: 'paid',
      items: [{ product_id: watch.id, quantity: 4, unit_price_cents: 1 }],
    },
  );

  t.is(res.status, 201);
  t.is(res.body.status, 'pending');
  t.is(res.body.total_cents, 64000);
  t.deepEqual(
    res.body.items.map((i: { quantity: number; unit_price_cents: number }) => [i.quantity, i.unit_price_cents]),
    [[1, 64000]],
  );
  t.is((await orderRowsOf(b.id)).length, 1);
  t.is((await orderRowsOf(other.id)).length, 0);
  t.is(await stockOf(watch.id), 3);
});

test('when the price changes between cart and order, then the order uses the price at order time; a later change does not touch the order', async (t) => {
  const b = await buyer();
  const watch = await product('300.00', 3);
  await putInCart(b.id, watch.id, 2);
  await updateProduct(db, watch.id, { price: '350.00' });

  const res = await order(b);
  t.is(res.status, 201);
  t.is(res.body.items[0].unit_price_cents, 35000);
  t.is(res.body.total_cents, 70000);

  await updateProduct(db, watch.id, { price: '1.00', name: 'Renamed' });
  const later = await client.get(`/api/orders/${res.body.id}`, b.auth);
  t.is(later.body.total_cents, 70000);
  t.is(later.body.items[0].unit_price_cents, 35000);
  t.is(later.body.items[0].name, watch.name);
});

/* ---------------------------------------------------------------- idempotency */

test('when a key is reused with a different cart, then 409 IDEMPOTENCY_KEY_REUSED and nothing changes', async (t) => {
  const b = await buyer();
  const first = await product('100.00', 5);
  const second = await product('200.00', 5);
  await putInCart(b.id, first.id, 1);
  t.is((await order(b, { 'Idempotency-Key': 'k-1' })).status, 201);

  await putInCart(b.id, second.id, 1);
  const res = await order(b, { 'Idempotency-Key': 'k-1' });

  t.is(res.status, 409);
  t.is(res.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  t.is((await orderRowsOf(b.id)).length, 1);
  t.is(await stockOf(second.id), 5);
  t.deepEqual(await cartOf(b.id), [{ product_id: second.id, quantity: 1 }]);
});

test('when a key is replayed with the same lines in the cart again, then the first order comes back and nothing changes', async (t) => {
  const b = await buyer();
  const watch = await product('100.00', 5);
  await putInCart(b.id, watch.id, 2);
  const first = await order(b, { 'Idempotency-Key': 'same-cart' });
  t.is(first.status, 201);

  await putInCart(b.id, watch.id, 2);
  const replay = await order(b, { 'Idempotency-Key': 'same-cart' });

  t.is(replay.status, 200);
  t.deepEqual(replay.body, first.body);
  t.is(await stockOf(watch.id), 3);
  t.deepEqual(await cartOf(b.id), [{ product_id: watch.id, quantity: 2 }]);
});

test('when two users send the same key, then each gets their own order', async (t) => {
  const [b1, b2] = await buyers(2);
  const watch = await product('100.00', 5);
  await putInCart(b1.id, watch.id, 1);
  await putInCart(b2.id, watch.id, 1);
  const r1 = await order(b1, { 'Idempotency-Key': 'shared-key' });
  const r2 = await order(b2, { 'Idempotency-Key': 'shared-key' });
  t.is(r1.status, 201);
  t.is(r2.status, 201);
  t.not(r1.body.id, r2.body.id);
});

test('when an attempt fails (empty cart), then its key is not used up', async (t) => {
  const b = await buyer();
  const watch = await product('100.00', 5);
  t.is((await order(b, { 'Idempotency-Key': 'retry-me' })).body.error.code, 'EMPTY_CART');
  await putInCart(b.id, watch.id, 1);
  t.is((await order(b, { 'Idempotency-Key': 'retry-me' })).status, 201);
});

test('when the Idempotency-Key is empty or longer than 100 characters, then 400 VALIDATION_FAILED', async (t) => {
  const b = await buyer();
  const watch = await product('100.00', 5);
  await putInCart(b.id, watch.id, 1);
  for (const key of ['', 'x'.repeat(101)]) {
    const res = await order(b, { 'Idempotency-Key': key });
    t.is(res.status, 400, `key of ${key.length}`);
    t.is(res.body.error.code, 'VALIDATION_FAILED');
  }
  t.is((await orderRowsOf(b.id)).length, 0);
  t.is((await order(b, { 'Idempotency-Key': 'y'.repeat(100) })).status, 201);
});

/* ---------------------------------------------------------------- reading */

test("when a buyer asks for another user's order or a bad id, then 404", async (t) => {
  const [owner, stranger] = await buyers(2);
  const watch = await product('100.00', 5);
  await putInCart(owner.id, watch.id, 1);
  const placed = await order(owner);

  for (const path of [`/api/orders/${placed.body.id}`, '/api/orders/abc', '/api/orders/0', '/api/orders/-1', '/api/orders/99999999']) {
    const res = await client.get(path, stranger.auth);
    t.is(res.status, 404, path);
    t.is(res.body.error.code, 'NOT_FOUND');
  }
  // Even the owner's own order is only found by its id written plainly.
  const id = placed.body.id;
  for (const path of [`/api/orders/${id}.0`, `/api/orders/0${id}`, `/api/orders/0x${id.toString(16)}`, `/api/orders/${id}e0`, `/api/orders/%20${id}`]) {
    const res = await client.get(path, owner.auth);
    t.is(res.status, 404, path);
  }
  t.is((await client.get(`/api/orders/${id}`, owner.auth)).status, 200);
  const cancel = await client.post(`/api/orders/${placed.body.id}/cancel`, undefined, stranger.auth);
  t.is(cancel.status, 404);
  t.is(await stockOf(watch.id), 4, "a stranger's cancel gives nothing back");
});

test('when a buyer lists orders, then only their own come, newest first, filtered by status and paged', async (t) => {
  const [b, other] = await buyers(2);
  const watch = await product('100.00', 50);
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) {
    await putInCart(b.id, watch.id, i + 1);
    ids.push((await order(b)).body.id);
  }
  await putInCart(other.id, watch.id, 1);
  await order(other);
  t.is((await client.post(`/api/orders/${ids[1]}/cancel`, undefined, b.auth)).status, 200);

  const all = await client.get('/api/orders', b.auth);
  t.is(all.status, 200);
  t.like(all.body, { total: 3, limit: 20, offset: 0 });
  t.deepEqual(
    all.body.items.map((o: { id: number }) => o.id),
    [...ids].reverse(),
  );

  const canceled = await client.get('/api/orders?status=canceled', b.auth);
  t.deepEqual(
    canceled.body.items.map((o: { id: number }) => o.id),
    [ids[1]],
  );
  t.is(canceled.body.total, 1);
  const pending = await client.get('/api/orders?status=pending', b.auth);
  t.deepEqual(
    pending.body.items.map((o: { id: number }) => o.id),
    [ids[2], ids[0]],
  );

  const page1 = await client.get('/api/orders?limit=2', b.auth);
  t.like(page1.body, { total: 3, limit: 2, offset: 0 });
  t.deepEqual(
    page1.body.items.map((o: { id: number }) => o.id),
    [ids[2], ids[1]],
  );
  const page2 = await client.get('/api/orders?limit=2&offset=2', b.auth);
  t.like(page2.body, { total: 3, limit: 2, offset: 2 });
  t.deepEqual(
    page2.body.items.map((o: { id: number }) => o.id),
    [ids[0]],
  );

  // Empty parameters mean "not given".
  const blank = await client.get('/api/orders?status=&limit=&offset=', b.auth);
  t.is(blank.status, 200, blank.text);
  t.like(blank.body, { total: 3, limit: 20, offset: 0 });
  t.deepEqual(
    blank.body.items.map((o: { id: number }) => o.id),
    [...ids].reverse(),
  );

  for (const q of ['status=lost', 'limit=0', 'limit=101', 'offset=-1']) {
    const res = await client.get(`/api/orders?${q}`, b.auth);
    t.is(res.status, 400, q);
    t.is(res.body.error.code, 'VALIDATION_FAILED');
  }
});

/* ---------------------------------------------------------------- cancel */

test('when a pending order is canceled twice, then stock comes back once and the second cancel is 409 INVALID_TRANSITION', async (t) => {
  const b = await buyer();
  const watch = await product('100.00', 5);
  await putInCart(b.id, watch.id, 2);
  const placed = await order(b);
  t.is(await stockOf(watch.id), 3);

  const first = await client.post(`/api/orders/${placed.body.id}/cancel`, undefined, b.auth);
  t.is(first.status, 200);
  t.is(first.body.status, 'canceled');
  t.is(await stockOf(watch.id), 5);

  const second = await client.post(`/api/orders/${placed.body.id}/cancel`, undefined, b.auth);
  t.is(second.status, 409);
  t.is(second.body.error.code, 'INVALID_TRANSITION');
  t.is(await stockOf(watch.id), 5);
});

test('when 10 cancels of one order arrive at once, then exactly one succeeds and stock comes back once', async (t) => {
  const b = await buyer();
  const watch = await product('100.00', 5);
  await putInCart(b.id, watch.id, 3);
  const placed = await order(b);

  const responses = await Promise.all(Array.from({ length: 10 }, () => client.post(`/api/orders/${placed.body.id}/cancel`, undefined, b.auth)));

  t.deepEqual(tally(responses), { 200: 1, 409: 9 });
  t.is(await stockOf(watch.id), 5);
});

test('when a paid order is canceled, then 409 INVALID_TRANSITION and it stays paid', async (t) => {
  const b = await buyer();
  const watch = await product('100.00', 5);
  await putInCart(b.id, watch.id, 1);
  const placed = await order(b);
  t.true(await markPaid(db, placed.body.id));

  const res = await client.post(`/api/orders/${placed.body.id}/cancel`, undefined, b.auth);
  t.is(res.status, 409);
  t.is(res.body.error.code, 'INVALID_TRANSITION');
  const now = await client.get(`/api/orders/${placed.body.id}`, b.auth);
  t.is(now.body.status, 'paid');
  t.truthy(now.body.paid_at);
  t.is(await stockOf(watch.id), 4);
});
