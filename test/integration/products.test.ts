/**
 * Products and the catalog seed against a real database (SQLite, or MariaDB with TEST_DB=mysql).
 * The listing tests own the whole products table, so every test here runs serially and starts
 * from the rows it puts in.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { seedCatalog } from '../../src/products/catalog.service.js';
import type { NewProduct } from '../../src/products/products.schemas.js';
import { DEFAULT_CATALOG } from '../../src/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { changeStock, createProduct, getProduct, listProducts, removeProduct, updateProduct } from '../helpers/services.js';

let tdb: TestDatabase;
const tempFiles: string[] = [];

test.before(async () => {
  tdb = await createTestDatabase();
});

test.after.always(async () => {
  for (const f of tempFiles) rmSync(f, { force: true });
  await tdb?.drop();
});

async function freshProducts(products: NewProduct[]) {
  await tdb.db('order_items').delete();
  await tdb.db('products').delete();
  const created = [];
  for (const p of products) created.push(await createProduct(tdb.db, p));
  return created;
}

async function productCount() {
  const [{ n }] = await tdb.db('products').count({ n: '*' });
  return Number(n);
}

async function appCode(t: import('ava').ExecutionContext, promise: Promise<unknown>, code: ErrorCode) {
  const err = await t.throwsAsync(promise, { instanceOf: AppError });
  t.is(err?.code, code, err?.message);
  return err;
}

async function byName(name: string) {
  const matches = (await listProducts(tdb.db, { q: name, limit: 100 })).items.filter((p) => p.name === name);
  if (matches.length !== 1) throw new Error(`expected one product named ${name}, found ${matches.length}`);
  return matches[0];
}

const names = (r: { items: Array<{ name: string }> }) => r.items.map((p) => p.name);

// Prices spread over the range, two out of stock, words for the text search in names and descriptions.
const SHOWCASE: NewProduct[] = [
  { name: 'Field Watch', description: 'Olive canvas strap and a brushed STEEL case.', price: '199.99', stock: 5 },
  { name: 'Aviator GMT', description: 'Pilot watch with a second time zone.', price: '1,299.99', stock: 0 },
  { name: 'Dress Classic', description: null, price: 19.99, stock: 2 },
  { name: 'Deep Diver Steel', description: 'Rated to 300 m.', price: '849', stock: 0 },
  { name: 'Pocket Regulator', description: 'Hand-wound movement in a silver case.', price: '4567.50', stock: 1 },
];

// --- create / get / update / remove -----------------------------------------------------------

test.serial('when a product is created, then it can be read back with its price in cents and major units', async (t) => {
  await freshProducts([]);
  const p = await createProduct(tdb.db, { name: '  Halden Meridian  ', description: 'Chronograph', price: '1,299.99', stock: 14, image_url: '/images/h.svg' });
  t.true(Number.isInteger(p.id) && p.id > 0);
  t.like(p, {
    name: 'Halden Meridian',
    description: 'Chronograph',
    price_cents: 129999,
    price: 1299.99,
    currency: 'usd',
    stock: 14,
    in_stock: true,
    image_url: '/images/h.svg',
  });
  t.false(Number.isNaN(Date.parse(p.created_at)));
  t.deepEqual(await getProduct(tdb.db, p.id), p);
  t.deepEqual(await getProduct(tdb.db, String(p.id)), p, 'an id from a URL or the CLI is accepted as text');
});

test.serial('when a product is created without stock, then it starts at 0 and is not in stock', async (t) => {
  const p = await createProduct(tdb.db, { name: 'No Stock Yet', price: 10 });
  t.is(p.stock, 0);
  t.false(p.in_stock);
  t.is(p.description, null);
  t.is(p.image_url, null);
});

test.serial('when a product is created with an invalid price, name or stock, then VALIDATION_FAILED and nothing is written', async (t) => {
  const before = await productCount();
  await appCode(t, createProduct(tdb.db, { name: 'Bad', price: '12.345' }), 'VALIDATION_FAILED');
  await appCode(t, createProduct(tdb.db, { name: 'Bad', price: -1 }), 'VALIDATION_FAILED');
  await appCode(t, createProduct(tdb.db, { name: 'Bad', price: '100000000.00' }), 'VALIDATION_FAILED');
  await appCode(t, createProduct(tdb.db, { name: '   ', price: 1 }), 'VALIDATION_FAILED');
  await appCode(t, createProduct(tdb.db, { name: 'x'.repeat(201), price: 1 }), 'VALIDATION_FAILED');
  await appCode(t, createProduct(tdb.db, { name: 'Bad', price: 1, stock: -1 }), 'VALIDATION_FAILED');
  await appCode(t, createProduct(tdb.db, { name: 'Bad', price: 1, stock: 1.5 }), 'VALIDATION_FAILED');
  t.is(await productCount(), before);
});

test.serial('when a product is updated, then only the given fields change', async (t) => {
  const [p] = await freshProducts([{ name: 'Old Name', description: 'Old text', price: '100', stock: 3, image_url: '/images/old.svg' }]);
  const u = await updateProduct(tdb.db, p.id, { name: 'New Name', price: '249.5' });
  t.like(u, { id: p.id, name: 'New Name', description: 'Old text', price_cents: 24950, price: 249.5, stock: 3, image_url: '/images/old.svg' });
  t.deepEqual(await getProduct(tdb.db, p.id), u);

  const cleared = await updateProduct(tdb.db, p.id, { description: null, image_url: null });
  t.is(cleared.description, null);
  t.is(cleared.image_url, null);
  t.is(cleared.name, 'New Name');
});

test.serial('when an update gives nothing to change or a bad price, then VALIDATION_FAILED and the product is unchanged', async (t) => {
  const [p] = await freshProducts([{ name: 'Steady', price: '50', stock: 1 }]);
  await appCode(t, updateProduct(tdb.db, p.id, {}), 'VALIDATION_FAILED');
  await appCode(t, updateProduct(tdb.db, p.id, { price: '1,29.00' }), 'VALIDATION_FAILED');
  await appCode(t, updateProduct(tdb.db, p.id, { stock: 99 } as never), 'VALIDATION_FAILED');
  t.deepEqual(await getProduct(tdb.db, p.id), p);
});

test.serial('when a product that does not exist is read, updated or removed, then NOT_FOUND', async (t) => {
  await freshProducts([]);
  await appCode(t, getProduct(tdb.db, 999999), 'NOT_FOUND');
  await appCode(t, updateProduct(tdb.db, 999999, { name: 'Ghost' }), 'NOT_FOUND');
  await appCode(t, removeProduct(tdb.db, 999999), 'NOT_FOUND');
});

test.serial('when a product id is not a positive whole number, then VALIDATION_FAILED', async (t) => {
  for (const id of [0, -1, 1.5, 'abc', '1 OR 1=1', null]) {
    await appCode(t, getProduct(tdb.db, id), 'VALIDATION_FAILED');
  }
});

test.serial('when a product is removed, then it is returned once and is gone afterwards', async (t) => {
  const [keep, gone] = await freshProducts([
    { name: 'Keep', price: 1 },
    { name: 'Gone', price: 2 },
  ]);
  const removed = await removeProduct(tdb.db, gone.id);
  t.is(removed.name, 'Gone');
  await appCode(t, getProduct(tdb.db, gone.id), 'NOT_FOUND');
  t.is((await getProduct(tdb.db, keep.id)).name, 'Keep');
  await appCode(t, removeProduct(tdb.db, gone.id), 'NOT_FOUND');
});

// --- listing ----------------------------------------------------------------------------------

test.serial('when the catalog is listed without a query, then it is newest first with 20 per page', async (t) => {
  await freshProducts(SHOWCASE);
  const r = await listProducts(tdb.db);
  t.is(r.total, 5);
  t.is(r.limit, 20);
  t.is(r.offset, 0);
  t.deepEqual(names(r), SHOWCASE.map((p) => p.name).reverse());
});

test.serial('when q is given, then it matches name or description case-insensitively', async (t) => {
  await freshProducts(SHOWCASE);
  t.deepEqual(names(await listProducts(tdb.db, { q: 'steel', sort: 'name' })), ['Deep Diver Steel', 'Field Watch']);
  t.deepEqual(names(await listProducts(tdb.db, { q: 'STEEL', sort: 'name' })), ['Deep Diver Steel', 'Field Watch']);
  t.deepEqual(names(await listProducts(tdb.db, { q: 'Time Zone' })), ['Aviator GMT']);
  t.deepEqual(names(await listProducts(tdb.db, { q: '  pocket  ' })), ['Pocket Regulator']);
  const none = await listProducts(tdb.db, { q: 'titanium' });
  t.deepEqual(none.items, []);
  t.is(none.total, 0);
});

test.serial('when q is "%", then it matches only products that contain a percent sign', async (t) => {
  await freshProducts(SHOWCASE);
  t.is((await listProducts(tdb.db, { q: '%' })).total, 0, '% is not a wildcard');
  t.is((await listProducts(tdb.db, { q: '%%' })).total, 0);
  await createProduct(tdb.db, { name: '100% Steel', description: 'All steel', price: 99 });
  const r = await listProducts(tdb.db, { q: '%' });
  t.deepEqual(names(r), ['100% Steel']);
  t.is(r.total, 1);
  t.deepEqual(names(await listProducts(tdb.db, { q: '0% s' })), ['100% Steel']);
  t.is((await listProducts(tdb.db, { q: '1%l' })).total, 0, '% inside the text is literal too');
});

test.serial('when q is "_", then it matches nothing unless a product contains an underscore', async (t) => {
  await freshProducts(SHOWCASE);
  t.is((await listProducts(tdb.db, { q: '_' })).total, 0, '_ is not a single-character wildcard');
  t.is((await listProducts(tdb.db, { q: 'Fi_ld' })).total, 0);
  await createProduct(tdb.db, { name: 'Model_X', price: 5 });
  await createProduct(tdb.db, { name: 'Plain', description: 'snake_case description', price: 6 });
  t.deepEqual(names(await listProducts(tdb.db, { q: '_', sort: 'name' })), ['Model_X', 'Plain']);
});

test.serial('when q contains the escape character or quotes, then they are matched literally', async (t) => {
  await freshProducts([...SHOWCASE, { name: "Wow! It's here", price: 1 }]);
  t.deepEqual(names(await listProducts(tdb.db, { q: '!' })), ["Wow! It's here"]);
  t.deepEqual(names(await listProducts(tdb.db, { q: "it's" })), ["Wow! It's here"]);
  t.is((await listProducts(tdb.db, { q: "' OR '1'='1" })).total, 0);
});

test.serial('when min_price and max_price are given in major units, then the bounds are inclusive', async (t) => {
  await freshProducts(SHOWCASE);
  t.deepEqual(names(await listProducts(tdb.db, { min_price: '199.99', sort: 'price' })), [
    'Field Watch',
    'Deep Diver Steel',
    'Aviator GMT',
    'Pocket Regulator',
  ]);
  t.deepEqual(names(await listProducts(tdb.db, { max_price: 199.99, sort: 'price' })), ['Dress Classic', 'Field Watch']);
  t.deepEqual(names(await listProducts(tdb.db, { min_price: '200', max_price: '1299.99', sort: 'price' })), ['Deep Diver Steel', 'Aviator GMT']);
  t.deepEqual(names(await listProducts(tdb.db, { min_price: '19.98', max_price: '19.99' })), ['Dress Classic']);
  t.is((await listProducts(tdb.db, { min_price: 5000 })).total, 0);
});

test.serial('when in_stock is given, then only products with (or without) stock are listed', async (t) => {
  await freshProducts(SHOWCASE);
  const inStock = await listProducts(tdb.db, { in_stock: 'true', sort: 'name' });
  t.deepEqual(names(inStock), ['Dress Classic', 'Field Watch', 'Pocket Regulator']);
  t.true(inStock.items.every((p) => p.in_stock && p.stock > 0));
  t.deepEqual(names(await listProducts(tdb.db, { in_stock: '1', sort: 'name' })), ['Dress Classic', 'Field Watch', 'Pocket Regulator']);
  const out = await listProducts(tdb.db, { in_stock: 'false', sort: 'name' });
  t.deepEqual(names(out), ['Aviator GMT', 'Deep Diver Steel']);
  t.true(out.items.every((p) => !p.in_stock && p.stock === 0));
});

test.serial('when a sort is given, then the items come in that order', async (t) => {
  await freshProducts(SHOWCASE);
  t.deepEqual(names(await listProducts(tdb.db, { sort: 'price' })), ['Dress Classic', 'Field Watch', 'Deep Diver Steel', 'Aviator GMT', 'Pocket Regulator']);
  t.deepEqual(names(await listProducts(tdb.db, { sort: '-price' })), ['Pocket Regulator', 'Aviator GMT', 'Deep Diver Steel', 'Field Watch', 'Dress Classic']);
  t.deepEqual(names(await listProducts(tdb.db, { sort: 'name' })), ['Aviator GMT', 'Deep Diver Steel', 'Dress Classic', 'Field Watch', 'Pocket Regulator']);
  t.deepEqual(names(await listProducts(tdb.db, { sort: '-name' })), ['Pocket Regulator', 'Field Watch', 'Dress Classic', 'Deep Diver Steel', 'Aviator GMT']);
  t.deepEqual(names(await listProducts(tdb.db, { sort: 'newest' })), ['Pocket Regulator', 'Deep Diver Steel', 'Dress Classic', 'Aviator GMT', 'Field Watch']);
});

test.serial('when products share a price, then the order between them is stable across pages', async (t) => {
  await freshProducts([1, 2, 3, 4, 5, 6].map((i) => ({ name: `Same Price ${i}`, price: 10 })));
  const seen: string[] = [];
  for (let offset = 0; offset < 6; offset += 2) seen.push(...names(await listProducts(tdb.db, { sort: 'price', limit: 2, offset })));
  t.deepEqual(
    [...seen].sort(),
    [1, 2, 3, 4, 5, 6].map((i) => `Same Price ${i}`),
  );
});

test.serial('when limit and offset are given, then that page is returned with the total of all matches', async (t) => {
  await freshProducts(SHOWCASE);
  const page = await listProducts(tdb.db, { sort: 'price', limit: '2', offset: '2' });
  t.deepEqual(names(page), ['Deep Diver Steel', 'Aviator GMT']);
  t.is(page.total, 5);
  t.is(page.limit, 2);
  t.is(page.offset, 2);
  const last = await listProducts(tdb.db, { sort: 'price', limit: 2, offset: 4 });
  t.deepEqual(names(last), ['Pocket Regulator']);
  t.is(last.total, 5);
  const past = await listProducts(tdb.db, { limit: 2, offset: 10 });
  t.deepEqual(past.items, []);
  t.is(past.total, 5);
  const filtered = await listProducts(tdb.db, { in_stock: 'true', sort: 'price', limit: 1 });
  t.deepEqual(names(filtered), ['Dress Classic']);
  t.is(filtered.total, 3, 'total counts the filtered matches, not the page');
});

const invalidQueries: Array<Record<string, unknown>> = [
  { sort: 'cheapest' },
  { sort: 'price; DROP TABLE products' },
  { limit: 0 },
  { limit: 101 },
  { limit: 'ten' },
  { limit: 2.5 },
  { offset: -1 },
  { min_price: -1 },
  { max_price: 'abc' },
  { min_price: 100000000 },
  { in_stock: 'yes' },
  { q: 'x'.repeat(201) },
];

for (const query of invalidQueries) {
  test.serial(`when the query is ${JSON.stringify(query).slice(0, 60)}, then VALIDATION_FAILED`, async (t) => {
    const err = await appCode(t, listProducts(tdb.db, query), 'VALIDATION_FAILED');
    t.is(err?.details?.[0]?.path, Object.keys(query)[0]);
  });
}

// --- stock ------------------------------------------------------------------------------------

test.serial('when stock is set, added to and taken from, then it follows each change', async (t) => {
  const [p] = await freshProducts([{ name: 'Stocked', price: 10, stock: 1 }]);
  t.is((await changeStock(tdb.db, p.id, '5')).stock, 5);
  t.is((await changeStock(tdb.db, p.id, '+3')).stock, 8);
  t.is((await changeStock(tdb.db, p.id, '-2')).stock, 6);
  const empty = await changeStock(tdb.db, p.id, '-6');
  t.is(empty.stock, 0);
  t.false(empty.in_stock);
  t.is((await changeStock(tdb.db, p.id, ' 0 ')).stock, 0);
  t.is((await getProduct(tdb.db, p.id)).stock, 0);
});

test.serial('when more is taken than is in stock, then OUT_OF_STOCK and the stock is unchanged', async (t) => {
  const [p] = await freshProducts([{ name: 'Scarce', price: 10, stock: 3 }]);
  const err = await appCode(t, changeStock(tdb.db, p.id, '-4'), 'OUT_OF_STOCK');
  t.like(err?.details?.[0], { product_id: p.id, requested: 4, available: 3 });
  t.is((await getProduct(tdb.db, p.id)).stock, 3);
  await changeStock(tdb.db, p.id, '0');
  await appCode(t, changeStock(tdb.db, p.id, '-1'), 'OUT_OF_STOCK');
  t.is((await getProduct(tdb.db, p.id)).stock, 0);
});

test.serial('when a stock change is malformed, then VALIDATION_FAILED and the stock is unchanged', async (t) => {
  const [p] = await freshProducts([{ name: 'Steady Stock', price: 10, stock: 4 }]);
  for (const change of ['abc', '1.5', '--1', '+-1', '', '5 units', '12345678', '1e3']) {
    await appCode(t, changeStock(tdb.db, p.id, change), 'VALIDATION_FAILED');
  }
  await appCode(t, changeStock(tdb.db, p.id, '1000001'), 'VALIDATION_FAILED');
  t.is((await getProduct(tdb.db, p.id)).stock, 4);
});

test.serial('when the stock of a product that does not exist is changed, then NOT_FOUND', async (t) => {
  await freshProducts([]);
  await appCode(t, changeStock(tdb.db, 999999, '5'), 'NOT_FOUND');
  await appCode(t, changeStock(tdb.db, 999999, '+1'), 'NOT_FOUND');
  await appCode(t, changeStock(tdb.db, 999999, '-1'), 'NOT_FOUND');
});

test.serial('when 50 decrements race for a stock of 10, then exactly 10 succeed and the stock ends at 0', async (t) => {
  const [p] = await freshProducts([{ name: 'Limited Edition', price: 5000, stock: 10 }]);
  // On MariaDB these go through the test database's pool of 10 connections, so they truly overlap.
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => changeStock(tdb.db, p.id, '-1')));
  const fulfilled = results.filter((r) => r.status === 'fulfilled');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(fulfilled.length, 10);
  t.is(rejected.length, 40);
  for (const r of rejected) {
    t.true(r.reason instanceof AppError, String(r.reason));
    t.is((r.reason as AppError).code, 'OUT_OF_STOCK');
  }
  t.is((await getProduct(tdb.db, p.id)).stock, 0);
});

/** The error a statement fails with (database drivers' errors are not always `instanceof Error`). */
async function dbError(statement: PromiseLike<unknown>): Promise<{ code?: string; message?: string } | undefined> {
  try {
    await statement;
    return undefined;
  } catch (err) {
    return err as { code?: string; message?: string };
  }
}

