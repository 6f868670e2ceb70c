/**
 * The migrations on a fresh, empty database (SQLite, or MariaDB with TEST_DB=mysql): the tables,
 * their unique keys, foreign keys and checks, and a full rollback and re-run. The steps build on
 * each other, so they run serially.
 */
import test from 'ava';
import { isUniqueViolation } from '../../src/db/errors.js';
import type { Db } from '../../src/db/connection.js';
import { createEmptyDatabase, type TestDatabase } from '../helpers/db.js';
import { MIGRATION_COUNT } from '../helpers/migrations.js';

/** Every migration in migrations/ (tables are created by the first seven; later ones change them). */
const MIGRATIONS = MIGRATION_COUNT;
const TABLES = ['users', 'products', 'cart_items', 'orders', 'order_items', 'refresh_tokens', 'stripe_events'];

let tdb: TestDatabase;
let db: Db;

test.before(async () => {
  tdb = await createEmptyDatabase();
  db = tdb.db;
});

test.after.always(async () => {
  await tdb?.drop();
});

/** The error a statement fails with (database drivers' errors are not always `instanceof Error`). */
async function failure(statement: PromiseLike<unknown>): Promise<{ code?: string; message?: string } | undefined> {
  try {
    await statement;
    return undefined;
  } catch (err) {
    return err as { code?: string; message?: string };
  }
}

async function id(insert: PromiseLike<unknown[]>): Promise<number> {
  const [first] = await insert;
  return Number(typeof first === 'object' && first !== null ? (first as { id: unknown }).id : first);
}

async function existing(): Promise<string[]> {
  const found: string[] = [];
  for (const table of TABLES) if (await db.schema.hasTable(table)) found.push(table);
  return found;
}

const hash64 = (c: string) => c.repeat(64);

async function newUser(name: string) {
  return id(db('users').insert({ username: name, email: `${name}@example.com`, password_hash: 'x' }, ['id']));
}

async function newProduct(name: string) {
  return id(db('products').insert({ name, price_cents: 1000, stock: 5 }, ['id']));
}

test.serial('when the database is empty, then none of the tables exist yet', async (t) => {
  t.deepEqual(await existing(), []);
  const [done, pending] = await db.migrate.list();
  t.is(done.length, 0);
  t.true(MIGRATIONS >= 7);
  t.is(pending.length, MIGRATIONS);
});

test.serial('when migrate.latest runs on an empty database, then all 7 tables are created', async (t) => {
  const [, applied] = await db.migrate.latest();
  t.is(applied.length, MIGRATIONS);
  t.deepEqual(await existing(), TABLES);
  const [done, pending] = await db.migrate.list();
  t.is(done.length, MIGRATIONS);
  t.is(pending.length, 0);
  const [, again] = await db.migrate.latest();
  t.deepEqual(again, [], 'a second run has nothing to do');
});

const SPEC_COLUMNS: Record<string, string[]> = {
  users: ['id', 'username', 'email', 'password_hash', 'role', 'created_at', 'updated_at'],
  products: ['id', 'name', 'description', 'price_cents', 'stock', 'image_url', 'created_at', 'updated_at'],
  cart_items: ['id', 'user_id', 'product_id', 'quantity', 'added_at'],
  orders: ['id', 'user_id', 'status', 'total_cents', 'currency', 'idempotency_key', 'payment_intent_id', 'created_at', 'updated_at', 'paid_at'],
  order_items: ['id', 'order_id', 'product_id', 'name', 'unit_price_cents', 'quantity'],
  refresh_tokens: ['id', 'user_id', 'token_hash', 'family_id', 'expires_at', 'revoked_at', 'replaced_by_id', 'created_at'],
  stripe_events: ['id', 'type', 'payment_intent_id', 'order_id', 'received_at', 'outcome'],
};

test.serial('when a table is read after migrating, then it has at least the columns of the data spec', async (t) => {
  for (const [table, expected] of Object.entries(SPEC_COLUMNS)) {
    const actual = Object.keys(await db(table).columnInfo());
    t.deepEqual(
      expected.filter((c) => !actual.includes(c)),
      [],
      `${table} is missing columns`,
    );
  }
});

