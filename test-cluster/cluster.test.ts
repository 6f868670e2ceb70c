/**
 * The production topology, whole: nginx with deploy/'s site in front of 3 `watchstore serve`
 * processes (compiled: `npm run test:cluster` builds first) on one fresh MariaDB database and one
 * Redis, with their outbox workers sending to a real SMTP server. Run by `npm run test:cluster`
 * (not by `npm test`), and by .ci/run on its MariaDB pass. README.md, "Production": the topology.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { signAccessToken } from '../src/auth/access-token.js';
import { type Cluster, startCluster } from '../test/helpers/cluster.js';
import { createMariaDatabase, type MariaDatabase } from '../test/helpers/db.js';
import { httpClient, KINDS, type LoadResult, percentile, runMixedLoad } from '../test/helpers/mixed-load.js';
import { createProduct, createUser } from '../test/helpers/services.js';
import { startSmtp, type TestSmtp } from '../test/helpers/smtp.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = process.env.ACCESS_TOKEN_SECRET!;
const PASSWORD = 'correct horse 1';
const INSTANCES = 3;

let cluster: Cluster;
let database: MariaDatabase;
let smtp: TestSmtp;
let redis: Redis;
const prefix = `watchstore-test:cluster:${process.pid}:${randomBytes(4).toString('hex')}`;
const http = httpClient();
const run = randomBytes(3).toString('hex');
let seq = 0;

async function user(role: 'customer' | 'staff' | 'admin' = 'customer') {
  const name = `${role[0]}${run}_${++seq}`;
  const u = await createUser(database.db, { username: name, email: `${name}@example.com`, password: PASSWORD, role });
  return { id: u.id, login: name, token: signAccessToken({ id: u.id, role }, SECRET) };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test.before(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  database = await createMariaDatabase();
  smtp = await startSmtp();
  cluster = await startCluster({
    instances: INSTANCES,
    env: {
      DATABASE_URL: database.url,
      REDIS_URL,
      RATE_LIMIT_PREFIX: prefix,
      // The load signs in from one address; the per account+address limit is the one tested.
      RATE_LIMIT_SIGNIN_PER_IP: '1000',
      RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '5',
      RATE_LIMIT_WINDOW_MS: '600000',
      // A line per request with nginx's request id: which instance answered what.
      LOG_LEVEL: 'info',
      SMTP_URL: smtp.url,
      OUTBOX_POLL_MS: '200',
    },
  });
});

test.after.always(async () => {
  http.close();
  await cluster?.close();
  await smtp?.stop();
  await database?.drop();
  if (redis) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});

test.serial(
  'nginx runs the shipped site: images from IMAGES_DIR by nginx itself, an unknown image the app’s JSON 404, an oversized body the API’s 413',
  async (t) => {
    t.regex(cluster.site, /proxy_next_upstream error timeout;/);
    t.notRegex(cluster.site, /\$\{WATCHSTORE_/);
    const [file] = (await import('node:fs')).readdirSync(cluster.imagesDir);
    const img = await http.request(`${cluster.url}/images/${file}`);
    t.is(img.status, 200);
    t.is(img.headers['content-type'], 'image/svg+xml');
    t.regex(String(img.headers['content-security-policy']), /sandbox/);
    t.is(img.headers['x-request-id'], undefined, 'served by nginx, not by an instance');
    const missing = await http.request(`${cluster.url}/images/no-such-watch.svg`);
    t.is(missing.status, 404);
    t.is(missing.body.error.code, 'NOT_FOUND');
    t.truthy(missing.headers['x-request-id'], 'the app answered');

    const c = await user();
    const big = await http.request(`${cluster.url}/api/cart`, { method: 'POST', headers: bearer(c.token), body: { product_id: 1, note: 'x'.repeat(200_000) } });
    t.is(big.status, 413);
    t.is(big.body.error.code, 'PAYLOAD_TOO_LARGE');
  },
);

test.serial('a product changed through one instance is seen by every instance on its next listing', async (t) => {
  const admin = await user('admin');
  const p = await createProduct(database.db, { name: `Cluster Diver ${run}`, price: '199.00', stock: 5 });
  const listed = async (url: string) => {
    const res = await http.request(`${url}/api/products?limit=100&sort=newest`);
    t.is(res.status, 200);
    return res.body.items.find((i: { id: number }) => i.id === p.id);
  };
  // Every instance has the listing in its cache before the change.
  for (const inst of cluster.instances) t.is((await listed(inst.url)).name, `Cluster Diver ${run}`);
  const patched = await http.request(`${cluster.instances[1].url}/api/admin/products/${p.id}`, {
    method: 'PATCH',
    headers: bearer(admin.token),
    body: { name: `Cluster Diver ${run} II`, price: '249.00' },
  });
  t.is(patched.status, 200, JSON.stringify(patched.body));
  for (const inst of cluster.instances) {
    const item = await listed(inst.url);
    t.is(item.name, `Cluster Diver ${run} II`, inst.url);
    t.is(item.price, 249, inst.url);
  }
  t.is((await listed(cluster.url)).name, `Cluster Diver ${run} II`);
});

test.serial('15 buyers ordering the last 5 of a watch at once, spread over the instances: 5 orders, 10 OUT_OF_STOCK, stock 0', async (t) => {
  const p = await createProduct(database.db, { name: `Scarce ${run}`, price: '999.00', stock: 5 });
  const buyers = await Promise.all(Array.from({ length: 15 }, () => user()));
  for (const b of buyers) {
    const res = await http.request(`${cluster.url}/api/cart`, { method: 'POST', headers: bearer(b.token), body: { product_id: p.id, quantity: 1 } });
    t.is(res.status, 200);
  }
  const answers = await Promise.all(
    buyers.map((b, i) => http.request(`${cluster.url}/api/orders`, { method: 'POST', headers: { ...bearer(b.token), 'idempotency-key': `scarce-${i}` } })),
  );
  const statuses = answers.map((a) => a.status).sort();
  t.deepEqual(statuses, [...Array(5).fill(201), ...Array(10).fill(409)]);
  for (const a of answers.filter((x) => x.status === 409)) t.is(a.body.error.code, 'OUT_OF_STOCK');
  t.is(Number((await database.db('products').where({ id: p.id }).first()).stock), 0);
  const sold = await database.db('order_items').where({ product_id: p.id }).sum({ q: 'quantity' });
  t.is(Number(sold[0].q), 5);
  // The orders were answered by more than one instance.
  const ids = new Set(answers.map((a) => a.headers['x-request-id']));
  const servedBy = cluster.instances.filter((inst) => inst.lines.some((l) => l.msg === 'request' && ids.has(String(l.req_id))));
  t.true(servedBy.length > 1, `orders answered by ${servedBy.length} instance(s)`);
});

test.serial('sign-in limits are shared: the same account from the same address is limited once, on every instance, not once per instance', async (t) => {
  const victim = await user();
  const from = (localAddress: string) => httpClient({ localAddress });
  const attacker = from('127.0.0.9');
  const other = from('127.0.0.10');
  t.teardown(() => {
    attacker.close();
    other.close();
  });
  const signin = (c: ReturnType<typeof httpClient>, url: string, password = 'wrong password', headers: Record<string, string> = {}) =>
    c.request(`${url}/api/auth/signin`, { method: 'POST', body: { login: victim.login, password }, headers });
  // RATE_LIMIT_SIGNIN_PER_IP_LOGIN=5: five wrong passwords through nginx (spread over the instances).
  for (let i = 0; i < 5; i++) t.is((await signin(attacker, cluster.url)).status, 401, `attempt ${i + 1}`);
  const limited = await signin(attacker, cluster.url, PASSWORD);
  t.is(limited.status, 429);
  t.is(limited.body.error.code, 'RATE_LIMITED');
  // Each instance, asked directly for the same client (TRUST_PROXY: the address nginx would append), says the same.
  for (const inst of cluster.instances) t.is((await signin(attacker, inst.url, PASSWORD, { 'x-forwarded-for': '127.0.0.9' })).status, 429, inst.url);
  // The same account from another address is not limited.
  t.is((await signin(other, cluster.url, PASSWORD)).status, 200);
});

test.serial('a role change or a disabled account through one instance takes effect on every instance at the next request', async (t) => {
  const admin = await user('admin');
  const demoted = await user('staff');
  const disabled = await user('staff');
  const products = (url: string, token: string) => http.request(`${url}/api/admin/products`, { headers: bearer(token) });
  for (const inst of cluster.instances) {
    t.is((await products(inst.url, demoted.token)).status, 200);
    t.is((await products(inst.url, disabled.token)).status, 200);
  }
  const patch = (id: number, body: unknown) =>
    http.request(`${cluster.instances[0].url}/api/admin/users/${id}`, { method: 'PATCH', headers: bearer(admin.token), body });
  t.is((await patch(demoted.id, { role: 'customer' })).status, 200);
  t.is((await patch(disabled.id, { disabled: true })).status, 200);
  for (const inst of cluster.instances) {
    const forbidden = await products(inst.url, demoted.token);
    t.is(forbidden.status, 403, inst.url);
    t.is(forbidden.body.error.code, 'FORBIDDEN');
    const gone = await products(inst.url, disabled.token);
    t.is(gone.status, 401, inst.url);
    t.is(gone.body.error.code, 'UNAUTHENTICATED');
  }
});

test.serial(
  'a disabled customer’s session ends on every instance: its access token on the cart, refreshing and signing in are refused everywhere',
  async (t) => {
    const admin = await user('admin');
    const customer = await user();
    const signedIn = await http.request(`${cluster.url}/api/auth/signin`, { method: 'POST', body: { login: customer.login, password: PASSWORD } });
    t.is(signedIn.status, 200);
    const cookies = (signedIn.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    for (const inst of cluster.instances) t.is((await http.request(`${inst.url}/api/cart`, { headers: { cookie: cookies } })).status, 200, inst.url);
    t.is(
      (await http.request(`${cluster.url}/api/admin/users/${customer.id}`, { method: 'PATCH', headers: bearer(admin.token), body: { disabled: true } })).status,
      200,
    );
    for (const inst of cluster.instances) {
      // The access token from the sign-in, still unexpired, on a customer route.
      t.is((await http.request(`${inst.url}/api/cart`, { headers: { cookie: cookies } })).status, 401, inst.url);
      const refresh = await http.request(`${inst.url}/api/auth/refresh`, { method: 'POST', headers: { cookie: cookies } });
      t.is(refresh.status, 401, inst.url);
      const again = await http.request(`${inst.url}/api/auth/signin`, { method: 'POST', body: { login: customer.login, password: PASSWORD } });
      t.not(again.status, 200, inst.url);
    }
  },
);

function report(t: { log(...v: unknown[]): void }, r: LoadResult, retried: number) {
  t.log(`load: ${r.requests} requests in ${r.seconds.toFixed(1)} s, ${r.failures.length} failed, ${retried} retried by nginx to another instance`);
  for (const k of KINDS) {
    const s = r.perKind[k];
    t.log(`  ${k}: ${s.requests} requests, ${s.failures} failed, p99 ${percentile(s.latencies, 99).toFixed(0)} ms`);
  }
}

test.serial(
  'a rolling restart under mixed load (SIGTERM, wait, start, healthy, next): zero failed requests, none counted twice, each e-mail sent once',
  async (t) => {
    const db = database.db;
    const productIds: number[] = [];
    for (let i = 0; i < 6; i++) productIds.push((await createProduct(db, { name: `Load Watch ${run} ${i}`, price: `${100 + i}.00`, stock: 1_000_000 })).id);
    const concurrency = 8;
    const shoppers = await Promise.all(Array.from({ length: concurrency }, () => user()));
    const buyers = await Promise.all(Array.from({ length: concurrency }, () => user()));
    const signers = await Promise.all(Array.from({ length: 10 }, () => user()));
    const outboxBefore = Number((await db('outbox').where({ kind: 'email' }).count({ n: '*' }))[0].n);
    const mailBefore = smtp.received.length;
    const logBefore = cluster.accessLog().length;

    let restarted!: () => void;
    const restartDone = new Promise<void>((r) => {
      restarted = r;
    });
    const load = runMixedLoad(
      cluster.url,
      {
        productIds,
        shoppers,
        buyers,
        signers: signers.map((s) => ({ login: s.login, password: PASSWORD })),
        signinsPerSigner: 3,
      },
      { concurrency, maxRequests: 50_000, maxMs: 150_000, until: restartDone, minRequests: 1500 },
    );
    const exits: unknown[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1500));
      for (let i = 0; i < INSTANCES; i++) {
        exits.push(await cluster.stopInstance(i));
        await cluster.startInstance(i);
        // nginx marked the stopped instance failed for its fail_timeout (2 s): let it come back
        // into rotation before the next one stops.
        await new Promise((r) => setTimeout(r, 2500));
      }
    } finally {
      restarted();
    }
    const result = await load;
    const accessLog = cluster.accessLog().slice(logBefore);
    const retried = accessLog.filter((l) => / up=\S+, /.test(l)).length;
    report(t, result, retried);

    t.deepEqual(exits, Array(INSTANCES).fill({ code: 0, signal: null }), 'each instance exited cleanly on SIGTERM');
    for (const inst of cluster.instances)
      t.false(
        inst.lines.some((l) => String(l.msg).startsWith('closing every connection now')),
        'no instance had to cut a request off',
      );
    if (result.failures.length) {
      const errors = cluster.instances.flatMap((inst) => inst.lines.filter((l) => Number(l.level) >= 50 && l.msg !== 'request'));
      t.log('instance errors:', JSON.stringify(errors.slice(0, 5), null, 1));
    }
    t.deepEqual(result.failures.slice(0, 10), [], 'no failed request');
    t.true(result.requests >= 1500);
    for (const k of KINDS) t.true(result.perKind[k].requests > 0, `some ${k} traffic`);

    // Each answered request was handled by exactly one instance (nginx's request id, in the instances' request log lines).
    // The running instances write their log asynchronously: the last lines may still be on their way.
    const handledCounts = () => {
      const handled = new Map<string, number>();
      for (const inst of cluster.instances)
        for (const l of inst.lines) if (l.msg === 'request' && typeof l.req_id === 'string') handled.set(l.req_id, (handled.get(l.req_id) ?? 0) + 1);
      return handled;
    };
    let handled = handledCounts();
    const loggedBy = Date.now() + 10_000;
    while (result.requestIds.some((id) => !handled.has(id)) && Date.now() < loggedBy) {
      await new Promise((r) => setTimeout(r, 100));
      handled = handledCounts();
    }
    const twice = result.requestIds.filter((id) => (handled.get(id) ?? 0) > 1);
    const unseen = result.requestIds.filter((id) => !handled.has(id));
    t.log(`duplicates: ${twice.length} requests handled twice; ${result.requestIds.length} answered, ${unseen.length} not in any instance's log`);
    t.deepEqual(twice, []);
    t.deepEqual(unseen, []);

    // Cart quantities equal the answered adds.
    const lines = await db('cart_items')
      .whereIn(
        'user_id',
        shoppers.map((s) => s.id),
      )
      .select('user_id', 'product_id', 'quantity');
    const inDb = new Map(lines.map((l) => [`${l.user_id}:${l.product_id}`, Number(l.quantity)]));
    t.deepEqual(Object.fromEntries(inDb), Object.fromEntries(result.adds), 'cart quantities = answered adds');

    // One order per Idempotency-Key, the retry answered with the same order.
    const orders = await db('orders')
      .whereIn(
        'user_id',
        buyers.map((b) => b.id),
      )
      .select('id', 'user_id', 'idempotency_key');
    t.is(orders.length, result.orders.size, 'one order per key');
    for (const [key, entry] of result.orders) {
      t.is(entry.ids.length, 2, key);
      t.is(entry.ids[0], entry.ids[1], key);
      t.truthy(orders.find((o) => o.idempotency_key === key && Number(o.user_id) === entry.userId && Number(o.id) === entry.ids[0]));
    }

    // Every order's e-mail sent exactly once, with all three workers running (and restarted).
    const emails = Number((await db('outbox').where({ kind: 'email' }).count({ n: '*' }))[0].n) - outboxBefore;
    t.true(emails >= orders.length);
    await smtp.waitFor(mailBefore + emails, 60_000);
    // A worker marks a message sent just after the SMTP server accepted it: wait for the marks.
    const unsent = async () => Number((await db('outbox').whereNot({ status: 'sent' }).count({ n: '*' }))[0].n);
    const markedBy = Date.now() + 30_000;
    while ((await unsent()) > 0 && Date.now() < markedBy) await new Promise((r) => setTimeout(r, 100));
    t.is(await unsent(), 0, 'every message marked sent');
    const ids = smtp.received.map((m) => m.messageId);
    t.is(new Set(ids).size, ids.length, 'no message twice');
    t.is(smtp.received.length, mailBefore + emails);
    t.log(`outbox: ${emails} e-mails queued during the load, ${smtp.received.length - mailBefore} delivered, 0 twice`);
  },
);
