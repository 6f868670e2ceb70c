/**
 * `npm run bench` runs every scenario on MariaDB (a fresh database, created and dropped here),
 * then the comparison scenarios on SQLite; `npm run bench -- catalog cart` runs some;
 * `--mysql` / `--sqlite` only one dialect. Each scenario is measured against a baseline taken
 * in the same run. See bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcrypt';
import type { Knex } from 'knex';
import { signAccessToken } from '../src/auth/access-token.js';
import { productsRepository } from '../src/products/products.repository.js';
import { HASH_CONCURRENCY } from '../src/users/password.js';
import { startCluster } from '../test/helpers/cluster.js';
import { percentile, runMixedLoad } from '../test/helpers/mixed-load.js';
import {
  BIN,
  ROOT,
  START_NODE_FLAGS,
  cannon,
  dbOf,
  freshMariaDatabase,
  meanRunMs,
  migrateAndSeed,
  startBare,
  startStore,
  stableHeaders,
  storeEnv,
  type Figures,
  type Store,
} from './lib.js';
import { growthFigures, SIZES } from './growth.js';

type Dialect = 'mysql' | 'sqlite';
type Row = { scenario: string; baseline: string; figures: Partial<Figures> & { [k: string]: unknown }; ratio?: number; target: string; met: boolean };

const args = process.argv.slice(2);
const DIALECTS: Dialect[] = args.includes('--mysql') ? ['mysql'] : args.includes('--sqlite') ? ['sqlite'] : ['mysql', 'sqlite'];
const ALL = ['catalog', 'logging', 'cart', 'signin', 'mixed', 'memory', 'orders', 'cluster', 'growth', 'cli'] as const;
type Scenario = (typeof ALL)[number];
/** What runs on SQLite too, for comparison (sign-ins and logging do not depend on the dialect). */
const ON_SQLITE: Scenario[] = ['catalog', 'cart', 'mixed', 'memory', 'growth'];
const chosen = args.filter((a) => !a.startsWith('--'));
for (const c of chosen) if (!(ALL as readonly string[]).includes(c)) throw new Error(`unknown scenario ${c}; choose from ${ALL.join(', ')}`);
const wants = (s: Scenario, dialect?: Dialect) => (chosen.length === 0 || chosen.includes(s)) && (dialect !== 'sqlite' || ON_SQLITE.includes(s));
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
/**
 * bcrypt cost of the bench server (BCRYPT_COST) and of the raw loop. Production's default is 12;
 * 10 is 4× cheaper, so a short run sees enough sign-ins to measure (the ratios do not depend on it).
 */
const SIGNIN_COST = 10;
const rows: Row[] = [];
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const NAME: Record<Dialect, string> = { mysql: 'MariaDB', sqlite: 'SQLite' };
const clean = (f: Figures) => f.errors === 0 && f.non2xx === 0;

/** Users straight into the database (one shared bcrypt hash: only tokens are needed) and their Bearer tokens. */
async function makeUsers(store: Store, db: Knex, n: number, prefix: string): Promise<{ ids: number[]; tokens: string[] }> {
  const hash = '$2b$04$C6UzMDM.H6dfI/f/IKcEeO6Ul0cYgFfNHUGMo3q0Q8g6rFMY0N0uK'; // not a usable password
  const rowsToInsert = Array.from({ length: n }, (_, i) => ({
    username: `${prefix}${i}`,
    email: `${prefix}${i}@bench.test`,
    password_hash: hash,
    role: 'customer',
  }));
  for (let i = 0; i < rowsToInsert.length; i += 500) await db('users').insert(rowsToInsert.slice(i, i + 500));
  const users = await db('users').where('username', 'like', `${prefix}%`).orderBy('id').select('id');
  const ids = users.map((u) => Number(u.id));
  return { ids, tokens: ids.map((id) => signAccessToken({ id, role: 'customer' }, store.env.ACCESS_TOKEN_SECRET)) };
}

/** Every product's stock set through the repository's own write (so the catalog's freshness rule sees it). */
async function setAllStock(db: Knex, stock: number): Promise<number[]> {
  const ids = (await db('products').orderBy('id').select('id')).map((p) => Number(p.id));
  for (const id of ids) await productsRepository.update(db, id, { stock });
  return ids;
}

/** A user who can really sign in (through the API, so bcrypt at the server's cost). */
async function signupUser(store: Store, username: string, password: string): Promise<void> {
  const res = await fetch(`${store.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@bench.test`, password }),
  });
  if (res.status !== 201) throw new Error(`signup answered ${res.status}: ${await res.text()}`);
}