test.serial('when the money and currency columns are read after migrating, then money is a 64-bit integer and currency is CHAR(3)', async (t) => {
  // 99,999,999.99 is 9,999,999,999 cents: more than a 32-bit INT holds.
  for (const [table, column] of [
    ['products', 'price_cents'],
    ['orders', 'total_cents'],
    ['order_items', 'unit_price_cents'],
  ]) {
    t.is((await db(table).columnInfo(column)).type, 'bigint', `${table}.${column}`);
  }
  const currency = await db('orders').columnInfo('currency');
  t.is(currency.type, 'char');
  t.is(Number(currency.maxLength), 3);
});

test.serial('when a row is inserted with only the required columns, then the defaults are filled in', async (t) => {
  const uid = await newUser('defaults');
  const u = await db('users').where({ id: uid }).first();
  t.is(u.role, 'customer');
  t.truthy(u.created_at);
  t.truthy(u.updated_at);
  const pid = await id(db('products').insert({ name: 'Defaults', price_cents: 0 }, ['id']));
  t.is(Number((await db('products').where({ id: pid }).first()).stock), 0);
  const oid = await id(db('orders').insert({ user_id: uid, total_cents: 0, currency: 'usd' }, ['id']));
  const o = await db('orders').where({ id: oid }).first();
  t.is(o.status, 'pending');
  t.is(o.paid_at, null);
  t.is(o.idempotency_key, null);
});

test.serial('when a username or an e-mail is inserted twice, then the unique key refuses it', async (t) => {
  await db('users').insert({ username: 'uniq', email: 'uniq@example.com', password_hash: 'x' });
  t.true(isUniqueViolation(await failure(db('users').insert({ username: 'uniq', email: 'other@example.com', password_hash: 'x' }))));
  t.true(isUniqueViolation(await failure(db('users').insert({ username: 'other', email: 'uniq@example.com', password_hash: 'x' }))));
  t.is((await db('users').where({ username: 'other' })).length, 0);
});

test.serial('when a product is put in the same cart twice, then the (user_id, product_id) key refuses it', async (t) => {
  const uid = await newUser('cart-owner');
  const pid = await newProduct('Cart Watch');
  const other = await newProduct('Other Watch');
  await db('cart_items').insert({ user_id: uid, product_id: pid, quantity: 1 });
  t.true(isUniqueViolation(await failure(db('cart_items').insert({ user_id: uid, product_id: pid, quantity: 2 }))));
  await db('cart_items').insert({ user_id: uid, product_id: other, quantity: 1 });
  t.is((await db('cart_items').where({ user_id: uid })).length, 2);
});

test.serial('when an idempotency key is reused by the same user, then the (user_id, idempotency_key) key refuses it', async (t) => {
  const a = await newUser('idem-a');
  const b = await newUser('idem-b');
  const order = (user_id: number, idempotency_key: string | null) => db('orders').insert({ user_id, idempotency_key, total_cents: 100, currency: 'usd' });
  await order(a, 'key-1');
  t.true(isUniqueViolation(await failure(order(a, 'key-1'))));
  await order(b, 'key-1'); // another user may use the same key
  await order(a, null);
  await order(a, null); // orders without a key never collide
  t.is((await db('orders').where({ user_id: a })).length, 3);
});

test.serial('when a payment intent id is used by two orders, then the unique key refuses it', async (t) => {
  const uid = await newUser('intent');
  await db('orders').insert({ user_id: uid, total_cents: 100, currency: 'usd', payment_intent_id: 'pi_123' });
  t.true(isUniqueViolation(await failure(db('orders').insert({ user_id: uid, total_cents: 100, currency: 'usd', payment_intent_id: 'pi_123' }))));
  await db('orders').insert({ user_id: uid, total_cents: 100, currency: 'usd', payment_intent_id: null });
  await db('orders').insert({ user_id: uid, total_cents: 100, currency: 'usd', payment_intent_id: null });
});

test.serial('when a refresh token hash is stored twice, then the unique key refuses it', async (t) => {
  const uid = await newUser('tokens');
  const token = (token_hash: string) => db('refresh_tokens').insert({ user_id: uid, token_hash, family_id: 'fam-1', expires_at: '2030-01-01 00:00:00.000' });
  await token(hash64('a'));
  t.true(isUniqueViolation(await failure(token(hash64('a')))));
  await token(hash64('b'));
});

