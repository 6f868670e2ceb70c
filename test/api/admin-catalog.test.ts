/**
 * The catalog and orders through the admin API, over real HTTP (SQLite, or MariaDB with
 * TEST_DB=mysql): create and partial update (price as a string or in cents), archive (hidden from
 * the catalog, past orders intact), delete refused while a pending order holds the product, stock
 * adjusted while 50 customers order (no negative stock, every unit accounted for), order moves
 * with tracking, and one audit row per change, none per refusal.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { markPaid } from '../../src/orders/orders.service.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { placePendingOrder } from '../helpers/orders.js';
import { createProduct } from '../helpers/services.js';
import { signedInAs, type SignedIn } from '../helpers/staff.js';

let app: TestApp;
let db: Db;
let admin: SignedIn;

test.before(async () => {
  app = await startApp();
  db = app.t.db;
  admin = await signedInAs(db, app.config.accessTokenSecret, 'admin');
});
test.after.always(async () => {
  await app?.close();
});

const run = randomBytes(3).toString('hex');
let seq = 0;
const name = () => `Admin watch ${run} ${++seq}`;
const auditOf = (type: string, id: number) =>
  db('audit_log')
    .where({ target_type: type, target_id: String(id) })
    .orderBy('id');
const send = (method: string, path: string, json?: unknown, auth = admin.auth) => app.client().request(method, path, { json, headers: auth });

test.serial('when 50 customers order while stock is adjusted by delta, then stock never goes negative and every unit is accounted for', async (t) => {
  const p = await createProduct(db, { name: name(), price: '5.00', stock: 30 });
  const buyers = await Promise.all(Array.from({ length: 50 }, () => signedInAs(db, app.config.accessTokenSecret, 'customer')));
  for (const b of buyers) await db('cart_items').insert({ user_id: b.id, product_id: p.id, quantity: 1 });
  const deltas = [...Array.from({ length: 10 }, () => -2), ...Array.from({ length: 10 }, () => 1)];
  const [orders, adjusts] = await Promise.all([
    Promise.all(buyers.map((b) => send('POST', '/api/orders', undefined, b.auth))),
    Promise.all(deltas.map((delta) => send('POST', `/api/admin/products/${p.id}/stock`, { delta }))),
  ]);
  for (const r of orders) t.true(r.status === 201 || (r.status === 409 && r.body.error.code === 'OUT_OF_STOCK'), r.text);
  for (const r of adjusts) t.true(r.status === 200 || (r.status === 409 && r.body.error.code === 'OUT_OF_STOCK'), r.text);
  const sold = orders.filter((r) => r.status === 201).length;
  const adjusted = deltas.filter((_, i) => adjusts[i].status === 200).reduce((a, b) => a + b, 0);
  const stock = Number((await db('products').where('id', p.id).first()).stock);
  t.true(stock >= 0);
  t.is(stock, 30 + adjusted - sold);
  t.is(Number((await db('order_items').where('product_id', p.id).sum({ n: 'quantity' }))[0].n ?? 0), sold);
  const rows = await auditOf('product', p.id);
  t.is(rows.length, adjusts.filter((r) => r.status === 200).length);
  for (const r of rows) {
    const before = JSON.parse(r.before).stock;
    const after = JSON.parse(r.after).stock;
    t.true(after >= 0 && before >= 0 && Math.abs(after - before) <= 2);
  }
});

test('when a product is created with price or price_cents and patched, then each change is one audit row of the changed fields', async (t) => {
  const a = await send('POST', '/api/admin/products', { name: name(), price: '199.99', stock: 4 });
  t.is(a.status, 201, a.text);
  t.is(a.body.price_cents, 19999);
  t.false(a.body.archived);
  const b = await send('POST', '/api/admin/products', { name: name(), price_cents: 1250 });
  t.is(b.status, 201, b.text);
  t.is(b.body.price, 12.5);
  t.is((await send('POST', '/api/admin/products', { name: name(), price: '1.00', price_cents: 100 })).status, 400);
  t.is((await send('POST', '/api/admin/products', { name: name() })).status, 400);

  const patched = await send('PATCH', `/api/admin/products/${a.body.id}`, { price: '149.50', description: 'Steel' });
  t.is(patched.status, 200, patched.text);
  t.is(patched.body.price_cents, 14950);
  t.is(patched.body.name, a.body.name);
  const same = await send('PATCH', `/api/admin/products/${a.body.id}`, { price_cents: 14950 });
  t.is(same.status, 200);
  t.is((await send('PATCH', `/api/admin/products/${a.body.id}`, { price: 'cheap' })).status, 400);
  t.is((await send('PATCH', `/api/admin/products/${a.body.id}`, { stock: 9 })).status, 400);
  t.is((await send('PATCH', '/api/admin/products/99999999', { price_cents: 1 })).status, 404);

  const rows = await auditOf('product', a.body.id);
  t.deepEqual(
    rows.map((r) => [r.action, r.actor, JSON.parse(r.before), JSON.parse(r.after)]),
    [
      ['product.create', String(admin.id), null, { name: a.body.name, description: null, price_cents: 19999, stock: 4, image_url: null, archived: false }],
      ['product.update', String(admin.id), { price_cents: 19999, description: null }, { price_cents: 14950, description: 'Steel' }],
    ],
  );
});

test('when a product is archived, then the catalog hides it, its past orders stay intact, and the admin list still shows it', async (t) => {
  const placed = await placePendingOrder(db, { label: 'Arch', price: '30.00', stock: 5, quantity: 2 });
  await markPaid(db, placed.order.id);
  const id = placed.productId;
  const res = await send('PATCH', `/api/admin/products/${id}`, { archived: true });
  t.is(res.status, 200, res.text);
  t.true(res.body.archived);

  const catalog = await app.client().get('/api/products?limit=100');
  t.false(catalog.body.items.some((p: { id: number }) => p.id === id));
  t.is((await app.client().get(`/api/products/${id}`)).status, 404);
  const adminList = await send('GET', '/api/admin/products?archived=true&limit=100');
  t.true(adminList.body.items.some((p: { id: number }) => p.id === id));
  t.is((await send('GET', `/api/admin/products/${id}`)).body.archived, true);

  const shopper = await signedInAs(db, app.config.accessTokenSecret, 'customer');
  const add = await send('POST', '/api/cart', { product_id: id, quantity: 1 }, shopper.auth);
  t.is(add.status, 404, add.text);
  // A cart filled before the product was archived cannot order it.
  await db('cart_items').insert({ user_id: shopper.id, product_id: id, quantity: 1 });
  const ordered = await send('POST', '/api/orders', undefined, shopper.auth);
  t.is(ordered.status, 409, ordered.text);
  t.deepEqual(ordered.body.error.details, [{ product_id: id, requested: 1, available: 0 }]);

  const order = await send('GET', `/api/admin/orders/${placed.order.id}`);
  t.is(order.status, 200);
  t.is(order.body.items[0].product_id, id);
  t.is(order.body.items[0].quantity, 2);
  t.is(order.body.total_cents, 6000);
  const [row] = await auditOf('product', id);
  t.is(row.action, 'product.archive');
  t.deepEqual(JSON.parse(row.after), { archived: true });
});

test('when a pending order holds a product, then DELETE is 409 with no audit row; once it is canceled, DELETE removes it and past lines keep their snapshot', async (t) => {
  const placed = await placePendingOrder(db, { label: 'Del', price: '40.00', stock: 5, quantity: 1 });
  const id = placed.productId;
  const refused = await send('DELETE', `/api/admin/products/${id}`);
  t.is(refused.status, 409);
  t.is(refused.body.error.code, 'CONFLICT');
  t.deepEqual(await auditOf('product', id), []);

  const canceled = await send('POST', `/api/admin/orders/${placed.order.id}/cancel`);
  t.is(canceled.status, 200, canceled.text);
  t.is(canceled.body.status, 'canceled');
  const deleted = await send('DELETE', `/api/admin/products/${id}`);
  t.is(deleted.status, 200, deleted.text);
  t.is((await send('GET', `/api/admin/products/${id}`)).status, 404);
  const order = await send('GET', `/api/admin/orders/${placed.order.id}`);
  t.is(order.body.items[0].product_id, null);
  t.truthy(order.body.items[0].name);
  t.deepEqual(
    (await auditOf('product', id)).map((r) => r.action),
    ['product.delete'],
  );
  t.deepEqual(
    (await auditOf('order', placed.order.id)).map((r) => [r.action, JSON.parse(r.after)]),
    [['order.cancel', { status: 'canceled' }]],
  );
});

test('stock: {set} sets, a delta below zero is 409 with no audit row, bad bodies are 400', async (t) => {
  const p = await createProduct(db, { name: name(), price: '5.00', stock: 2 });
  const set = await send('POST', `/api/admin/products/${p.id}/stock`, { set: 7 });
  t.is(set.status, 200, set.text);
  t.is(set.body.stock, 7);
  const tooMany = await send('POST', `/api/admin/products/${p.id}/stock`, { delta: -8 });
  t.is(tooMany.status, 409);
  t.is(tooMany.body.error.code, 'OUT_OF_STOCK');
  t.deepEqual(tooMany.body.error.details, [{ product_id: p.id, requested: 8, available: 7 }]);
  for (const body of [{}, { delta: 0 }, { delta: 1.5 }, { set: -1 }, { delta: 1, set: 2 }, { delta: '3' }]) {
    t.is((await send('POST', `/api/admin/products/${p.id}/stock`, body)).status, 400, JSON.stringify(body));
  }
  t.deepEqual(
    (await auditOf('product', p.id)).map((r) => [JSON.parse(r.before), JSON.parse(r.after)]),
    [[{ stock: 2 }, { stock: 7 }]],
  );
});

test('orders: ship with tracking, deliver, moves the state machine refuses are 409 with no audit row, list filters', async (t) => {
  const placed = await placePendingOrder(db, { label: 'Ship', price: '50.00', stock: 5, quantity: 1 });
  const id = placed.order.id;
  const early = await send('POST', `/api/admin/orders/${id}/ship`, {});
  t.is(early.status, 409);
  t.is(early.body.error.code, 'INVALID_TRANSITION');
  t.is((await send('POST', `/api/admin/orders/${id}/deliver`)).status, 409);
  t.deepEqual(await auditOf('order', id), []);

  await markPaid(db, id);
  const shown = await send('GET', `/api/admin/orders/${id}`);
  t.is(shown.body.payment.state, 'paid');
  t.is(shown.body.customer.id, placed.userId);
  const shipped = await send('POST', `/api/admin/orders/${id}/ship`, { tracking_number: '1Z999', carrier: 'UPS' });
  t.is(shipped.status, 200, shipped.text);
  t.is(shipped.body.status, 'shipped');
  t.is(shipped.body.tracking_number, '1Z999');
  t.is(shipped.body.carrier, 'UPS');
  t.is((await send('POST', `/api/admin/orders/${id}/cancel`)).status, 409);
  const delivered = await send('POST', `/api/admin/orders/${id}/deliver`);
  t.is(delivered.body.status, 'delivered');
  t.deepEqual(
    (await auditOf('order', id)).map((r) => [r.action, JSON.parse(r.before), JSON.parse(r.after)]),
    [
      ['order.ship', { status: 'paid' }, { status: 'shipped', tracking_number: '1Z999', carrier: 'UPS' }],
      ['order.deliver', { status: 'shipped' }, { status: 'delivered' }],
    ],
  );

  const username = (await db('users').where('id', placed.userId).first()).username;
  for (const customer of [username, String(placed.userId)]) {
    const list = await send('GET', `/api/admin/orders?customer=${customer}&status=delivered`);
    t.is(list.status, 200);
    t.is(list.body.total, 1);
    t.is(list.body.items[0].id, id);
  }
  t.is((await send('GET', '/api/admin/orders?customer=nobody_here')).body.total, 0);
  const today = new Date().toISOString().slice(0, 10);
  t.true((await send('GET', `/api/admin/orders?from=${today}`)).body.total >= 1);
  t.is((await send('GET', `/api/admin/orders?to=${today}`)).body.total, 0);
  t.is((await send('GET', '/api/admin/orders?from=yesterday')).status, 400);
  t.is((await send('GET', '/api/admin/orders/0')).status, 404);

  const audit = await send('GET', `/api/admin/audit?target_type=order&target_id=${id}`);
  t.is(audit.status, 200);
  t.deepEqual(
    audit.body.items.map((e: { action: string }) => e.action),
    ['order.deliver', 'order.ship'],
  );
  t.is(audit.body.total, 2);
});
