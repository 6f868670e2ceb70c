/**
 * `watchstore orders list|show|mark` as child processes (the compiled CLI) against a real
 * database. Orders are made through the orders service, the way the API makes them.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { ANSI, cliInProcess, lines } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { getOrder, markPaid } from '../../src/orders/orders.service.js';
import { createOrderFromCart, createProduct, createUser } from '../helpers/services.js';

let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;

test.before(async () => {
  database = await createTestDatabase();
  cli = cliInProcess(database);
});
test.after.always(() => database?.drop());

const run = randomBytes(3).toString('hex');
let seq = 0;

async function customer() {
  const n = ++seq;
  return createUser(database.db, { username: `c${run}_${n}`, email: `c${run}_${n}@example.com`, password: 'correct horse' });
}

/** A pending order for `userId` of `quantity` units of a new product priced `price`, stock 10. */
async function placeOrder(userId: number, price = '1299.99', quantity = 1) {
  const p = await createProduct(database.db, { name: `Watch ${run} ${++seq}`, price, stock: 10 });
  await database.db('cart_items').insert({ user_id: userId, product_id: p.id, quantity });
  return { product: p, order: (await createOrderFromCart(database.db, userId)).order };
}

const stockOf = async (id: number) => Number((await database.db('products').where('id', id).first('stock')).stock);
const statusOf = async (id: number) => (await getOrder(database.db, id)).status;

/* ---------------------------------------------------------------- list */

test('when orders list runs, then a table shows id, user, status, total, item count and date, without colour', async (t) => {
  const u = await customer();
  const { order } = await placeOrder(u.id, '1299.99', 2);

  const r = await cli(['orders', 'list', '--user', u.username]);

  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stdout, ANSI);
  for (const head of ['ID', 'User', 'Status', 'Total', 'Items', 'Ships to', 'Created']) t.true(r.stdout.includes(head), head);
  const row = lines(r.stdout).find((l) => l.includes(u.username));
  t.truthy(row, r.stdout);
  t.regex(
    row!,
    new RegExp(
      `│\\s*${order.id}\\s*│\\s*${u.username}\\s*│\\s*pending\\s*│\\s*\\$2,599\\.98\\s*│\\s*2\\s*│\\s*-\\s*│\\s*${order.created_at.slice(0, 16).replace('T', ' ')}`,
    ),
  );
  t.regex(r.stdout, /1 of 1 order\./);
});

test('when orders list --json runs with --user and --status, then stdout is an array of the matching order objects, newest first', async (t) => {
  const [u, other] = [await customer(), await customer()];
  const first = (await placeOrder(u.id, '10.00')).order;
  const second = (await placeOrder(u.id, '20.00')).order;
  const paid = (await placeOrder(u.id, '30.00')).order;
  await placeOrder(other.id, '40.00');
  t.true(await markPaid(database.db, paid.id));

  const all = await cli(['orders', 'list', '--user', u.username, '--json']);
  t.is(all.code, 0, all.stderr);
  const orders = JSON.parse(all.stdout);
  t.deepEqual(
    orders.map((o: { id: number }) => o.id),
    [paid.id, second.id, first.id],
  );
  t.deepEqual(orders[2], await getOrder(database.db, first.id));
  t.like(orders[0], { user_id: u.id, status: 'paid', payment_intent_id: null, total_cents: 3000, total: 30 });

  const pending = JSON.parse((await cli(['orders', 'list', '--user', u.username, '--status', 'pending', '--json'])).stdout);
  t.deepEqual(
    pending.map((o: { id: number }) => o.id),
    [second.id, first.id],
  );
  const limited = JSON.parse((await cli(['orders', 'list', '--user', u.username, '--limit', '1', '--json'])).stdout);
  t.deepEqual(
    limited.map((o: { id: number }) => o.id),
    [paid.id],
  );
});

test('when orders list --since is given, then older orders are left out', async (t) => {
  const u = await customer();
  const old = (await placeOrder(u.id)).order;
  const recent = (await placeOrder(u.id)).order;
  await database.db('orders').where('id', old.id).update({ created_at: '2025-12-31 23:59:59.999' });

  const r = await cli(['orders', 'list', '--user', u.username, '--since', '2026-01-01', '--json']);

  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    JSON.parse(r.stdout).map((o: { id: number }) => o.id),
    [recent.id],
  );
});

