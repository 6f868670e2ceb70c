// Preloaded into the server under test (`node --import ./bench/cache-probe.mjs`) by bench/lib.ts:
// on SIGUSR2 writes the catalog cache's own counters ({"hits":N,"misses":N}, src/products/catalog-cache.ts)
// to $BENCH_PROBE_FILE. It imports the same compiled module the server runs, so it reads the same counters.
import { writeFileSync } from 'node:fs';
import { catalogCacheStats } from '../dist/src/products/catalog-cache.js';

process.on('SIGUSR2', () => {
  writeFileSync(process.env.BENCH_PROBE_FILE, JSON.stringify(catalogCacheStats()));
});
