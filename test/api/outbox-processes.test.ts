/**
 * The outbox's delivery worker in real processes (the compiled CLI: run `npm run build` first):
 * `watchstore serve` and `watchstore worker` on one database, sending order confirmations to a
 * real SMTP server in this process (test/helpers/smtp.ts). Orders are placed through the orders
 * service, which queues their 'order.placed' e-mail in the order's transaction.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { Client } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { exitWithin, spawnCli, startServerProcess } from '../helpers/server-process.js';
import { createOrderFromCart, createProduct, createUser } from '../helpers/services.js';
import { type ReceivedMail, startSmtp } from '../helpers/smtp.js';

const run = randomBytes(3).toString('hex');
let seq = 0;

/** `n` orders of one new customer, each queueing its confirmation; returns the customer's address. */
async function placeOrders(db: Db, n: number): Promise<string> {
  const name = `w${run}_${++seq}`;
  const u = await createUser(db, { username: name, email: `${name}@example.com`, password: 'correct horse' });
  const p = await createProduct(db, { name: `Watch ${name}`, price: '99.00', stock: n });
  for (let i = 0; i < n; i++) {
    await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 1 });
    await createOrderFromCart(db, u.id);
  }
  return u.email!;
}

/** Polls `check` until it holds, or fails after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const countWhere = async (db: Db, where: (q: ReturnType<Db>) => unknown) => {
  const q = db('outbox');
  where(q);
  return Number((await q.count({ n: '*' }).first())?.n);
};
const allSent = (db: Db, n: number) => async () => (await countWhere(db, (q) => q.where('status', 'sent'))) === n;

/** How often each Message-ID arrived. */
function messageIdCounts(mails: ReceivedMail[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of mails) counts.set(String(m.messageId), (counts.get(String(m.messageId)) ?? 0) + 1);
  return counts;
}

/** `watchstore worker` as a child process, once it says it has started. */
async function startWorkerProcess(env: Record<string, string>) {
  const p = spawnCli(['worker'], { env });
  await p.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('outbox worker started'), 30_000);
  const kill = async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  };
  return { ...p, kill };
}

let database: TestDatabase;
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(() => database?.drop());

// Each test empties the one outbox it counts.
test.afterEach.always(() => database.db('outbox').delete());

test.serial('when two servers share one database, then they drain 500 confirmations with none sent twice and none lost', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  const N = 500;
  await placeOrders(database.db, N);
  t.is(await countWhere(database.db, (q) => q.where('status', 'pending')), N);

  const env = { DATABASE_URL: database.url, SMTP_URL: smtp.url, OUTBOX_POLL_MS: '100', OUTBOX_BATCH_SIZE: '10' };
  const started = Date.now();
  const [a, b] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  t.teardown(() => Promise.all([a.kill(), b.kill()]).then(() => undefined));
  await smtp.waitFor(N, 120_000);
  await until('every row marked sent', allSent(database.db, N));
  const drainMs = Date.now() - started;

  const ids = messageIdCounts(smtp.received);
  const twice = [...ids.values()].filter((n) => n > 1).length;
  t.is(ids.size, N, 'every message arrived');
  t.is(twice, 0, 'no Message-ID arrived twice');
  t.is(smtp.received.length, N);
  const keys = (await database.db('outbox').select('message_key')).map((r: { message_key: string }) => r.message_key);
  t.is(new Set(keys).size, N);
  t.true(
    keys.every((k: string) => [...ids.keys()].some((id) => id.startsWith(`<${k}@`))),
    'each row was sent under its stable Message-ID',
  );
  t.log(`two servers drained ${N} messages: ${ids.size} distinct Message-IDs, ${twice} sent twice, ${N - ids.size} lost, ${drainMs} ms from start to all sent`);

  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(a.exited, 20_000), { code: 0, signal: null });
  t.deepEqual(await exitWithin(b.exited, 20_000), { code: 0, signal: null });
});

test.serial('when the mail server is down, then the worker retries with backoff and delivers once it is back', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  await smtp.stop();
  const N = 5;
  const to = await placeOrders(database.db, N);

  const w = await startWorkerProcess({
    DATABASE_URL: database.url,
    SMTP_URL: smtp.url,
    OUTBOX_POLL_MS: '50',
    OUTBOX_RETRY_BASE_MS: '50',
    OUTBOX_RETRY_MAX_MS: '400',
    OUTBOX_MAX_ATTEMPTS: '100',
  });
  t.teardown(() => w.kill());
  // Every message failed at least twice, and each failure was logged with its next try.
  const failures = () => w.out.lines.filter((l) => l.msg === 'outbox: delivery failed, will retry');
  await until('every message tried at least twice', async () => (await countWhere(database.db, (q) => q.where('attempts', '<', 2))) === 0);
  await until('a line logged per failure', async () => failures().length >= 2 * N);
  t.truthy(failures()[0].retry_at);
  t.regex(String(failures()[0].err), /ECONNREFUSED|connect/i);
  t.is(await countWhere(database.db, (q) => q.whereNot('status', 'pending')), 0, 'none given up on');
  t.is(smtp.received.length, 0);

  await smtp.start();
  await smtp.waitFor(N, 60_000);
  await until('every row marked sent', allSent(database.db, N));
  const ids = messageIdCounts(smtp.received);
  t.is(ids.size, N);
  t.true(smtp.received.every((m) => m.envelopeTo[0] === to));

  w.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(w.exited, 20_000), { code: 0, signal: null });
  t.true(w.out.lines.some((l) => l.msg === 'stopped'));
});