function assertCheckViolation(t: import('ava').ExecutionContext, err: { code?: string; message?: string } | undefined, constraint: string) {
  t.truthy(err, 'the statement must fail');
  // SQLite says "CHECK constraint failed: <name>", MariaDB "CONSTRAINT `<name>` failed", MySQL 8 "Check constraint '<name>' is violated".
  t.regex(String(err?.message), new RegExp(`\\b${constraint}\\b`));
  t.regex(String(err?.message), /check|constraint/i);
}

test.serial('when stock -1 or a negative price is written straight to the table, then a CHECK constraint refuses it', async (t) => {
  const [p] = await freshProducts([{ name: 'Guarded', price: 10, stock: 2 }]);
  assertCheckViolation(t, await dbError(tdb.db('products').where({ id: p.id }).update({ stock: -1 })), 'products_stock_check');
  assertCheckViolation(t, await dbError(tdb.db('products').where({ id: p.id }).update({ price_cents: -1 })), 'products_price_cents_check');
  assertCheckViolation(t, await dbError(tdb.db('products').insert({ name: 'Negative', price_cents: 100, stock: -5 })), 'products_stock_check');
  const row = await tdb.db('products').where({ id: p.id }).first();
  t.is(Number(row.stock), 2);
  t.is(Number(row.price_cents), 1000);
  t.is(await productCount(), 1);
});

