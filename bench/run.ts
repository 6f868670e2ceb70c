/**
 * `npm run bench` runs every scenario; `npm run bench -- catalog cart` runs some; `--mysql` serves
 * the HTTP scenarios from a fresh MariaDB database instead of SQLite (the order scenario always
 * uses MariaDB). Each scenario is measured against a baseline taken in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { signAccessToken } from '../src/auth/access-token.js';
import { BIN, ROOT, cannon, dbOf, meanRunMs, startBare, startStore, stableHeaders, type Figures, type Store } from './lib.js';

type Row = { scenario: string; baseline: string; figures: Partial<Figures> & { [k: string]: unknown }; ratio?: number; target: string; met: boolean };

const args = process.argv.slice(2);
const useMysql = args.includes('--mysql');
const ALL = ['catalog', 'cart', 'signin', 'orders', 'cli', 'memory'] as const;
const chosen = args.filter((a) => !a.startsWith('--'));
for (const c of chosen) if (!(ALL as readonly string[]).includes(c)) throw new Error(`unknown scenario ${c}; choose from ${ALL.join(', ')}`);
const wants = (s: (typeof ALL)[number]) => chosen.length === 0 || chosen.includes(s);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const rows: Row[] = [];
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

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
  console.log(`watchstore bench on ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, Node ${process.version}, ${useMysql ? 'MariaDB' : 'SQLite'} store.`);
  console.log('The load generator (autocannon) runs on the same cores as the server: figures are ratios within this run.\n');

  let catalogRps: number | undefined;
  let catalogP99: number | undefined;
  const needsStore = wants('catalog') || wants('cart') || wants('signin') || wants('memory');
  const store = needsStore ? await startStore({ mysql: useMysql, nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) }) : undefined;
  try {
    if (store && (wants('catalog') || wants('cart') || wants('signin'))) {
      const { app, bare } = await catalogFigures(store);
      catalogRps = app.rps;
      catalogP99 = app.p99;
      const ratio = round(app.rps / bare.rps);
      rows.push({
        scenario: 'catalog listing, 50 connections',
        baseline: `bare node:http ${bare.rps} req/s`,
        figures: app,
        ratio,
        target: '≥ 0.33 of baseline, p99 < 10 ms, 0 errors',
        met: ratio >= 1 / 3 && app.p99 < 10 && app.errors === 0 && app.non2xx === 0,
      });
    }

    if (store && wants('cart')) {
      const db = dbOf(store);
      try {
        const product = await db('products').orderBy('id').first('id');
        const productId = Number(product.id);
        await db('products')
          .where({ id: productId })
          .update({ stock: 1_000_000, version: db.raw('version + 1') });
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
        rows.push({
          scenario: 'add to cart, signed in, 50 connections',
          baseline: `catalog ${catalogRps} req/s`,
          figures: { ...figures, cart_lines: lines.length, duplicate_lines: duplicates, over_stock: overStock, quantity_added: added, answered_2xx: ok2xx },
          ratio: catalogRps ? round(figures.rps / catalogRps) : undefined,
          target: '≥ 5,000 req/s; one line per user and product, quantity ≤ stock',
          met: figures.rps >= 5000 && consistent && figures.errors === 0,
        });
      } finally {
        await db.destroy();
      }
    }

    if (store && wants('signin')) {
      const username = 'signinbench';
      const password = 'bench-password-123';
      const signup = await fetch(`${store.url}/api/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, email: 'signin@bench.test', password }),
      });
      if (signup.status !== 201) throw new Error(`signup answered ${signup.status}: ${await signup.text()}`);
      const signins = cannon({
        url: `${store.url}/api/auth/signin`,
        method: 'POST',
        connections: 8,
        duration: DURATION + 2,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: username, password }),
      });
      await new Promise((r) => setTimeout(r, 1000)); // let the sign-ins saturate the bcrypt pool first
      const catalog = await cannon({ url: `${store.url}/api/products?limit=20`, duration: DURATION });
      const s = await signins;
      rows.push({
        scenario: 'catalog while 8 clients sign in',
        baseline: `catalog alone p99 ${catalogP99} ms`,
        figures: { ...catalog, signins_per_s: s.rps, signin_p99: s.p99, signin_non2xx: s.non2xx },
        target: 'catalog p99 < 20 ms',
        met: catalog.p99 < 20 && catalog.errors === 0 && s.non2xx === 0,
      });
    }

    if (store && wants('memory')) {
      const rss = store.rssMb();
      rows.push({ scenario: 'server memory after the HTTP scenarios', baseline: '—', figures: { rss_mb: rss }, target: 'RSS < 80 MB', met: rss < 80 });
    }
  } finally {
    await store?.stop();
  }

  if (wants('orders')) rows.push(await ordersScenario());

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
    dialect: useMysql ? 'mysql' : 'sqlite',
    rows,
  };
  writeFileSync(path.join(ROOT, 'bench', 'results', `${stamp}.json`), JSON.stringify(out, null, 2));
  writeFileSync(path.join(ROOT, 'bench', 'results', 'latest.json'), JSON.stringify(out, null, 2));
  if (rows.some((r) => !r.met)) process.exitCode = 1;
}

/** Many users with one item each place orders at once, on MariaDB. */
async function ordersScenario(): Promise<Row> {
  const store = await startStore({ mysql: true });
  const db = dbOf(store);
  try {
    const USERS = 3000;
    const products = await db('products').orderBy('id').select('id');
    const stockEach = 100;
    await db('products').update({ stock: stockEach, version: db.raw('version + 1') });
    const initialStock = products.length * stockEach;
    const { ids, tokens } = await makeUsers(store, db, USERS, 'orderbench');
    const lines = ids.map((user_id, i) => ({ user_id, product_id: Number(products[i % products.length].id), quantity: 1 }));
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
    if (extra.length) console.log(`  ${r.scenario}: ${extra.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
