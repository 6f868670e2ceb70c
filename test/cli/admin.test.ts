/**
 * The CLI's admin commands (in-process, test/helpers/cli-in-process.ts, against a real database):
 * `orders mark <id> shipped --tracking … --carrier …`, `users disable|enable`, `products
 * archive|unarchive` and `audit list`, each change audited as `cli:<os user>` through the same
 * services as the admin API.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { markPaid } from '../../src/orders/orders.service.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { placePendingOrder } from '../helpers/orders.js';
import { createUser } from '../helpers/services.js';

let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;

test.before(async () => {
  database = await createTestDatabase();
  cli = cliInProcess(database);
});
test.after.always(() => database?.drop());

const run = randomBytes(3).toString('hex');
const me = `cli:${os.userInfo().username}`;
const auditOf = (type: string, id: number) =>
  database
    .db('audit_log')
    .where({ target_type: type, target_id: String(id) })
    .orderBy('id');

test('orders mark shipped --tracking --carrier stores the shipment and one audit row by cli:<os user>; a refused move writes none', async (t) => {
  const placed = await placePendingOrder(database.db, { label: 'Cli', price: '10.00', stock: 3, quantity: 1 });
  const early = await cli(['orders', 'mark', String(placed.order.id), 'shipped', '--tracking', 'T1']);
  t.is(early.code, 1, early.stderr);
  t.deepEqual(await auditOf('order', placed.order.id), []);
  t.is((await cli(['orders', 'mark', String(placed.order.id), 'delivered', '--tracking', 'T1'])).code, 2);

  await markPaid(database.db, placed.order.id);
  const r = await cli(['orders', 'mark', String(placed.order.id), 'shipped', '--tracking', '1Z42', '--carrier', 'UPS', '--json']);
  t.is(r.code, 0, r.stderr);
  const order = JSON.parse(r.stdout);
  t.like(order, { status: 'shipped', tracking_number: '1Z42', carrier: 'UPS' });
  const [row] = await auditOf('order', placed.order.id);
  t.is(row.actor, me);
  t.is(row.action, 'order.ship');
  t.is(row.request_id, null);
});

test('users disable stops sign-in and ends sessions; the last admin cannot be disabled; enable lets them back', async (t) => {
  const u = await createUser(database.db, { username: `dis${run}`, email: `dis${run}@example.com`, password: 'correct horse' });
  await database.db('refresh_tokens').insert({ user_id: u.id, token_hash: 'a'.repeat(64), family_id: 'f1', expires_at: '2099-01-01 00:00:00.000' });
  const r = await cli(['users', 'disable', u.username]);
  t.is(r.code, 0, r.stderr);
  const row = await database.db('users').where('id', u.id).first();
  t.truthy(row.disabled_at);
  t.truthy((await database.db('refresh_tokens').where('user_id', u.id).first()).revoked_at);
  t.is((await cli(['users', 'enable', u.username])).code, 0);
  t.is((await database.db('users').where('id', u.id).first()).disabled_at, null);
  t.deepEqual(
    (await auditOf('user', u.id)).map((a) => [a.actor, a.action]),
    [
      [me, 'user.disable'],
      [me, 'user.enable'],
    ],
  );

  const boss = await createUser(database.db, { username: `boss${run}`, email: `boss${run}@example.com`, password: 'correct horse', role: 'admin' });
  await database.db('users').where('role', 'admin').whereNot('id', boss.id).update({ role: 'customer' });
  const last = await cli(['users', 'disable', boss.username]);
  t.is(last.code, 1);
  t.regex(last.stderr, /last admin/);
  t.deepEqual(await auditOf('user', boss.id), []);
  t.is((await cli(['users', 'disable', 'nobody_here'])).code, 1);
});

test('products archive hides a product from the catalog listing; unarchive brings it back; audit list shows both, --json too', async (t) => {
  const placed = await placePendingOrder(database.db, { label: 'Arc', price: '10.00', stock: 3, quantity: 1 });
  const id = String(placed.productId);
  t.is((await cli(['products', 'archive', id])).code, 0);
  t.is((await database.db('products').where('id', placed.productId).first()).archived ? 1 : 0, 1);
  const listed = JSON.parse((await cli(['products', 'list', '--json', '--limit', '100'])).stdout);
  t.false((listed.items ?? listed).some((p: { id: number }) => p.id === placed.productId));
  t.is((await cli(['products', 'unarchive', id])).code, 0);
  const list = await cli(['audit', 'list', '--target-type', 'product', '--target-id', id, '--json']);
  t.is(list.code, 0, list.stderr);
  const entries = JSON.parse(list.stdout);
  t.deepEqual(
    entries.map((e: { action: string; actor: string }) => [e.action, e.actor]),
    [
      ['product.unarchive', me],
      ['product.archive', me],
    ],
  );
  const table = await cli(['audit', 'list', '--limit', '5']);
  t.is(table.code, 0);
  t.regex(table.stdout, /product\.unarchive/);
  t.is((await cli(['audit', 'list', '--target-type', 'planet'])).code, 2);
  t.is((await cli(['products', 'archive', '99999999'])).code, 1);
});
