/**
 * The old system made 41 duplicate lines and quantities beyond stock under 50 concurrent adds.
 * These fire real concurrent HTTP requests at the real app, on SQLite and on MariaDB.
 */
import test from 'ava';
import { startApp, type Res, type TestApp } from '../helpers/app.js';
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

async function customer() {
  const user = await signedInCustomer(app.t.db, app.config.accessTokenSecret, 'busy');
  return { id: user.id, post: (path: string, json: unknown) => app.client().post(path, json, user.auth) };
}

async function product(stock: number) {
  return createProduct(app.t.db, { name: `Busy watch ${++seq}`, price: '10.00', stock });
}

const lines = (userId: number, productId: number) =>
  app.t
    .db('cart_items')
    .where({ user_id: userId, product_id: productId })
    .select('quantity')
    .then((rows) => rows.map((r) => Number(r.quantity)));

const statusCounts = (results: Res[]) => {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
};

const times = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));

test.serial('when one user adds the same product 50 times at once with stock 10, then there is one line of 10 and 40 refusals', async (t) => {
  const u = await customer();
  const p = await product(10);
  const results = await times(50, () => u.post('/api/cart', { product_id: p.id, quantity: 1 }));

  t.deepEqual(statusCounts(results), { 200: 10, 409: 40 }, 'no 500s, no other statuses');
  for (const r of results.filter((r) => r.status === 409)) {
    t.is(r.body.error.code, 'OUT_OF_STOCK');
    t.deepEqual(r.body.error.details, [{ product_id: p.id, requested: 1, available: 0 }]);
  }
  t.deepEqual(await lines(u.id, p.id), [10], 'exactly one row, at the stock');
  t.is(Number((await app.t.db('products').where({ id: p.id }).first('stock')).stock), 10, 'the cart does not take stock');
});

test.serial('when one user adds the same product 50 times at once with stock 100, then there is one line whose quantity is the sum', async (t) => {
  const u = await customer();
  const p = await product(100);
  const results = await times(50, () => u.post('/api/cart', { product_id: p.id, quantity: 1 }));
  t.deepEqual(statusCounts(results), { 200: 50 });
  t.deepEqual(await lines(u.id, p.id), [50]);
});

test.serial('when adds of different sizes race for the last units, then the line is the sum of the accepted ones and never above stock', async (t) => {
  const u = await customer();
  const p = await product(40);
  const sizes = Array.from({ length: 30 }, (_, i) => (i % 5) + 1); // 90 asked for in total
  const results = await times(sizes.length, (i) => u.post('/api/cart', { product_id: p.id, quantity: sizes[i] }));
  const accepted = sizes.filter((_, i) => results[i].status === 200).reduce((a, b) => a + b, 0);
  t.deepEqual(Object.keys(statusCounts(results)).sort(), ['200', '409']);
  t.deepEqual(await lines(u.id, p.id), [accepted]);
  t.true(accepted <= 40);
  // Every refusal was right when it was made: what it asked for did not fit in what was left.
  for (const [i, r] of results.entries()) {
    if (r.status !== 409) continue;
    const [d] = r.body.error.details;
    t.is(d.requested, sizes[i]);
    t.true(d.available < d.requested && d.available >= 0);
  }
  // A refused size can only be refused if less than it was left at the end too.
  const refusedSmallest = Math.min(...sizes.filter((_, i) => results[i].status === 409));
  t.true(40 - accepted < refusedSmallest);
});

test.serial('when two users add the same product at once, then each gets a line of their own', async (t) => {
  const a = await customer();
  const b = await customer();
  const p = await product(30);
  const results = await times(40, (i) => (i % 2 ? a : b).post('/api/cart', { product_id: p.id, quantity: 1 }));
  t.deepEqual(statusCounts(results), { 200: 40 });
  t.deepEqual(await lines(a.id, p.id), [20]);
  t.deepEqual(await lines(b.id, p.id), [20]);
});

test.serial('when increments and decrements race on one line, then none is lost and the line never reaches 0', async (t) => {
  const u = await customer();
  const p = await product(100);
  await u.post('/api/cart', { product_id: p.id, quantity: 30 });
  const results = await times(40, (i) => u.post(i % 2 ? '/api/cart/increment' : '/api/cart/decrement', { product_id: p.id }));
  t.deepEqual(statusCounts(results), { 200: 40 });
  t.deepEqual(await lines(u.id, p.id), [30]);
});

test.serial('when a line of 5 is decremented 12 times at once, then 5 succeed, 7 are 404, and no row of quantity 0 is left', async (t) => {
  const u = await customer();
  const p = await product(10);
  await u.post('/api/cart', { product_id: p.id, quantity: 5 });
  const results = await times(12, () => u.post('/api/cart/decrement', { product_id: p.id }));
  t.deepEqual(statusCounts(results), { 200: 5, 404: 7 });
  t.deepEqual(await lines(u.id, p.id), []);
  t.deepEqual(await app.t.db('cart_items').where('quantity', '<=', 0).select('id'), []);
});
