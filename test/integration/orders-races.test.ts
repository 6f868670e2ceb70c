/**
 * Order creation meeting another writer: the shop owner changing a price (in the CLI, another
 * process) while a buyer's order is in flight.
 */
import test from 'ava';
import { createDb, type Db } from '../../src/db/connection.js';
import { createOrderFromCart } from '../../src/orders/orders.service.js';
import { productsRepository as products } from '../../src/products/products.repository.js';
import { usersRepository as users } from '../../src/users/users.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let tdb: TestDatabase;
let other: Db;
test.before(async () => {
  tdb = await createTestDatabase();
  other = createDb(tdb.config);
});
test.after.always(async () => {
  await other?.destroy();
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
  const owner = await other.transaction();
  try {
    await owner('products').where({ id: productId }).update({ price_cents: 100_000, version: owner.raw('version + 1') });
    const ordering = createOrderFromCart(tdb.db, userId);
    // The owner's change commits while the order is in flight (it cannot take the watch's row
    // before then); the order must not keep the price it could have seen before the commit.
    await new Promise((r) => setTimeout(r, 300));
    await owner.commit();
    const { order } = await ordering;
    t.is(order.items[0].unit_price_cents, 100_000);
    t.is(order.total_cents, 100_000);
  } finally {
    if (!owner.isCompleted()) await owner.rollback();
  }
});

test.serial('when another connection holds the write lock for a while, then the order waits for it instead of failing', async (t) => {
  const { productId, userId } = await buyerWithWatchInCart(5_000);
  const owner = await other.transaction();
  await owner('products').where({ id: productId }).update({ stock: 4, version: owner.raw('version + 1') });
  const ordering = createOrderFromCart(tdb.db, userId);
  // Longer than the transaction retries' whole budget: only a real wait for the lock gets through.
  const release = setTimeout(() => void owner.commit(), 1200);
  try {
    const { order } = await ordering;
    t.is(order.status, 'pending');
    t.is(Number((await tdb.db('products').where({ id: productId }).first()).stock), 3);
  } finally {
    clearTimeout(release);
    if (!owner.isCompleted()) await owner.rollback();
  }
});
