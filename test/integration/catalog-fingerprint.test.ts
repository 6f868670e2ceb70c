/**
 * The catalog fingerprint guards the cached listing: it must move on every change to products,
 * and never come back to an earlier value (a page rendered in between would then pass as fresh).
 */
import test from 'ava';
import { productsRepository as repo } from '../../src/products/products.repository.js';
import { seedCatalog } from '../../src/products/catalog.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { changeStock, createProduct, removeProduct, updateProduct } from '../helpers/services.js';

let tdb: TestDatabase;
test.before(async () => {
  tdb = await createTestDatabase();
});
test.after.always(async () => {
  await tdb?.drop();
});

test.serial('when a product is added and then removed again, then the fingerprint never returns to an earlier value', async (t) => {
  const seen = [await repo.fingerprint(tdb.db)];
  const p = await createProduct(tdb.db, { name: 'Added by mistake', price: '10.00', stock: 1 });
  seen.push(await repo.fingerprint(tdb.db));
  await removeProduct(tdb.db, p.id);
  seen.push(await repo.fingerprint(tdb.db));
  t.is(new Set(seen).size, 3, `fingerprints: ${seen.join(' → ')}`);
});

test.serial('when any product changes (price, stock, text, the whole catalog reset), then the fingerprint moves every time', async (t) => {
  const p = await createProduct(tdb.db, { name: 'Fingerprinted', price: '10.00', stock: 5 });
  const seen = [await repo.fingerprint(tdb.db)];
  const steps: (() => Promise<unknown>)[] = [
    () => updateProduct(tdb.db, p.id, { price: '11.00' }),
    () => changeStock(tdb.db, p.id, '-1'),
    () => changeStock(tdb.db, p.id, '+1'),
    () => updateProduct(tdb.db, p.id, { description: 'now with a description' }),
    () => seedCatalog(tdb.db, { reset: true }),
  ];
  for (const step of steps) {
    await step();
    seen.push(await repo.fingerprint(tdb.db));
  }
  t.is(new Set(seen).size, seen.length, `fingerprints: ${seen.join(' → ')}`);
});
