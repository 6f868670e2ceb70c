/**
 * The cart service against a real database (SQLite, or MariaDB with TEST_DB=mysql), without HTTP:
 * what a CLI or another service calling it directly gets, and the guarded statements racing
 * straight through the connection pool.
 */
import test from 'ava';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { addToCart, changeStock, clearCart, createProduct, createUser, decrementLine, getCart, incrementLine, removeFromCart } from '../helpers/services.js';

let tdb: TestDatabase;
test.before(async () => {
  tdb = await createTestDatabase();
});
test.after.always(async () => {
  await tdb?.drop();
});

let seq = 0;
const user = async () => (await createUser(tdb.db, { username: `svc_${++seq}`, email: `svc${seq}@example.com`, password: 'correct horse 1' })).id;
const product = async (stock: number, price = '5.00') => (await createProduct(tdb.db, { name: `Service watch ${++seq}`, price, stock })).id;

async function rejects(t: import('ava').ExecutionContext, p: Promise<unknown>, code: ErrorCode) {
  const err = await t.throwsAsync(p);
  t.true(err instanceof AppError, String(err));
  t.is((err as AppError).code, code);
  return err as AppError;
}

test('when the service is given bad input, then it refuses with VALIDATION_FAILED before touching the database', async (t) => {
  const u = await user();
  const p = await product(5);
  const err = await rejects(t, addToCart(tdb.db, u, { product_id: p, quantity: 0 }), 'VALIDATION_FAILED');
  t.is(err.details?.[0].path, 'quantity');
  await rejects(t, addToCart(tdb.db, u, { product_id: 'x' }), 'VALIDATION_FAILED');
  await rejects(t, incrementLine(tdb.db, u, {}), 'VALIDATION_FAILED');
  t.deepEqual((await getCart(tdb.db, u, 'eur')).items, []);
});

test('when the whole flow runs through the service, then each step leaves the cart it reports', async (t) => {
  const u = await user();
  const p = await product(3, '19.99');
  t.like(await addToCart(tdb.db, u, { product_id: p }, 'eur'), { count: 1, total_cents: 1999, currency: 'eur' });
  t.like(await incrementLine(tdb.db, u, { product_id: p }), { count: 2, total_cents: 3998 });
  await rejects(t, addToCart(tdb.db, u, { product_id: p, quantity: 2 }), 'OUT_OF_STOCK');
  t.like(await decrementLine(tdb.db, u, { product_id: p }), { count: 1 });
  t.like(await removeFromCart(tdb.db, u, p), { count: 0, items: [] });
  await rejects(t, removeFromCart(tdb.db, u, p), 'NOT_FOUND');
  await addToCart(tdb.db, u, { product_id: p });
  t.like(await clearCart(tdb.db, u), { count: 0 });
});

test('when stock drops below what a cart holds, then adding more is refused with nothing available, and decrementing still works', async (t) => {
  const u = await user();
  const p = await product(5);
  await addToCart(tdb.db, u, { product_id: p, quantity: 4 });
  await changeStock(tdb.db, p, '2');
  const err = await rejects(t, addToCart(tdb.db, u, { product_id: p }), 'OUT_OF_STOCK');
  t.deepEqual(err.details, [{ product_id: p, requested: 1, available: 0 }]);
  await rejects(t, incrementLine(tdb.db, u, { product_id: p }), 'OUT_OF_STOCK');
  t.like((await decrementLine(tdb.db, u, { product_id: p })).items[0], { quantity: 3, stock: 2 });
});

test('when 40 first adds race through the pool, then one line holds the sum up to the stock', async (t) => {
  const u = await user();
  const p = await product(25);
  const results = await Promise.allSettled(Array.from({ length: 40 }, () => addToCart(tdb.db, u, { product_id: p })));
  const refused = results.filter((r) => r.status === 'rejected');
  t.is(results.length - refused.length, 25);
  for (const r of refused) t.is(((r as PromiseRejectedResult).reason as AppError).code, 'OUT_OF_STOCK');
  const rows = await tdb.db('cart_items').where({ user_id: u, product_id: p }).select('quantity');
  t.deepEqual(
    rows.map((r) => Number(r.quantity)),
    [25],
  );
});