test.serial('when a Stripe event id is recorded twice, then the primary key refuses it', async (t) => {
  const event = () => db('stripe_events').insert({ id: 'evt_1', type: 'payment_intent.succeeded', payment_intent_id: 'pi_1', outcome: 'applied' });
  await event();
  t.true(isUniqueViolation(await failure(event())));
  t.is((await db('stripe_events').where({ id: 'evt_1' })).length, 1);
});

test.serial('when a row points at a user or product that does not exist, then the foreign key refuses it', async (t) => {
  const uid = await newUser('fk-owner');
  const pid = await newProduct('FK Watch');
  for (const statement of [
    db('cart_items').insert({ user_id: 999999, product_id: pid, quantity: 1 }),
    db('cart_items').insert({ user_id: uid, product_id: 999999, quantity: 1 }),
    db('orders').insert({ user_id: 999999, total_cents: 1, currency: 'usd' }),
    db('order_items').insert({ order_id: 999999, product_id: pid, name: 'x', unit_price_cents: 1, quantity: 1 }),
    db('refresh_tokens').insert({ user_id: 999999, token_hash: hash64('f'), family_id: 'f', expires_at: '2030-01-01 00:00:00.000' }),
  ]) {
    const err = await failure(statement);
    t.truthy(err, 'the insert must fail');
    t.regex(String(err?.message), /foreign key/i);
  }
  t.is((await db('cart_items').where({ user_id: 999999 })).length, 0);
});

test.serial('when a user is deleted, then their cart items and refresh tokens go with them', async (t) => {
  const uid = await newUser('leaving');
  const keep = await newUser('staying');
  const pid = await newProduct('Cascade Watch');
  await db('cart_items').insert([
    { user_id: uid, product_id: pid, quantity: 2 },
    { user_id: keep, product_id: pid, quantity: 1 },
  ]);
  await db('refresh_tokens').insert({ user_id: uid, token_hash: hash64('c'), family_id: 'c', expires_at: '2030-01-01 00:00:00.000' });
  await db('users').where({ id: uid }).delete();
  t.is((await db('cart_items').where({ user_id: uid })).length, 0);
  t.is((await db('refresh_tokens').where({ user_id: uid })).length, 0);
  t.is((await db('cart_items').where({ user_id: keep })).length, 1);
});

test.serial('when a user with orders is deleted directly, then the foreign key refuses it', async (t) => {
  const uid = await newUser('has-orders');
  await db('orders').insert({ user_id: uid, total_cents: 100, currency: 'usd' });
  t.regex(String((await failure(db('users').where({ id: uid }).delete()))?.message), /foreign key/i);
  t.is((await db('users').where({ id: uid })).length, 1);
});

test.serial('when a product is deleted, then its cart lines go and past order lines keep their snapshot with product_id null', async (t) => {
  const uid = await newUser('buyer');
  const pid = await newProduct('Discontinued Watch');
  const oid = await id(db('orders').insert({ user_id: uid, total_cents: 2000, currency: 'usd' }, ['id']));
  await db('order_items').insert({ order_id: oid, product_id: pid, name: 'Discontinued Watch', unit_price_cents: 1000, quantity: 2 });
  await db('cart_items').insert({ user_id: uid, product_id: pid, quantity: 1 });
  await db('products').where({ id: pid }).delete();
  const [line] = await db('order_items').where({ order_id: oid });
  t.is(line.product_id, null);
  t.is(line.name, 'Discontinued Watch');
  t.is(Number(line.unit_price_cents), 1000);
  t.is(Number(line.quantity), 2);
  t.is((await db('cart_items').where({ product_id: pid })).length, 0);
});

test.serial('when an order is deleted, then its lines go with it', async (t) => {
  const uid = await newUser('order-cascade');
  const oid = await id(db('orders').insert({ user_id: uid, total_cents: 100, currency: 'usd' }, ['id']));
  await db('order_items').insert({ order_id: oid, product_id: null, name: 'Gone', unit_price_cents: 100, quantity: 1 });
  await db('orders').where({ id: oid }).delete();
  t.is((await db('order_items').where({ order_id: oid })).length, 0);
});

