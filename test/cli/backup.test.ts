import { readFileSync, writeFileSync, copyFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { createUser, listProducts } from '../helpers/services.js';
import { cliInProcess, lines } from '../helpers/cli-in-process.js';
import { createEmptyDatabase, createTestDatabase, holdWriteLock, type TestDatabase } from '../helpers/db.js';
import { placePendingOrder } from '../helpers/orders.js';

// One store with users, orders, order lines and Stripe events, backed up and restored elsewhere.
let source: TestDatabase;
const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-backup-'));
const dropLater: TestDatabase[] = [];

test.before(async () => {
  source = await createTestDatabase();
  await createUser(source.db, { username: 'backed_up', email: 'backed@example.com', password: 'long-enough-pw', role: 'admin' });
  const { order } = await placePendingOrder(source.db, { label: 'backup', price: '1234.56', stock: 9, quantity: 2 });
  await source.db('orders').where({ id: order.id }).update({ status: 'paid', paid_at: '2026-11-30 10:00:00.123', payment_intent_id: 'pi_backup_1' });
  await source
    .db('stripe_events')
    .insert({ id: 'evt_backup_1', type: 'payment_intent.succeeded', payment_intent_id: 'pi_backup_1', order_id: order.id, outcome: 'applied' });
});
test.after.always(async () => {
  for (const d of [source, ...dropLater]) await d?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const TABLES = ['users', 'products', 'orders', 'order_items', 'stripe_events', 'cart_items', 'refresh_tokens'];
const snapshot = async (db: TestDatabase['db']) => {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = await db(t).select('*').orderByRaw('1');
  return out;
};
const newTarget = async () => {
  const t = await createEmptyDatabase();
  dropLater.push(t);
  return t;
};

test.serial('when a store is backed up and restored into an empty database, then users, orders and payments are all there', async (t) => {
  const file = path.join(dir, 'store.backup');
  const b = await cliInProcess(source)(['backup', file]);
  t.is(b.code, 0, b.stderr);
  t.regex(b.stdout, /^Backed up .*: \d+ rows in \d+ tables \(schema at \w+\) to /);
  t.true(existsSync(file));
  t.is((await cliInProcess(source)(['backup', file])).code, 1, 'never overwrites a file');

  const target = await newTarget();
  const r = await cliInProcess(target)(['restore', file, '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(await snapshot(target.db), await snapshot(source.db));
  const event = await target.db('stripe_events').where({ id: 'evt_backup_1' }).first();
  t.like(event, { outcome: 'applied', payment_intent_id: 'pi_backup_1' });
  const status = await cliInProcess(target)(['migrate', '--status', '--json']);
  t.true((JSON.parse(status.stdout) as Array<{ applied: boolean }>).every((m) => m.applied));
  // The restored store takes new rows after the restored ids.
  const user = await createUser(target.db, { username: 'after_restore', email: 'after@example.com', password: 'long-enough-pw' });
  t.true(user.id > Math.max(...((await snapshot(source.db)).users as Array<{ id: number }>).map((u) => u.id)));

  // Not empty any more: no overwrite without --yes (no terminal), then with it.
  const refused = await cliInProcess(target)(['restore', file]);
  t.is(refused.code, 2);
  t.deepEqual(lines(refused.stderr), ['watchstore: restore into a database that is not empty needs --yes when not run interactively.']);
  t.truthy(await target.db('users').where({ username: 'after_restore' }).first());
  const forced = await cliInProcess(target)(['restore', file, '--yes']);
  t.is(forced.code, 0, forced.stderr);
  t.falsy(await target.db('users').where({ username: 'after_restore' }).first());
  t.deepEqual(await snapshot(target.db), await snapshot(source.db));
  // The full-text index (SQLite: products_fts, not in the backup) is rebuilt from the restored
  // rows, once, after two restores (docs/data.md, Search).
  const search = async (db: TestDatabase['db']) => (await listProducts(db, { q: 'backup watch' })).items.map((p) => p.id);
  t.is((await search(source.db)).length, 1);
  t.deepEqual(await search(target.db), await search(source.db));
});

test.serial('when a backup has a migration the code does not know, then restore refuses it and changes nothing', async (t) => {
  const file = path.join(dir, 'store.backup');
  const future = path.join(dir, 'future.backup');
  if (source.dialect === 'sqlite') {
    copyFileSync(file, future);
    const db = new Database(future);
    db.prepare('INSERT INTO knex_migrations (name, batch, migration_time) VALUES (?, 2, ?)').run('29990101000000_from_the_future.js', Date.now());
    db.close();
  } else {
    const [head, ...rest] = readFileSync(file, 'utf8').split('\n');
    const header = JSON.parse(head) as { migrations: string[] };
    header.migrations.push('29990101000000_from_the_future');
    writeFileSync(future, [JSON.stringify(header), ...rest].join('\n'));
  }
  const target = await newTarget();
  const r = await cliInProcess(target)(['restore', future, '--yes']);
  t.is(r.code, 2);
  t.regex(r.stderr, /newer or different watchstore .*29990101000000_from_the_future/);
  t.false(await target.db.schema.hasTable('users'));
});

test.serial('when a backup is behind the code, then restore loads it at its own schema and says to migrate', async (t) => {
  const older = await createTestDatabase();
  dropLater.push(older);
  await older.db.migrate.down();
  await createUser(older.db, { username: 'old_schema', email: 'old@example.com', password: 'long-enough-pw' });
  const file = path.join(dir, 'older.backup');
  t.is((await cliInProcess(older)(['backup', file])).code, 0);
  const target = await newTarget();
  const r = await cliInProcess(target)(['restore', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /1 migration behind this code: run `watchstore migrate`/);
  t.truthy(await target.db('users').where({ username: 'old_schema' }).first());
  t.is((await cliInProcess(target)(['migrate'])).code, 0);
});

test.serial('when another process is writing to the SQLite store, then backup still takes a consistent copy (online backup)', async (t) => {
  if (source.dialect !== 'sqlite') return t.pass('MySQL/MariaDB: the consistent snapshot is the transaction itself');
  const before = Number((await source.db('products').count({ n: '*' }))[0].n);
  // A writer in another process holds the write lock, with an uncommitted new product.
  const writer = await holdWriteLock(source, {
    ms: 1500,
    sql: "INSERT INTO products (name, description, price_cents, stock) VALUES ('Uncommitted', '', 100, 1)",
  });
  const file = path.join(dir, 'online.backup');
  const r = await cliInProcess(source)(['backup', file, '--json']);
  t.is(r.code, 0, r.stderr);
  t.is((JSON.parse(r.stdout) as { rows: Record<string, number> }).rows.products, before, 'the copy holds what was committed when it ran');
  await writer.released;
  t.is(Number((await source.db('products').count({ n: '*' }))[0].n), before + 1);
});
