/**
 * Issue 14, "rendered pages shared across instances": does sharing rendered catalog pages through
 * Redis pay? nginx with deploy/'s site (test/helpers/cluster.ts) in front of 1, then 3,
 * `watchstore serve` on one MariaDB database, under the cluster test's mixed load
 * (test/helpers/mixed-load.ts: browsing, carts, add-then-order — every order changes stock, so the
 * catalog revision moves all the time — and a few sign-ins), 16 workers for 2 × BENCH_DURATION.
 * Two variants, alternated in each round: **db** (src/ as it is: each instance renders each page
 * from the database after each revision change) and **redis** (the preload bench/shared-pages.mjs:
 * on a local miss, a Redis GET of `<prefix>:catalog:<revision>:<query key>` first, and a page
 * rendered locally is SET there). Neither variant has REDIS_URL (rate limits, outbox), so only the
 * page sharing differs. Figures and decision (not kept): bench/README.md, "Decisions measured in issue 14".
 *
 *   npm run build && flock /work/notes/bench.lock node --import tsx bench/shared-pages.ts   # BENCH_DURATION=5, BENCH_ROUNDS=2
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import bcrypt from 'bcrypt';
import { Redis } from 'ioredis';
import { signAccessToken } from '../src/auth/access-token.js';
import { productsRepository } from '../src/products/products.repository.js';
import { startCluster } from '../test/helpers/cluster.js';
import { percentile, runMixedLoad } from '../test/helpers/mixed-load.js';
import { dbOf, freshMariaDatabase, migrateAndSeed, ROOT, START_NODE_FLAGS, type Store, storeEnv } from './lib.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const VARIANTS = ['db', 'redis'] as const;
const WORKERS = 16;
const prefix = `watchstore-bench-pages:${randomBytes(4).toString('hex')}`;
const preload = `--import=${pathToFileURL(path.join(ROOT, 'bench', 'shared-pages.mjs')).href}`;

async function main() {
  const database = await freshMariaDatabase();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ws-bench-pages-'));
  const statsDir = path.join(workDir, 'stats');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    mkdirSync(statsDir);
    const env = storeEnv(database.url, workDir, { BCRYPT_COST: '10', OUTBOX_WORKER: 'false' });
    migrateAndSeed(env);
    const db = dbOf({ databaseUrl: database.url } as Store);
    let users: Parameters<typeof runMixedLoad>[1];
    try {
      const productIds = (await db('products').orderBy('id').select('id')).map((p) => Number(p.id));
      for (const id of productIds) await productsRepository.update(db, id, { stock: 1_000_000 });
      const hash = await bcrypt.hash('bench-password-123', 10);
      const mk = async (p: string, n: number) => {
        await db('users').insert(
          Array.from({ length: n }, (_, i) => ({ username: `${p}${i}`, email: `${p}${i}@bench.test`, password_hash: hash, role: 'customer' })),
        );
        return (await db('users').where('username', 'like', `${p}%`).orderBy('id').select('id')).map((u) => Number(u.id));
      };
      const tok = (id: number) => signAccessToken({ id, role: 'customer' }, env.ACCESS_TOKEN_SECRET);
      const shoppers = await mk('pgshop', WORKERS);
      const buyers = await mk('pgbuy', WORKERS);
      const signers = await mk('pgsign', 10);
      users = {
        productIds,
        shoppers: shoppers.map((id) => ({ id, token: tok(id) })),
        buyers: buyers.map((id) => ({ id, token: tok(id) })),
        signers: signers.map((_, i) => ({ login: `pgsign${i}`, password: 'bench-password-123' })),
        signinsPerSigner: 3,
      };
    } finally {
      await db.destroy();
    }
    console.log(
      'instances | variant | round | req/s | browse req/s | browse p50 | browse p99 | all p99 | orders/s | failures | local hits/misses | redis hits/misses/errors',
    );
    for (const instances of [1, 3]) {
      for (let round = 1; round <= ROUNDS; round++) {
        for (const variant of VARIANTS) {
          for (const f of readdirSync(statsDir)) rmSync(path.join(statsDir, f));
          const cluster = await startCluster({
            instances,
            env: {
              ...env,
              BENCH_SHARED_PAGES: variant,
              BENCH_REDIS_URL: REDIS_URL,
              BENCH_REDIS_PREFIX: `${prefix}:${instances}:${round}`,
              BENCH_PAGES_STATS_DIR: statsDir,
            },
            nodeArgs: [...START_NODE_FLAGS, preload],
          });
          try {
            const r = await runMixedLoad(cluster.url, users, { concurrency: WORKERS, maxRequests: 1_000_000, maxMs: DURATION * 2 * 1000 });
            const all = Object.values(r.perKind).flatMap((k) => k.latencies);
            const browse = r.perKind.browse.latencies;
            for (const inst of cluster.instances) inst.proc?.child.kill('SIGUSR2');
            await new Promise((res) => setTimeout(res, 300));
            const st = readdirSync(statsDir)
              .filter((f) => f.endsWith('.json'))
              .map((f) => JSON.parse(readFileSync(path.join(statsDir, f), 'utf8')));
            const sum = (k: string) => st.reduce((a, s) => a + (s[k] ?? 0), 0);
            console.log(
              [
                instances,
                variant,
                round,
                Math.round(r.requests / r.seconds),
                Math.round(browse.length / r.seconds),
                Math.round(percentile(browse, 50)),
                Math.round(percentile(browse, 99)),
                Math.round(percentile(all, 99)),
                Math.round(r.orders.size / r.seconds),
                r.failures.length,
                `${sum('hits')}/${sum('misses')}`,
                `${sum('redis_hits')}/${sum('redis_misses')}/${sum('redis_errors')}`,
              ].join(' | '),
            );
          } finally {
            await cluster.close();
          }
        }
      }
    }
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    rmSync(workDir, { recursive: true, force: true });
    await database.drop();
  }
}

await main();