async function catalogFigures(store: Store): Promise<{ app: Figures; bare: Figures }> {
  const path_ = '/api/products?limit=20';
  const sample = await fetch(store.url + path_);
  const body = await sample.text();
  if (!sample.ok) throw new Error(`catalog answered ${sample.status}`);
  const bare = await startBare(stableHeaders(sample), body);
  try {
    const bareFigures = await cannon({ url: bare.url + path_, duration: DURATION });
    const app = await cannon({ url: store.url + path_, duration: DURATION });
    return { app, bare: bareFigures };
  } finally {
    await bare.stop();
  }
}

async function main() {
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const cpus = os.cpus();
  console.log(
    `watchstore bench on ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, Node ${process.version}; HTTP scenarios on ${DIALECTS.map((d) => NAME[d]).join(' then ')}.`,
  );
  console.log('The load generator (autocannon) runs on the same cores as the server: figures are ratios within this run.\n');

  for (const dialect of DIALECTS) await httpScenarios(dialect);
  if (wants('orders') && DIALECTS.includes('mysql')) rows.push(await ordersScenario());
  if (wants('cluster') && DIALECTS.includes('mysql')) rows.push(...(await clusterScenario()));
  for (const dialect of DIALECTS) if (wants('growth', dialect)) rows.push(...(await growthScenario(dialect)));

  if (wants('cli')) {
    const node = meanRunMs(process.execPath, ['-e', '0'], 20);
    const help = meanRunMs(process.execPath, [BIN, '--help'], 20);
    const ratio = round(help / node);
    rows.push({
      scenario: '`watchstore --help` cold start',
      baseline: `node -e 0 ${node} ms`,
      figures: { mean_ms: help },
      ratio,
      target: '< 3× node -e 0',
      met: ratio < 3,
    });
  }

  print(rows);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: cpus.length, model: cpus[0]?.model, memory_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    dialects: DIALECTS,
    rows,
  };
  writeFileSync(path.join(ROOT, 'bench', 'results', `${stamp}.json`), JSON.stringify(out, null, 2));
  writeFileSync(path.join(ROOT, 'bench', 'results', 'latest.json'), JSON.stringify(out, null, 2));
  if (rows.some((r) => !r.met)) process.exitCode = 1;
}

async function httpScenarios(dialect: Dialect): Promise<void> {
  const on = NAME[dialect];
  const needed = (['catalog', 'logging', 'cart', 'signin', 'mixed', 'memory'] as const).some((s) => wants(s, dialect));
  if (!needed) return;
  const store = await startStore({
    mysql: dialect === 'mysql',
    nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean),
    extraEnv: { BCRYPT_COST: String(SIGNIN_COST) },
  });
  let catalogRps: number | undefined;
  let catalogP99: number | undefined;
  try {
    if (wants('catalog', dialect) || wants('logging', dialect) || wants('cart', dialect) || wants('signin', dialect)) {
      const { app, bare } = await catalogFigures(store);
      catalogRps = app.rps;
      catalogP99 = app.p99;
      const ratio = round(app.rps / bare.rps);
      rows.push({
        scenario: `catalog listing, 50 connections, ${on}`,
        baseline: `bare node:http ${bare.rps} req/s`,
        figures: app,
        ratio,
        target: '≥ 0.33 of baseline, 0 errors',
        met: ratio >= 1 / 3 && clean(app),
      });
    }

    if (wants('logging', dialect)) {
      // One more server on the same database, logging every request (stdout to /dev/null).
      const verbose = await startStore({ sameDatabaseAs: store, extraEnv: { LOG_LEVEL: 'info' } });
      try {
        const app = await cannon({ url: `${verbose.url}/api/products?limit=20`, duration: DURATION });
        const ratio = catalogRps ? round(app.rps / catalogRps) : undefined;
        rows.push({
          scenario: `catalog with LOG_LEVEL=info (a line per request), ${on}`,
          baseline: `catalog at warn ${catalogRps} req/s`,
          figures: app,
          ratio,
          target: 'report (≥ 0.8 of warn), 0 errors',
          met: clean(app),
        });
      } finally {
        await verbose.stop();
      }
    }

    if (wants('cart', dialect)) rows.push(await cartScenario(store, dialect, catalogRps));
    if (wants('signin', dialect)) rows.push(...(await signinScenarios(store, catalogP99)));
    if (wants('mixed', dialect)) rows.push(...(await mixedScenario(store, dialect)));

    if (wants('memory', dialect)) {
      const rss = store.rssMb();
      rows.push({ scenario: `server memory after the HTTP scenarios, ${on}`, baseline: '—', figures: { rss_mb: rss }, target: 'RSS < 80 MB', met: rss < 80 });
    }
  } finally {
    await store.stop();
  }
}