// --- catalog seed -----------------------------------------------------------------------------

const catalog = JSON.parse(readFileSync(DEFAULT_CATALOG, 'utf8')) as Array<{ name: string; price: string; stock: number }>;

function writeCatalog(entries: unknown): string {
  const file = path.join(os.tmpdir(), `ws-catalog-${process.pid}-${tempFiles.length}.json`);
  writeFileSync(file, JSON.stringify(entries));
  tempFiles.push(file);
  return file;
}

test.serial('when the catalog is seeded twice, then the first adds all 24 products and the second adds none', async (t) => {
  await freshProducts([]);
  t.is(catalog.length, 24);
  const first = await seedCatalog(tdb.db);
  t.deepEqual(first, { added: 24, skipped: 0, removed: 0, total: 24 });
  const second = await seedCatalog(tdb.db);
  t.deepEqual(second, { added: 0, skipped: 24, removed: 0, total: 24 });
  t.is(await productCount(), 24);

  const halden = await byName(catalog[0].name);
  t.like(halden, { name: catalog[0].name, price_cents: 129999, stock: catalog[0].stock });
  t.regex(halden.image_url ?? '', /^\/images\/[a-z0-9-]+\.svg$/);
});

test.serial('when the catalog is seeded again without reset, then products that moved on are left alone', async (t) => {
  const halden = await byName(catalog[0].name);
  await changeStock(tdb.db, halden.id, '-4');
  await seedCatalog(tdb.db);
  t.is((await getProduct(tdb.db, halden.id)).stock, catalog[0].stock - 4);
});

