/**
 * Where the catalog cache should read the catalog revision from (issue 14, "Redis where it pays"):
 * the database (what src/ does: one primary-key read of catalog_revision, shared by concurrent
 * requests), a Redis key, or nowhere (the revision pushed by pub/sub and held in memory — the
 * most any push could save). `GET /api/products?limit=20` on MariaDB with 1 and with 3 servers on
 * one database (the 3 share the 50 connections), variants alternated A, B, C, A, B, C.
 *
 *   flock /work/notes/bench.lock node --import tsx bench/revision-source.ts   # BENCH_DURATION=5, BENCH_ROUNDS=2
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { cannon, type Figures, ROOT, type Store, startStore } from './lib.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const VARIANTS = ['db', 'redis', 'memory'] as const;
type Variant = (typeof VARIANTS)[number];

const key = `watchstore-bench:${randomBytes(4).toString('hex')}:catalog:revision`;
const preload = `--import=${pathToFileURL(path.join(ROOT, 'bench', 'revision-source.mjs')).href}`;

async function servers(base: Store, variant: Variant, n: number): Promise<Store[]> {
  const extraEnv = { BENCH_REVISION_SOURCE: variant, BENCH_REDIS_URL: REDIS_URL, BENCH_REDIS_KEY: key, OUTBOX_WORKER: 'false' };
  return Promise.all(Array.from({ length: n }, () => startStore({ sameDatabaseAs: base, extraEnv, nodeArgs: [preload] })));
}

/** 50 connections spread over the servers, at once; req/s summed, p99 the worst. */
async function load(stores: Store[]): Promise<Figures> {
  const per = Math.floor(50 / stores.length);
  const runs = await Promise.all(
    stores.map((s, i) => cannon({ url: `${s.url}/api/products?limit=20`, duration: DURATION, connections: per + (i < 50 % stores.length ? 1 : 0) })),
  );
  return {
    rps: runs.reduce((a, r) => a + r.rps, 0),
    p50: Math.max(...runs.map((r) => r.p50)),
    p99: Math.max(...runs.map((r) => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
    requests: runs.reduce((a, r) => a + r.requests, 0),
    duration_s: DURATION,
    status: {},
  };
}

async function main() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.set(key, '1');
  // The base store only creates, migrates and seeds the database; the measured servers run beside it.
  const base = await startStore({ mysql: true, extraEnv: { OUTBOX_WORKER: 'false' } });
  const results: { instances: number; variant: Variant; round: number; figures: Figures }[] = [];
  try {
    for (const n of [1, 3]) {
      for (let round = 1; round <= ROUNDS; round++) {
        for (const variant of VARIANTS) {
          const stores = await servers(base, variant, n);
          try {
            await load(stores); // warm-up: JIT, pools, the cached page
            const figures = await load(stores);
            results.push({ instances: n, variant, round, figures });
            console.log(
              `${n} instance(s), ${variant.padEnd(6)} round ${round}: ${figures.rps} req/s, p50 ${figures.p50} ms, p99 ${figures.p99} ms, errors ${figures.errors}, non-2xx ${figures.non2xx}`,
            );
          } finally {
            await Promise.all(stores.map((s) => s.stop()));
          }
        }
      }
    }
  } finally {
    await base.stop();
    await redis.del(key);
    await redis.quit();
  }
}

await main();