async function cartScenario(store: Store, dialect: Dialect, catalogRps: number | undefined): Promise<Row> {
  const db = dbOf(store);
  try {
    const [productId] = await setAllStock(db, 1_000_000);
    const { ids, tokens } = await makeUsers(store, db, 50, 'cartbench');
    let next = 0;
    const figures = await cannon({
      url: `${store.url}/api/cart`,
      method: 'POST',
      duration: DURATION,
      connections: 50,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product_id: productId, quantity: 1 }),
      setupClient(client) {
        const token = tokens[next++ % tokens.length];
        client.setHeaders({ 'content-type': 'application/json', authorization: `Bearer ${token}` });
      },
    });
    const lines = await db('cart_items').whereIn('user_id', ids).select('user_id', 'product_id', 'quantity');
    const perUser = new Map<string, number>();
    for (const l of lines) perUser.set(`${l.user_id}:${l.product_id}`, (perUser.get(`${l.user_id}:${l.product_id}`) ?? 0) + 1);
    const duplicates = [...perUser.values()].filter((n) => n > 1).length;
    const stock = Number((await db('products').where({ id: productId }).first('stock')).stock);
    const overStock = lines.filter((l) => Number(l.quantity) > stock).length;
    const added = lines.reduce((s, l) => s + Number(l.quantity), 0);
    const ok2xx = figures.requests - figures.non2xx;
    // Adds still in flight when the load stops are applied but not counted: at most one per connection.
    const consistent = duplicates === 0 && overStock === 0 && added >= ok2xx && added <= ok2xx + 50;
    const floor = dialect === 'mysql' ? 3000 : 5000;
    return {
      scenario: `add to cart, signed in, 50 connections, ${NAME[dialect]}`,
      baseline: `catalog ${catalogRps} req/s`,
      figures: { ...figures, cart_lines: lines.length, duplicate_lines: duplicates, over_stock: overStock, quantity_added: added, answered_2xx: ok2xx },
      ratio: catalogRps ? round(figures.rps / catalogRps) : undefined,
      target: `≥ ${floor.toLocaleString('en')} req/s; one line per user and product, quantity ≤ stock`,
      met: figures.rps >= floor && consistent && figures.errors === 0,
    };
  } finally {
    await db.destroy();
  }
}

/**
 * The limit: a raw bcrypt loop at the sign-in cost, on as many threads as the server lets hash at
 * once (HASH_CONCURRENCY, the same computation on the same machine). Then sign-ins alone, and the
 * catalog while 8 clients sign in.
 */
async function signinScenarios(store: Store, catalogP99: number | undefined): Promise<Row[]> {
  const username = 'signinbench';
  const password = 'bench-password-123';
  await signupUser(store, username, password);
  const hash = await bcrypt.hash(password, SIGNIN_COST);
  let compares = 0;
  const started = performance.now();
  const until = started + DURATION * 1000;
  await Promise.all(
    Array.from({ length: HASH_CONCURRENCY }, async () => {
      while (performance.now() < until) {
        if (!(await bcrypt.compare(password, hash))) throw new Error('raw loop: compare failed');
        compares++;
      }
    }),
  );
  const rawRate = round(compares / ((performance.now() - started) / 1000));

  const signin = {
    url: `${store.url}/api/auth/signin`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: username, password }),
  };
  // Autocannon stops at its deadline, but the sign-ins it had in flight are still queued in the
  // server: one more sign-in, answered after them (the queue is first come, first served), drains it.
  const drain = async () => {
    const res = await fetch(signin.url, { method: 'POST', headers: signin.headers, body: signin.body });
    if (res.status !== 200) throw new Error(`sign-in answered ${res.status}`);
  };
  const alone = await cannon({ ...signin, connections: 8, duration: DURATION });
  const aloneRate = round(alone.requests / alone.duration_s);
  await drain();
  const signins = cannon({ ...signin, connections: 8, duration: DURATION + 2 });
  await new Promise((r) => setTimeout(r, 1000)); // let the sign-ins fill the hashing slots first
  const catalog = await cannon({ url: `${store.url}/api/products?limit=20`, duration: DURATION });
  const s = await signins;
  await drain();
  return [
    {
      scenario: `sign-ins alone, 8 clients, bcrypt cost ${SIGNIN_COST}`,
      baseline: `raw bcrypt loop ${rawRate}/s on ${HASH_CONCURRENCY} thread(s)`,
      figures: { ...alone, rps: aloneRate, raw_compares_per_s: rawRate },
      ratio: round(aloneRate / rawRate),
      target: '≥ 0.8 of the raw loop, 0 errors',
      met: aloneRate >= 0.8 * rawRate && clean(alone),
    },
    {
      scenario: 'catalog while 8 clients sign in',
      baseline: `catalog alone p99 ${catalogP99} ms`,
      figures: { ...catalog, signins_per_s: round(s.requests / s.duration_s), signin_p99: s.p99, signin_non2xx: s.non2xx },
      target: 'catalog p99 < 20 ms',
      met: catalog.p99 < 20 && clean(catalog) && s.non2xx === 0,
    },
  ];
}