test.serial('when the catalog is seeded with reset, then it replaces every product, modified or extra', async (t) => {
  t.is(await productCount(), 24);
  const halden = await byName(catalog[0].name);
  await updateProduct(tdb.db, halden.id, { price: '1.00', name: 'Renamed by an admin' });
  await changeStock(tdb.db, (await byName(catalog[1].name)).id, '0');
  await createProduct(tdb.db, { name: 'Not In The Catalog', price: 1 });
  t.is(await productCount(), 25);

  const r = await seedCatalog(tdb.db, { reset: true });
  t.deepEqual(r, { added: 24, skipped: 0, removed: 25, total: 24 });
  t.is(await productCount(), 24);
  t.is((await listProducts(tdb.db, { q: 'Renamed by an admin' })).total, 0);
  t.is((await listProducts(tdb.db, { q: 'Not In The Catalog' })).total, 0);
  t.like(await byName(catalog[0].name), { price_cents: 129999, stock: catalog[0].stock });
  t.like(await byName(catalog[1].name), { stock: catalog[1].stock });
});

test.serial('when the catalog file has a bad price, then seeding writes nothing, even with reset', async (t) => {
  await freshProducts([{ name: 'Existing', price: 3 }]);
  const bad = catalog.map((e) => ({ ...e, name: `${e.name} (new)` }));
  bad[7] = { ...bad[7], price: '12.345' };
  const file = writeCatalog(bad);
  const err = await appCode(t, seedCatalog(tdb.db, { file }), 'VALIDATION_FAILED');
  t.regex(err?.message ?? '', /\[7\]\.price/);
  await appCode(t, seedCatalog(tdb.db, { file, reset: true }), 'VALIDATION_FAILED');
  t.is(await productCount(), 1);
  t.deepEqual(names(await listProducts(tdb.db)), ['Existing']);
});

