/**
 * The catalog page cache (src/products/catalog-cache.ts) on SQLite or MariaDB (TEST_DB=mysql):
 * what it keeps is bounded by bytes as well as by pages. A page served from memory is the very
 * object rendered before; a page rendered again is a new one.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { CatalogCache } from '../../src/products/catalog-cache.js';
import { catalogQuerySchema } from '../../src/products/products.schemas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
test.before(async () => {
  database = await createTestDatabase();
  // 60 products of the same weight: every page of 5 is about the same size (~10 kB).
  await database.db('products').insert(
    Array.from({ length: 60 }, (_, i) => ({
      name: `Cache Watch ${String(i).padStart(3, '0')}`,
      description: 'A long description. '.repeat(100),
      price_cents: 10_000 + i,
      stock: 5,
    })),
  );
});
test.after.always(async () => {
  await database?.drop();
});

const PER_PAGE = 5;
const pageAt = (n: number) => catalogQuerySchema.parse({ sort: 'name', limit: String(PER_PAGE), offset: String(n * PER_PAGE) });

/** The size of one page's body, as the cache would hold it. */
async function pageSize(): Promise<number> {
  return (await new CatalogCache(database.db, 'EUR').page(pageAt(0))).body.length;
}

test('when the pages asked exceed the byte cap, then the oldest are dropped first and the total stays within the cap', async (t) => {
  const size = await pageSize();
  const cap = Math.floor(size * 2.5); // room for two pages, not three
  const cache = new CatalogCache(database.db, 'EUR', { maxBytes: cap });

  const first = await cache.page(pageAt(0));
  const second = await cache.page(pageAt(1));
  t.true(cache.cachedBytes > size && cache.cachedBytes <= cap, `${cache.cachedBytes} bytes held`);
  const third = await cache.page(pageAt(2));
  t.true(cache.cachedBytes <= cap, `${cache.cachedBytes} bytes held for a cap of ${cap}`);

  t.is(await cache.page(pageAt(2)), third, 'the newest page is kept');
  t.is(await cache.page(pageAt(1)), second, 'the page before it is kept');
  const again = await cache.page(pageAt(0));
  t.not(again, first, 'the oldest page was dropped and is rendered again');
  t.deepEqual(again.body, first.body);
  t.true(cache.cachedBytes <= cap);
});

test('when one page is larger than the whole cap, then it is served but not kept', async (t) => {
  const size = await pageSize();
  const cache = new CatalogCache(database.db, 'EUR', { maxBytes: Math.floor(size / 2) });
  const served = await cache.page(pageAt(3));
  t.is(JSON.parse(served.body.toString('utf8')).items.length, PER_PAGE);
  t.is(cache.cachedBytes, 0);
  const again = await cache.page(pageAt(3));
  t.not(again, served, 'rendered again: nothing was kept');
  t.deepEqual(again.body, served.body);
  t.is(again.etag, served.etag);
});

test('when a client walks every offset, then the bytes held never exceed the cap', async (t) => {
  const size = await pageSize();
  const cap = size * 3;
  const cache = new CatalogCache(database.db, 'EUR', { maxBytes: cap });
  const pages = 60 / PER_PAGE;
  for (let n = 0; n < pages; n++) {
    await cache.page(pageAt(n));
    if (cache.cachedBytes > cap) return t.fail(`after page ${n}: ${cache.cachedBytes} bytes held for a cap of ${cap}`);
  }
  t.true(cache.cachedBytes >= size * 2, 'the most recent pages are still held');
  const last = await cache.page(pageAt(pages - 1));
  t.is(await cache.page(pageAt(pages - 1)), last);
});

test('when the page count cap is the tighter one, then it still applies and the byte count follows it', async (t) => {
  const cache = new CatalogCache(database.db, 'EUR', { maxPages: 2 });
  const a = await cache.page(pageAt(0));
  const b = await cache.page(pageAt(1));
  const c = await cache.page(pageAt(2));
  t.is(cache.cachedBytes, b.body.length + c.body.length);
  t.is(await cache.page(pageAt(2)), c);
  t.not(await cache.page(pageAt(0)), a);
});

/** Descriptors this process holds open on the SQLite file (or its -wal and -shm), Linux only. */
function openHandlesOn(file: string): number {
  const target = path.resolve(file);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(target);
    } catch {
      return false; // closed since the listing
    }
  }).length;
}

test('when a catalog request arrives after the database was destroyed, then it is refused and opens nothing', async (t) => {
  const own = await createTestDatabase();
  try {
    const cache = new CatalogCache(own.db, 'EUR');
    await cache.page(pageAt(0)); // opens the pool
    const file = own.config.client === 'sqlite' ? own.config.filename : undefined;
    const countHandles = file && process.platform === 'linux' ? () => openHandlesOn(file) : undefined;
    if (countHandles) t.true(countHandles() > 0, 'the file is open while the database is in use');

    await own.db.destroy();
    if (countHandles) t.is(countHandles(), 0, 'destroy closed every connection');

    const late = cache.page(pageAt(0));
    await late.catch(() => {});
    if (countHandles) t.is(countHandles(), 0, 'no connection was opened again, to be left open');
    await t.throwsAsync(late);
  } finally {
    await own.drop();
  }
});

test.serial('when the same page is asked twice with nothing changed, then the second is a hit; after a change, a miss', async (t) => {
  const { productsRepository } = await import('../../src/products/products.repository.js');
  const { catalogCacheStats } = await import('../../src/products/catalog-cache.js');
  const cache = new CatalogCache(database.db, 'EUR');
  const before = catalogCacheStats();
  await cache.page(pageAt(1));
  t.deepEqual(cache.stats, { hits: 0, misses: 1 });
  await cache.page(pageAt(1));
  t.deepEqual(cache.stats, { hits: 1, misses: 1 });
  const first = (await database.db('products').first('id')) as { id: number };
  await productsRepository.adjustStock(database.db, first.id, 1);
  await cache.page(pageAt(1));
  t.deepEqual(cache.stats, { hits: 1, misses: 2 });
  const after = catalogCacheStats();
  t.true(after.hits - before.hits >= 1 && after.misses - before.misses >= 2, 'the process-wide counter adds every cache up');
});