/**
 * Mixed traffic, all at once for 2 × DURATION: browsing (the listing, searches, pages, sorts,
 * product pages), signed-in users adding to and reading their carts, others placing orders
 * (add, then order), and a trickle of sign-ins. Each kind's figures, and the catalog cache's hit
 * rate over the run.
 */
async function mixedScenario(store: Store, dialect: Dialect): Promise<Row[]> {
  const db = dbOf(store);
  try {
    const productIds = await setAllStock(db, 1_000_000);
    const shoppers = await makeUsers(store, db, 40, 'mixcart');
    const buyers = await makeUsers(store, db, 10, 'mixorder');
    await signupUser(store, 'mixsignin', 'bench-password-123');
    const listing = (await (await fetch(`${store.url}/api/products?limit=100`)).json()) as { items?: { name: string }[]; products?: { name: string }[] };
    const names = (listing.items ?? listing.products ?? []).map((p) => p.name);
    const words = [...new Set(names.flatMap((n) => n.toLowerCase().split(/\W+/)).filter((w) => w.length > 3))].slice(0, 12);
    const browsePaths = [
      '/api/products',
      '/api/products?limit=20',
      '/api/products?sort=price',
      '/api/products?sort=-price&limit=10',
      '/api/products?limit=5&offset=5',
      '/api/products?limit=5&offset=10',
      '/api/products?in_stock=true',
      '/api/products?min_price=100&max_price=5000',
      ...words.map((w) => `/api/products?q=${encodeURIComponent(w)}`),
      ...productIds.slice(0, 8).map((id) => `/api/products/${id}`),
    ];
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
    const json = { 'content-type': 'application/json' };
    /**
     * Requests as one signed-in user per connection: autocannon's per-connection context keeps
     * the token (headers set by setupClient do not reach requests that have a setupRequest).
     */
    const asUser = (tokens: string[]) => {
      let next = 0;
      return (method: 'GET' | 'POST', path: string, body?: () => string) => ({
        method,
        path,
        setupRequest: (req: object, context: { token?: string }) => {
          context.token ??= tokens[next++ % tokens.length];
          return { ...req, method, path, headers: { ...json, authorization: `Bearer ${context.token}` }, ...(body ? { body: body() } : {}) };
        },
      });
    };
    const addOne = () => JSON.stringify({ product_id: pick(productIds), quantity: 1 });
    const shopper = asUser(shoppers.tokens);
    const buyer = asUser(buyers.tokens);
    const duration = DURATION * 2;
    const before = await store.cacheCounts();
    const [browse, cart, orders, signins] = await Promise.all([
      cannon({ url: store.url, connections: 20, duration, requests: [{ setupRequest: (req) => ({ ...req, path: pick(browsePaths) }) }] }),
      cannon({
        url: store.url,
        connections: 16,
        duration,
        requests: [shopper('POST', '/api/cart', addOne), shopper('GET', '/api/cart')],
      }),
      cannon({
        url: store.url,
        connections: 4,
        duration,
        requests: [buyer('POST', '/api/cart', addOne), buyer('POST', '/api/orders', () => '{}')],
      }),
      cannon({
        url: `${store.url}/api/auth/signin`,
        method: 'POST',
        connections: 1,
        duration,
        headers: json,
        body: JSON.stringify({ login: 'mixsignin', password: 'bench-password-123' }),
      }),
    ]);
    const after = await store.cacheCounts();
    const hits = after.hits - before.hits;
    const misses = after.misses - before.misses;
    const hitRate = hits + misses ? round(hits / (hits + misses), 3) : 0;
    const orderCount = Number((await db('orders').whereIn('user_id', buyers.ids).count({ n: '*' }))[0].n);
    const kinds: [string, Figures, Record<string, unknown>][] = [
      [
        'browsing (listing, searches, pages, product pages), 20 conn.',
        browse,
        { catalog_cache_hits: hits, catalog_cache_misses: misses, catalog_cache_hit_rate: hitRate },
      ],
      ['cart adds and reads, 40 users, 16 conn.', cart, {}],
      ['add then order, 10 users, 4 conn.', orders, { orders_created: orderCount }],
      ['sign-ins, 1 conn.', signins, {}],
    ];
    return kinds.map(([what, f, extra]) => ({
      scenario: `mixed, ${NAME[dialect]}: ${what}`,
      baseline: '—',
      figures: { ...f, rps: round(f.requests / f.duration_s, 0), ...extra },
      target: 'no errors, no non-2xx',
      met: clean(f),
    }));
  } finally {
    await db.destroy();
  }
}

