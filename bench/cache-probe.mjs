// Preloaded into the server under test (`node --import ./bench/cache-probe.mjs`) by bench/lib.ts:
// counts the catalog cache's hits and misses without any code in src/ for it, and writes
// {"hits":N,"misses":N} to $BENCH_PROBE_FILE on SIGUSR2.
//
// The seam is here, and only here: today a miss is a call of CatalogCache's render() and every
// lookup is a call of page(). When the cache keeps its own counter, read that instead.
import { writeFileSync } from 'node:fs';
import { CatalogCache } from '../dist/src/products/catalog-cache.js';

const proto = CatalogCache.prototype;
if (typeof proto.page !== 'function' || typeof proto.render !== 'function') {
  throw new Error('bench/cache-probe.mjs: CatalogCache has no page()/render() any more; re-point the probe at its counter');
}
let lookups = 0;
let misses = 0;
const page = proto.page;
const render = proto.render;
proto.page = function (...args) {
  lookups++;
  return page.apply(this, args);
};
proto.render = function (...args) {
  misses++;
  return render.apply(this, args);
};
process.on('SIGUSR2', () => {
  writeFileSync(process.env.BENCH_PROBE_FILE, JSON.stringify({ hits: lookups - misses, misses }));
});