test('when orders list gets a bad status, date or limit, then it exits 2 with one line; an unknown user exits 1', async (t) => {
  for (const args of [
    ['--status', 'lost'],
    ['--since', '2026-02-30'],
    ['--since', 'yesterday'],
    ['--limit', '0'],
  ]) {
    const r = await cli(['orders', 'list', ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.is(lines(r.stderr).length, 1, r.stderr);
    t.regex(r.stderr, /^watchstore: /);
    t.is(r.stdout, '');
  }
  const r = await cli(['orders', 'list', '--user', `nobody_${run}`]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /not found/);
});

/* ---------------------------------------------------------------- show */

test('when orders show runs, then it prints the header, the lines and the payment state', async (t) => {
  const u = await customer();
  const { order, product } = await placeOrder(u.id, '1299.99', 2);
  await database
    .db('orders')
    .where('id', order.id)
    .update({ payment_intent_id: `pi_${run}_show` });
  t.true(await markPaid(database.db, order.id, new Date('2026-11-20T10:00:00.000Z')));
  const u2 = await customer();
  const shipped = (await placeOrder(u2.id, '10.00', 1)).order;
  await database.db('orders').where('id', shipped.id).update({
    shipping_cents: 1599,
    ship_name: 'Ada Lovelace',
    ship_line1: '12 Analytical Row',
    ship_city: 'London',
    ship_postal_code: 'N1 7AA',
    ship_country: 'GB',
  });
  const s = await cli(['orders', 'show', String(shipped.id)]);
  t.regex(s.stdout, /Shipping:\s+\$15\.99/);
  t.regex(s.stdout, /Ships to:\s+Ada Lovelace, 12 Analytical Row, N1 7AA London, GB/);
  const listed = await cli(['orders', 'list', '--user', u2.username]);
  t.regex(listed.stdout, /London, GB/);

  const r = await cli(['orders', 'show', String(order.id)]);

  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stdout, ANSI);
  t.regex(r.stdout, new RegExp(`Order #${order.id}\\s+paid\\s+\\$2,599\\.98`));
  t.regex(r.stdout, new RegExp(`Customer:\\s+${u.username} \\(id ${u.id}\\)`));
  t.regex(r.stdout, /Paid:\s+2026-11-20T10:00:00\.000Z/);
  t.regex(r.stdout, new RegExp(`PaymentIntent:\\s+pi_${run}_show`));
  t.regex(r.stdout, new RegExp(`│\\s*${product.id}\\s*│\\s*${product.name}\\s*│\\s*\\$1,299\\.99\\s*│\\s*2\\s*│\\s*\\$2,599\\.98\\s*│`));
});

test('when orders show --json runs, then stdout is the order object and nothing else', async (t) => {
  const u = await customer();
  const { order } = await placeOrder(u.id, '99.95', 3);
  const r = await cli(['orders', 'show', String(order.id), '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), await getOrder(database.db, order.id));
});

test('when orders show names a missing order, then exit 1; a bad id is exit 2', async (t) => {
  const missing = await cli(['orders', 'show', '99999999']);
  t.is(missing.code, 1, missing.stderr);
  t.regex(missing.stderr, /^watchstore: Order 99999999 not found\.\n$/);
  const bad = await cli(['orders', 'show', 'abc']);
  t.is(bad.code, 2, bad.stderr);
  t.is(lines(bad.stderr).length, 1);
});

/* ---------------------------------------------------------------- mark */

test('when a paid order is marked shipped and then delivered, then it moves forward, and not back', async (t) => {
  const u = await customer();
  const { order } = await placeOrder(u.id);
  t.true(await markPaid(database.db, order.id));

  const shipped = await cli(['orders', 'mark', String(order.id), 'shipped']);
  t.is(shipped.code, 0, shipped.stderr);
  t.regex(shipped.stdout, new RegExp(`Order #${order.id} is now shipped`));
  t.is(await statusOf(order.id), 'shipped');

  const delivered = await cli(['orders', 'mark', String(order.id), 'delivered', '--json']);
  t.is(delivered.code, 0, delivered.stderr);
  t.like(JSON.parse(delivered.stdout), { id: order.id, status: 'delivered' });

  for (const to of ['shipped', 'canceled']) {
    const back = await cli(['orders', 'mark', String(order.id), to]);
    t.is(back.code, 1, `${to}: ${back.stderr}`);
    t.is(lines(back.stderr).length, 1);
    t.regex(back.stderr, /delivered/);
  }
  t.is(await statusOf(order.id), 'delivered');
});

test('when a pending order is marked canceled, then its stock comes back once; marking it again exits 1', async (t) => {
  const u = await customer();
  const { order, product } = await placeOrder(u.id, '50.00', 4);
  t.is(await stockOf(product.id), 6);

  const r = await cli(['orders', 'mark', String(order.id), 'canceled']);
  t.is(r.code, 0, r.stderr);
  t.is(await statusOf(order.id), 'canceled');
  t.is(await stockOf(product.id), 10);

  const again = await cli(['orders', 'mark', String(order.id), 'canceled']);
  t.is(again.code, 1, again.stderr);
  t.regex(again.stderr, /already canceled/);
  t.is(await stockOf(product.id), 10);
});

test('when a pending order is marked shipped, then exit 1 and it stays pending', async (t) => {
  const u = await customer();
  const { order } = await placeOrder(u.id);
  const r = await cli(['orders', 'mark', String(order.id), 'shipped']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /^watchstore: Order \d+ is pending; only paid orders can be marked shipped\.\n$/);
  t.is(await statusOf(order.id), 'pending');
});

test('when orders mark gets a status word it does not know, then exit 2 and nothing changes', async (t) => {
  const u = await customer();
  const { order } = await placeOrder(u.id);
  for (const word of ['paid', 'lost', 'pending']) {
    const r = await cli(['orders', 'mark', String(order.id), word]);
    t.is(r.code, 2, `${word}: ${r.stderr}`);
    t.is(lines(r.stderr).length, 1);
  }
  t.is(await statusOf(order.id), 'pending');
});