/** Many users with one item each place orders at once, on MariaDB. */
async function ordersScenario(): Promise<Row> {
  const store = await startStore({ mysql: true, nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) });
  const db = dbOf(store);
  try {
    const USERS = 3000;
    const stockEach = 100;
    const products = await setAllStock(db, stockEach);
    const initialStock = products.length * stockEach;
    const { ids, tokens } = await makeUsers(store, db, USERS, 'orderbench');
    const lines = ids.map((user_id, i) => ({ user_id, product_id: products[i % products.length], quantity: 1 }));
    for (let i = 0; i < lines.length; i += 500) await db('cart_items').insert(lines.slice(i, i + 500));
    let next = 0;
    // Timed here, from the start to the last answer: with a request count autocannon reports
    // whole seconds only, and it ends on its next one-second tick.
    const started = performance.now();
    let lastAnswer = started;
    const figures = await cannon({
      url: `${store.url}/api/orders`,
      method: 'POST',
      connections: 50,
      amount: USERS,
      setupClient(client) {
        client.on('response', () => {
          lastAnswer = performance.now();
        });
      },
      requests: [
        {
          setupRequest(req) {
            const token = tokens[next++];
            return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } };
          },
        },
      ],
    });
    const seconds = (lastAnswer - started) / 1000;
    const orders = Number((await db('orders').count({ n: '*' }))[0].n);
    const taken = Number((await db('order_items').sum({ q: 'quantity' }))[0].q ?? 0);
    const left = Number((await db('products').sum({ s: 'stock' }))[0].s);
    const negative = Number((await db('products').where('stock', '<', 0).count({ n: '*' }))[0].n);
    const ordersPerSecond = Math.round(orders / seconds);
    const consistent = negative === 0 && taken === initialStock - left && orders === figures.requests - figures.non2xx;
    return {
      scenario: `order creation, ${USERS} users with one item each, MariaDB`,
      baseline: '—',
      figures: {
        ...figures,
        rps: Math.round(figures.requests / seconds),
        duration_s: Math.round(seconds * 100) / 100,
        orders,
        orders_per_s: ordersPerSecond,
        stock_taken: taken,
        stock_left: left,
        negative_stock_rows: negative,
      },
      target: '≥ 500 orders/s; stock ≥ 0; orders = stock taken',
      met: ordersPerSecond >= 500 && consistent && figures.errors === 0,
    };
  } finally {
    await db.destroy();
    await store.stop();
  }
}

/**
 * The production topology (test/helpers/cluster.ts: nginx with deploy/'s site, `watchstore serve`
 * processes with npm start's Node flags) with 1 and then 3 instances on one fresh MariaDB
 * database, under the cluster test's mixed load (test/helpers/mixed-load.ts: browsing, carts,
 * add-then-order with an Idempotency-Key retry, a few sign-ins) from 16 workers for 2 × DURATION.
 * On 2 cores 3 instances cannot be faster than 1: the figures to watch are errors and p99.
 */
