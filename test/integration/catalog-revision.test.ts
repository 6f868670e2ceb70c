/**
 * The catalog revision guards the cached listing (docs/data.md): every write to products raises
 * it in the write's own transaction — product changes, the catalog reset, an order's stock take
 * and a cancel's stock return — and a write that rolls back leaves it where it was.
 */
import test from 'ava';
import { cancelOrder } from '../../src/orders/orders.service.js';
import { seedCatalog } from '../../src/products/catalog.service.js';
import { productsRepository as repo } from '../../src/products/products.repository.js';
import { changeStock, createProduct, removeProduct, updateProduct } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { placePendingOrder } from '../helpers/orders.js';

let tdb: TestDatabase;
test.before(async () => {
  tdb = await createTestDatabase();
});
test.after.always(async () => {
  await tdb?.drop();
});

test.serial('when a product is added and then removed again, then the revision never returns to an earlier value', async (t) => {
  const seen = [await repo.revision(tdb.db)];
  const p = await createProduct(tdb.db, { name: 'Added by mistake', price: '10.00', stock: 1 });
  seen.push(await repo.revision(tdb.db));
  await removeProduct(tdb.db, p.id);
  seen.push(await repo.revision(tdb.db));
  t.is(new Set(seen).size, 3, `revisions: ${seen.join(' → ')}`);
});

test.serial('when any product changes (price, stock, text, the whole catalog reset), then the revision moves every time', async (t) => {
  const p = await createProduct(tdb.db, { name: 'Revisioned', price: '10.00', stock: 5 });
  const seen = [await repo.revision(tdb.db)];
  const steps: (() => Promise<unknown>)[] = [
    () => updateProduct(tdb.db, p.id, { price: '11.00' }),
    () => changeStock(tdb.db, p.id, '-1'),
    () => changeStock(tdb.db, p.id, '+1'),
    () => changeStock(tdb.db, p.id, '7'),
    () => updateProduct(tdb.db, p.id, { description: 'now with a description' }),
    () => seedCatalog(tdb.db, { reset: true }),
  ];
  for (const step of steps) {
    await step();
    seen.push(await repo.revision(tdb.db));
  }
  t.is(new Set(seen).size, seen.length, `revisions: ${seen.join(' → ')}`);
});

test.serial('when an order takes stock and its cancel returns it, then the revision moves each time', async (t) => {
  const before = await repo.revision(tdb.db);
  const { order } = await placePendingOrder(tdb.db, { label: 'Rev', price: '20.00', stock: 3, quantity: 2 });
  const afterOrder = await repo.revision(tdb.db);
  t.not(afterOrder, before);
  t.true(await cancelOrder(tdb.db, order.id));
  t.not(await repo.revision(tdb.db), afterOrder);
});

test.serial('when a write to products rolls back, then the revision stays where it was', async (t) => {
  const p = await createProduct(tdb.db, { name: 'Rolled back', price: '10.00', stock: 5 });
  const before = await repo.revision(tdb.db);
  await t.throwsAsync(
    tdb.db.transaction(async (trx) => {
      await repo.adjustStock(trx, p.id, -1);
      throw new Error('changed my mind');
    }),
    { message: 'changed my mind' },
  );
  t.is(await repo.revision(tdb.db), before);
  t.is((await repo.findById(tdb.db, p.id))?.stock, 5);
});
