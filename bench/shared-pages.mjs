// Preloaded into each server under test by bench/shared-pages.ts (`node --import`) when
// BENCH_SHARED_PAGES=redis: on a local catalog-cache miss, the page is looked up in Redis under
// `<prefix>:catalog:<revision>:<query key>` (the revision the cache just read from the database,
// so a page is only reused under the same revision) before rendering from the database; a page
// rendered here is SET there with a 10-minute TTL (pages over 256 KiB are not shared). Redis down
// or slower than 50 ms: render locally (fail open). An experiment only: nothing in src/ uses it.
// On SIGUSR2 writes its counters and the catalog cache's (hits, misses) to $BENCH_PAGES_STATS_DIR/<pid>.json.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CatalogCache, catalogCacheStats } from '../dist/src/products/catalog-cache.js';

const stats = { redis_hits: 0, redis_misses: 0, redis_errors: 0, redis_sets: 0 };
process.on('SIGUSR2', () => {
  if (process.env.BENCH_PAGES_STATS_DIR)
    writeFileSync(path.join(process.env.BENCH_PAGES_STATS_DIR, `${process.pid}.json`), JSON.stringify({ ...catalogCacheStats(), ...stats }));
});

if (process.env.BENCH_SHARED_PAGES === 'redis') {
  const { Redis } = createRequire(import.meta.url)('ioredis');
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', {
    commandTimeout: 50,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  let logged = false;
  redis.on('error', (err) => {
    if (!logged) console.error(`shared pages: Redis unavailable, rendering locally (${err.message})`);
    logged = true;
  });
  const prefix = process.env.BENCH_REDIS_PREFIX ?? 'watchstore-bench';
  const MAX_BYTES = 256 * 1024;
  const TTL_S = 600;
  const render = CatalogCache.prototype.render;
  CatalogCache.prototype.render = async function (query) {
    // page() sets this.revision to the revision it just read, then calls render synchronously.
    const key = `${prefix}:catalog:${this.revision}:${JSON.stringify(query, Object.keys(query).sort())}`;
    let shared = null;
    try {
      shared = await redis.getBuffer(key);
    } catch {
      stats.redis_errors++;
    }
    if (shared) {
      stats.redis_hits++;
      return { body: shared, etag: `"${createHash('sha256').update(shared).digest('base64url').slice(0, 32)}"` };
    }
    stats.redis_misses++;
    const page = await render.call(this, query);
    if (page.body.length <= MAX_BYTES) {
      redis.set(key, page.body, 'EX', TTL_S).then(
        () => stats.redis_sets++,
        () => stats.redis_errors++,
      );
    }
    return page;
  };
}