async function clusterScenario(): Promise<Row[]> {
  const database = await freshMariaDatabase();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ws-bench-cluster-'));
  const env = storeEnv(database.url, workDir, { BCRYPT_COST: String(SIGNIN_COST) });
  const rowsOut: Row[] = [];
  try {
    migrateAndSeed(env);
    const db = dbOf({ databaseUrl: database.url } as Store);
    const workers = 16;
    const password = 'bench-password-123';
    let users: Parameters<typeof runMixedLoad>[1];
    try {
      const productIds = await setAllStock(db, 1_000_000);
      const store = { env } as Store;
      const shoppers = await makeUsers(store, db, workers, 'clshop');
      const buyers = await makeUsers(store, db, workers, 'clbuy');
      const hash = await bcrypt.hash(password, SIGNIN_COST);
      const signers = Array.from({ length: 10 }, (_, i) => ({ username: `clsign${i}`, email: `clsign${i}@bench.test`, password_hash: hash, role: 'customer' }));
      await db('users').insert(signers);
      users = {
        productIds,
        shoppers: shoppers.ids.map((id, i) => ({ id, token: shoppers.tokens[i] })),
        buyers: buyers.ids.map((id, i) => ({ id, token: buyers.tokens[i] })),
        signers: signers.map((s) => ({ login: s.username, password })),
        signinsPerSigner: 3,
      };
    } finally {
      await db.destroy();
    }
    for (const instances of [1, 3]) {
      const cluster = await startCluster({ instances, env, nodeArgs: START_NODE_FLAGS });
      try {
        const r = await runMixedLoad(cluster.url, users, { concurrency: workers, maxRequests: 1_000_000, maxMs: DURATION * 2 * 1000 });
        const all = Object.values(r.perKind).flatMap((k) => k.latencies);
        const kinds = Object.fromEntries(Object.entries(r.perKind).map(([k, v]) => [`${k}_p99`, Math.round(percentile(v.latencies, 99))]));
        rowsOut.push({
          scenario: `cluster: nginx + ${instances} instance${instances === 1 ? '' : 's'}, MariaDB, mixed traffic, ${workers} workers`,
          baseline: '—',
          figures: {
            rps: Math.round(r.requests / r.seconds),
            p50: Math.round(percentile(all, 50)),
            p99: Math.round(percentile(all, 99)),
            errors: r.failures.length,
            non2xx: r.failures.filter((f) => f.status !== 0).length,
            requests: r.requests,
            duration_s: Math.round(r.seconds * 10) / 10,
            ...kinds,
            ...(r.failures.length ? { first_failure: r.failures[0] } : {}),
          },
          target: 'no failed request',
          met: r.failures.length === 0,
        });
      } finally {
        await cluster.close();
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    await database.drop();
  }
  return rowsOut;
}

/** The catalog's database cost at 1,000 / 10,000 / 100,000 products (bench/growth.ts): p99 at the largest, the rest as extras. */
async function growthScenario(dialect: Dialect): Promise<Row[]> {
  const sizes = SIZES.map((n) => `${n / 1000}k`);
  return (await growthFigures(dialect === 'mysql')).map((f) => ({
    scenario: `catalog growth: ${f.query}, ${NAME[dialect]}`,
    baseline: `the same at ${sizes[0]} products`,
    figures: {
      p50: f.p50.at(-1),
      p99: f.p99.at(-1),
      ...Object.fromEntries(sizes.map((s, i) => [`p99_${s}`, f.p99[i]])),
      runs: f.runs.join('/'),
    },
    ratio: round((f.p99.at(-1) ?? 0) / (f.p99[0] || 1)),
    target: 'reported',
    met: true,
  }));
}

function print(rs: Row[]) {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'baseline', 'ratio', 'target', 'met'];
  const body = rs.map((r) =>
    [
      r.scenario,
      r.figures.rps ?? r.figures.orders_per_s ?? r.figures.mean_ms ?? r.figures.rss_mb ?? '',
      r.figures.p50 ?? '',
      r.figures.p99 ?? '',
      r.figures.errors === undefined ? '' : `${r.figures.errors}/${r.figures.non2xx} non-2xx`,
      r.baseline,
      r.ratio ?? '',
      r.target,
      r.met ? 'yes' : 'NO',
    ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const b of body) console.log(line(b));
  for (const r of rs) {
    const extra = Object.entries(r.figures).filter(([k]) => !['rps', 'p50', 'p99', 'errors', 'non2xx', 'requests', 'duration_s'].includes(k));
    if (extra.length) console.log(`  ${r.scenario}: ${extra.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
