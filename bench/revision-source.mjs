// Preloaded into a server under test by bench/revision-source.ts (`node --import`): replaces where
// the catalog cache reads the catalog revision (productsRepository.revision, src/products/), to
// measure the alternatives to the database read. BENCH_REVISION_SOURCE:
//   redis  — a GET of one Redis key (BENCH_REDIS_URL), what a shared revision key would cost;
//   memory — no read at all, a value held in memory: the most a pub/sub-pushed revision could save.
// It patches the same compiled module the server runs. An experiment only: nothing in src/ uses it.
import { createRequire } from 'node:module';
import { productsRepository } from '../dist/src/products/products.repository.js';

const source = process.env.BENCH_REVISION_SOURCE;
if (source === 'redis') {
  const { Redis } = createRequire(import.meta.url)('ioredis');
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const key = process.env.BENCH_REDIS_KEY;
  productsRepository.revision = async () => (await redis.get(key)) ?? '0';
} else if (source === 'memory') {
  productsRepository.revision = async () => '1';
}
