/**
 * `npm run bench -- growth`: the catalog's database cost as the catalog grows. A fresh store is
 * bulk-loaded to 1,000, then 10,000, then 100,000 products (test/helpers/bulk.ts, the generator
 * of the query-plan test), and at each size every listing and search below is run through
 * `searchProducts` (what the catalog route runs when its cache has no page: the database's
 * part of a listing) one after the other, for BENCH_GROWTH_MS each. See bench/README.md.
 */
import type { Knex } from 'knex';
import { searchProducts } from '../src/products/products.service.js';
import { catalogQuerySchema } from '../src/products/products.schemas.js';
import { analyze, bulkProducts } from '../test/helpers/bulk.js';
import { parseDatabaseUrl } from '../src/config.js';
import { createDb } from '../src/db/connection.js';
import { startStore } from './lib.js';

export const SIZES = [1_000, 10_000, 100_000];
const BUDGET_MS = Number(process.env.BENCH_GROWTH_MS ?? 1500);
const MIN_RUNS = 20;
const MAX_RUNS = 500;

/** The queries, by name; the middle page depends on the size. */
function queries(size: number): Array<[string, Record<string, unknown>]> {
  return [
    ['first page (newest)', {}],
    ['middle page (newest)', { offset: Math.floor(size / 2 / 20) * 20 }],
    ['price filter 100–150', { min_price: '100', max_price: '150' }],
    ['sort price', { sort: 'price' }],
    ['sort -price', { sort: '-price' }],
    ['sort name', { sort: 'name' }],
    ['sort -name', { sort: '-name' }],
    ['in stock', { in_stock: 'true' }],
    ['search, a common word (full-text)', { q: 'moonphase' }],
    ['search, two words (full-text)', { q: 'titanium nato' }],
    ['search, a word of every product (full-text)', { q: 'reference' }],
    ['search, a 2-letter word (substring scan)', { q: 'mm' }],
  ];
}

export interface GrowthFigures {
  query: string;
  /** p99 in ms at each size, in SIZES order. */
  p99: number[];
  p50: number[];
  runs: number[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measure(db: Knex, query: Record<string, unknown>): Promise<{ p50: number; p99: number; runs: number }> {
  const parsed = catalogQuerySchema.parse({ limit: 20, ...query });
  await searchProducts(db, parsed, 'usd'); // warm the pool and the buffer pool / page cache
  const times: number[] = [];
  const end = performance.now() + BUDGET_MS;
  while (times.length < MAX_RUNS && (times.length < MIN_RUNS || performance.now() < end)) {
    const start = performance.now();
    await searchProducts(db, parsed, 'usd');
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 100) / 100;
  return { p50: r(percentile(times, 50)), p99: r(percentile(times, 99)), runs: times.length };
}

/** Every query's p50/p99 at each size, on one dialect. */
export async function growthFigures(mysql: boolean): Promise<GrowthFigures[]> {
  const store = await startStore({ mysql });
  // A generous per-statement timeout for the bulk loads (the default DB_TIMEOUT_MS is 5 s).
  const db = createDb(parseDatabaseUrl(store.databaseUrl), { timeoutMs: 120_000 });
  const out = new Map<string, GrowthFigures>();
  try {
    for (const size of SIZES) {
      const [{ n }] = (await db('products').count({ n: '*' })) as Array<{ n: number | string }>;
      await bulkProducts(db, size - Number(n));
      await analyze(db, ['products']);
      for (const [name, q] of queries(size)) {
        const key = name.replace(/^middle page.*/, 'middle page (newest)');
        const f = out.get(key) ?? { query: key, p99: [], p50: [], runs: [] };
        const m = await measure(db, q);
        f.p99.push(m.p99);
        f.p50.push(m.p50);
        f.runs.push(m.runs);
        out.set(key, f);
      }
    }
  } finally {
    await db.destroy();
    await store.stop();
  }
  return [...out.values()];
}
