/**
 * The catalog search through the database's full-text index (MariaDB FULLTEXT, SQLite FTS5;
 * docs/data.md, Search) against the substring search it stands in for, on the seeded catalog.
 * The reference is the substring rule itself, computed here over every product.
 */
import test from 'ava';
import { seedCatalog } from '../../src/products/catalog.service.js';
import { fullTextTerms } from '../../src/products/search-terms.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createProduct, listProducts, removeProduct, updateProduct } from '../helpers/services.js';

let tdb: TestDatabase;

test.before(async () => {
  tdb = await createTestDatabase();
  await seedCatalog(tdb.db);
});

test.after.always(async () => {
  await tdb?.drop();
});

/** The ids the substring search finds: `q` anywhere in the name or description, any case. */
async function substringIds(q: string): Promise<number[]> {
  const rows: Array<{ id: number; name: string; description: string | null }> = await tdb
    .db('products')
    .where('archived', false)
    .select('id', 'name', 'description');
  const needle = q.trim().toLowerCase();
  return rows
    .filter((r) => r.name.toLowerCase().includes(needle) || (r.description ?? '').toLowerCase().includes(needle))
    .map((r) => Number(r.id))
    .sort((a, b) => a - b);
}

/** The ids the catalog answers for `q`, and whether its SQL went through the full-text index. */
async function search(q: string): Promise<{ ids: number[]; fullText: boolean }> {
  const sql: string[] = [];
  const listen = (d: { sql: string }) => sql.push(d.sql);
  tdb.db.on('query', listen);
  try {
    const list = await listProducts(tdb.db, { q, limit: 100 });
    return { ids: list.items.map((p) => p.id).sort((a, b) => a - b), fullText: sql.some((s) => /MATCH/i.test(s)) };
  } finally {
    tdb.db.off('query', listen);
  }
}

const ORDINARY = [
  'steel',
  'automatic',
  'leather strap',
  'chronograph',
  'dive',
  'water resistance',
  'Quartz',
  'GMT',
  'titanium',
  'ceramic bezel',
  'chrono',
  'movement',
];

test.serial('when q is whole ordinary words, then the full-text index answers with the products the substring search finds', async (t) => {
  let nonEmpty = 0;
  for (const q of ORDINARY) {
    const { ids, fullText } = await search(q);
    t.true(fullText, `${q}: through the full-text index`);
    t.deepEqual(ids, await substringIds(q), q);
    if (ids.length > 0) nonEmpty++;
  }
  t.true(nonEmpty >= ORDINARY.length - 2, 'the queries find products');
});

test.serial('when q has a short word, a stop word or punctuation, then the substring search answers (the same as before)', async (t) => {
  for (const q of ['mm', '42 mm', 'the', 'with', 'at', 'column-wheel', '24-hour', 'e', '100 m', 'x'.repeat(85)]) {
    t.is(fullTextTerms(q), undefined, q);
    const { ids, fullText } = await search(q);
    t.false(fullText, q);
    t.deepEqual(ids, await substringIds(q), q);
  }
});

test.serial('when the text is only inside a longer word, then the full-text path does not find it (the one difference, docs/data.md)', async (t) => {
  const p = await createProduct(tdb.db, { name: 'Wristwatch winder', description: 'Keeps an automatic wound.', price: '80', stock: 1 });
  try {
    // "winder" starts a word: found; "watch" is only inside "Wristwatch": the substring search finds it, the index does not.
    t.true((await search('winder')).ids.includes(p.id));
    t.true((await substringIds('watch')).includes(p.id));
    t.false((await search('watch')).ids.includes(p.id));
  } finally {
    await removeProduct(tdb.db, p.id);
  }
});

test.serial('when a product is added, renamed or removed, then the full-text index follows at once', async (t) => {
  const p = await createProduct(tdb.db, { name: 'Zephyrine Tourbillon', description: 'A flying tourbillon.', price: '9000', stock: 1 });
  t.deepEqual((await search('zephyrine')).ids, [p.id]);
  await updateProduct(tdb.db, p.id, { name: 'Quillon Tourbillon' });
  t.deepEqual((await search('zephyrine')).ids, []);
  t.deepEqual((await search('quillon tourbillon')).ids, [p.id]);
  await updateProduct(tdb.db, p.id, { description: 'Now with a moonphase.' });
  t.deepEqual((await search('flying')).ids, []);
  t.deepEqual((await search('moonphase')).ids, [p.id]);
  await removeProduct(tdb.db, p.id);
  t.deepEqual((await search('quillon')).ids, []);
});

test.serial('when q carries full-text operators or SQL, then they are plain text: no error, the substring search’s answer', async (t) => {
  const hostile = [
    '+steel -leather',
    'steel*',
    '"steel',
    'steel"',
    'NOT steel',
    'steel OR leather',
    'steel AND leather',
    'NEAR(steel leather)',
    'steel NEAR leather',
    '(steel)',
    '~steel',
    '@8 steel',
    'name:steel',
    "'; DROP TABLE products; --",
    "steel') OR 1=1 --",
    '%',
    '_',
    '!',
    '\\',
    'description:*',
    '^steel',
  ];
  for (const q of hostile) {
    const { ids } = await search(q);
    t.deepEqual(ids, await substringIds(q), q);
  }
  t.true(((await tdb.db('products').count({ n: '*' }))[0] as { n: number }).n > 0);
});
