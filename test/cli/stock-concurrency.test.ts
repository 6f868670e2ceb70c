import test from 'ava';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { createProduct } from '../helpers/services.js';

let database: TestDatabase;

test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(() => database?.drop());

test('when 20 processes each take one unit of a product with 5 in stock, then exactly 5 succeed and stock ends at 0', async (t) => {
  const p = await createProduct(database.db, { name: 'Contended watch', price: '99.00', stock: 5 });
  const cli = cliInProcess(database);
  const results = await Promise.all(Array.from({ length: 20 }, () => cli(['products', 'stock', String(p.id), '-1'])));

  const ok = results.filter((r) => r.code === 0);
  const refused = results.filter((r) => r.code !== 0);
  t.is(ok.length, 5, results.map((r) => `${r.code} ${r.stderr.trim()}`).join('\n'));
  t.is(refused.length, 15);
  for (const r of refused) {
    t.is(r.code, 1);
    t.regex(r.stderr, /^watchstore: Product \d+ has 0 in stock; cannot take 1\./);
  }
  const row = await database.db('products').where({ id: p.id }).first();
  t.is(Number(row.stock), 0);
});
