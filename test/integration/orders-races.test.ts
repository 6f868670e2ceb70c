/**
 * Order creation meeting another writer: the shop owner changing a price (in the CLI, another
 * process) while a buyer's order is in flight.
 */
import test from 'ava';
import { productsRepository as products } from '../../src/products/products.repository.js';
import { usersRepository as users } from '../../src/users/users.repository.js';
import { createTestDatabase, holdWriteLock, type TestDatabase } from '../helpers/db.js';
import { createOrderFromCart } from '../helpers/services.js';

let tdb: TestDatabase;
test.before(async () => {
  tdb = await createTestDatabase();
});
test.after.always(async () => {
  await tdb?.drop();
});

let seq = 0;
async function buyerWithWatchInCart(priceCents: number) {
  const n = ++seq;
  const productId = await products.insert(tdb.db, { name: `Race watch ${n}`, description: null, price_cents: priceCents, stock: 5, image_url: null });
  const userId = await users.insert(tdb.db, { username: `racer${n}`, email: `racer${n}@example.com`, password_hash: 'not-a-hash', role: 'customer' });
  await tdb.db('cart_items').insert({ user_id: userId, product_id: productId, quantity: 1 });
  return { productId, userId };
}

test.serial('when the price changes while the order waits for the watch, then the order keeps the price committed before it took the stock', async (t) => {
  const { productId, userId } = await buyerWithWatchInCart(10_000);
  // The owner's change commits while the order is in flight (it cannot take the watch's row
  // before then); the order must not keep the price it could have seen before the commit.
  const owner = await holdWriteLock(tdb, {
    ms: 300,
    sql: 'UPDATE products SET price_cents = 100000 WHERE id = ?',
    bindings: [productId],
  });
  const { order } = await createOrderFromCart(tdb.db, userId);
  await owner.released;
  t.is(order.items[0].unit_price_cents, 100_000);
  t.is(order.total_cents, 100_000);
});

test.serial('when another process holds the write lock for a while, then the order waits for it instead of failing', async (t) => {
  const { productId, userId } = await buyerWithWatchInCart(5_000);
  // Longer than the transaction retries' whole budget: only a real wait for the lock gets through.
  const owner = await holdWriteLock(tdb, { ms: 1200, sql: 'UPDATE products SET stock = 4 WHERE id = ?', bindings: [productId] });
  const started = Date.now();
  const { order } = await createOrderFromCart(tdb.db, userId);
  await owner.released;
  t.is(order.status, 'pending');
  t.is(Number((await tdb.db('products').where({ id: productId }).first()).stock), 3);
  // It got the lock when the owner let go, not after giving up and trying again.
  t.true(Date.now() - started < 4000, `${Date.now() - started} ms`);
});