test.serial('when a worker is killed in the middle of a batch, then another delivers every message of it after the lease', async (t) => {
  // A mail server that accepts connections and never answers: the first worker's sends hang.
  const stalled = new Set<net.Socket>();
  const blackHole = net.createServer((s) => stalled.add(s.on('error', () => {})));
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of stalled) s.destroy();
    return new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  const N = 30;
  await placeOrders(database.db, N);

  const env = { DATABASE_URL: database.url, OUTBOX_POLL_MS: '50', OUTBOX_LEASE_MS: '1000', WEBHOOK_TIMEOUT_MS: '500', OUTBOX_BATCH_SIZE: '50' };
  const first = await startWorkerProcess({ ...env, SMTP_URL: `smtp://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}` });
  t.teardown(() => first.kill());
  await until('the batch is claimed', async () => (await countWhere(database.db, (q) => q.whereNotNull('claim_token'))) === N);
  await until('its sends are under way', async () => stalled.size > 0);
  await first.kill();
  t.is(await countWhere(database.db, (q) => q.where('status', 'sent')), 0);

  const second = await startWorkerProcess({ ...env, SMTP_URL: smtp.url });
  t.teardown(() => second.kill());
  await smtp.waitFor(N, 60_000);
  await until('every row marked sent', allSent(database.db, N));
  t.is(messageIdCounts(smtp.received).size, N);
  t.is(smtp.received.length, N, 'none of the killed batch had left, so each arrived once');
  t.is(await countWhere(database.db, (q) => q.where('attempts', 2)), N, 'each was claimed again after the lease');
  second.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(second.exited, 20_000), { code: 0, signal: null });
});

test.serial('when a server with a long poll takes an order, then its worker is woken and the confirmation leaves at once', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  const s = await startServerProcess({ env: { DATABASE_URL: database.url, SMTP_URL: smtp.url, OUTBOX_POLL_MS: '3600000' } });
  t.teardown(() => s.kill());
  const customer = await signedInCustomer(database.db, String(process.env.ACCESS_TOKEN_SECRET));
  const p = await createProduct(database.db, { name: `Watch woken ${run}`, price: '120.00', stock: 3 });
  await database.db('cart_items').insert({ user_id: customer.id, product_id: p.id, quantity: 1 });

  const res = await new Client(s.url).post('/api/orders', undefined, customer.auth);
  t.is(res.status, 201, res.text);
  const [mail] = await smtp.waitFor(1, 30_000);
  t.is(mail.messageId?.startsWith(`<order-${res.body.id}.placed@`), true, String(mail.messageId));
  s.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(s.exited, 20_000), { code: 0, signal: null });
});

test.serial('when a server runs with OUTBOX_WORKER=false, then it sends nothing itself and `watchstore worker --once` delivers its order e-mail', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  const env = { DATABASE_URL: database.url, SMTP_URL: smtp.url };
  const s = await startServerProcess({ env: { ...env, OUTBOX_WORKER: 'false' } });
  t.teardown(() => s.kill());
  t.false(
    s.lines.some((l) => String(l.msg).startsWith('outbox worker started')),
    s.stdout,
  );
  const customer = await signedInCustomer(database.db, String(process.env.ACCESS_TOKEN_SECRET));
  const p = await createProduct(database.db, { name: `Watch apart ${run}`, price: '80.00', stock: 3 });
  await database.db('cart_items').insert({ user_id: customer.id, product_id: p.id, quantity: 1 });
  const res = await new Client(s.url).post('/api/orders', undefined, customer.auth);
  t.is(res.status, 201, res.text);

  const once = spawnCli(['worker', '--once'], { env });
  t.like(await exitWithin(once.exited, 30_000), { code: 0 });
  t.is(once.out.stdout, 'Delivered 1 of 1 message; 0 failed and will be retried, 0 dead.\n', once.out.stderr);
  t.is(smtp.received.length, 1);
  t.regex(String(smtp.received[0].messageId), new RegExp(`^<order-${res.body.id}\\.placed@`));
  s.child.kill('SIGTERM');
  t.deepEqual(await exitWithin(s.exited, 20_000), { code: 0, signal: null });
});