test.serial('when values break a CHECK constraint, then the database refuses them', async (t) => {
  const uid = await newUser('checks');
  const pid = await newProduct('Check Watch');
  for (const [statement, constraint] of [
    [db('users').insert({ username: 'root', email: 'root@example.com', password_hash: 'x', role: 'root' }), 'users_role_check'],
    [db('products').insert({ name: 'Free money', price_cents: -1 }), 'products_price_cents_check'],
    [db('products').where({ id: pid }).update({ stock: -1 }), 'products_stock_check'],
    [db('cart_items').insert({ user_id: uid, product_id: pid, quantity: 0 }), 'cart_items_quantity_check'],
    [db('orders').insert({ user_id: uid, total_cents: 1, currency: 'usd', status: 'lost' }), 'orders_status_check'],
    [db('orders').insert({ user_id: uid, total_cents: -1, currency: 'usd' }), 'orders_total_cents_check'],
  ] as const) {
    const err = await failure(statement);
    t.truthy(err, `${constraint} must refuse the write`);
    t.regex(String(err?.message), new RegExp(`\\b${constraint}\\b`));
  }
  t.is(Number((await db('products').where({ id: pid }).first()).stock), 5);
});

test.serial('when every batch is rolled back, then all 7 tables are dropped', async (t) => {
  await db.migrate.rollback(undefined, true);
  t.deepEqual(await existing(), []);
  const [done, pending] = await db.migrate.list();
  t.is(done.length, 0);
  t.is(pending.length, MIGRATIONS);
});

test.serial('when migrate.latest runs again after a full rollback, then the schema is back and usable', async (t) => {
  const [, applied] = await db.migrate.latest();
  t.is(applied.length, MIGRATIONS);
  t.deepEqual(await existing(), TABLES);
  t.is((await db('users')).length, 0, 'the tables start empty');
  const uid = await newUser('again');
  t.true(isUniqueViolation(await failure(db('users').insert({ username: 'again', email: 'x@example.com', password_hash: 'x' }))));
  const pid = await newProduct('Again Watch');
  await db('cart_items').insert({ user_id: uid, product_id: pid, quantity: 1 });
  t.regex(String((await failure(db('cart_items').insert({ user_id: 999999, product_id: pid, quantity: 1 })))?.message), /foreign key/i);
});

test.serial('when events recorded before outcome_kind existed are migrated, then each gets its kind from its text', async (t) => {
  const name = '20261130100000_stripe_events_outcome_kind';
  await db.migrate.down({ name });
  t.false(await db.schema.hasColumn('stripe_events', 'outcome_kind'));
  const texts: Record<string, string> = {
    evt_applied: 'applied: canceled, stock returned',
    evt_repeat: 'ignored: order already paid',
    evt_state: 'ignored: order canceled',
    evt_amount: 'ignored: amount mismatch 1000 != 1200',
    evt_currency: 'ignored: currency mismatch eur != usd',
    evt_failed: 'ignored: payment failed (card_declined: Your card was declined.), order stays pending',
    evt_type: 'ignored: event type charge.refunded is not handled',
    evt_nointent: 'ignored: the event carries no payment intent',
    evt_unknown: 'ignored: unknown payment intent',
    evt_other: 'ignored: order 5 belongs to another payment intent (pi_2)',
  };
  await db('stripe_events').insert(Object.entries(texts).map(([id, outcome]) => ({ id, type: 'payment_intent.succeeded', outcome })));
  await db.migrate.up({ name });
  const kinds = Object.fromEntries((await db('stripe_events').select('id', 'outcome_kind')).map((r) => [r.id, r.outcome_kind]));
  t.deepEqual(kinds, {
    evt_applied: 'applied',
    evt_repeat: 'already_applied',
    evt_state: 'wrong_state',
    evt_amount: 'mismatch',
    evt_currency: 'mismatch',
    evt_failed: 'payment_failed',
    evt_type: 'not_handled',
    evt_nointent: 'not_handled',
    evt_unknown: 'unmatched',
    evt_other: 'unmatched',
  });
  const refused = await failure(db('stripe_events').insert({ id: 'evt_bad', type: 'x', outcome: 'x', outcome_kind: 'whatever' }));
  t.truthy(refused, 'a value outside the enum is refused');
});