test.serial('when the catalog file is unreadable, malformed or lists a name twice, then seeding writes nothing', async (t) => {
  await freshProducts([{ name: 'Existing', price: 3 }]);
  await appCode(t, seedCatalog(tdb.db, { file: path.join(os.tmpdir(), 'ws-no-such-catalog.json'), reset: true }), 'VALIDATION_FAILED');
  const notJson = writeCatalog('x');
  writeFileSync(notJson, '[{"name": ');
  await appCode(t, seedCatalog(tdb.db, { file: notJson, reset: true }), 'VALIDATION_FAILED');
  await appCode(t, seedCatalog(tdb.db, { file: writeCatalog([]), reset: true }), 'VALIDATION_FAILED');
  await appCode(
    t,
    seedCatalog(tdb.db, {
      file: writeCatalog([
        { name: 'A', price: 1 },
        { name: 'A', price: 2 },
      ]),
      reset: true,
    }),
    'VALIDATION_FAILED',
  );
  await appCode(t, seedCatalog(tdb.db, { file: writeCatalog([{ name: 'A', price: 1, image: '../../etc/passwd' }]) }), 'VALIDATION_FAILED');
  t.deepEqual(names(await listProducts(tdb.db)), ['Existing']);
});

test.serial('when the catalog is seeded, then no user accounts are created', async (t) => {
  await freshProducts([]);
  await seedCatalog(tdb.db);
  await seedCatalog(tdb.db, { reset: true });
  const [{ n }] = await tdb.db('users').count({ n: '*' });
  t.is(Number(n), 0);
  t.is(await productCount(), 24);
});
