/**
 * Every hot query has an index (docs/data.md, Indexes): on a generated store of 50,000 products,
 * 200,000 orders and their lines, each case below calls the real service or repository code,
 * records the SQL it sends, and asks the database for its plan (MariaDB: EXPLAIN; SQLite:
 * EXPLAIN QUERY PLAN). A full scan of products, orders, order_items (or of the admin's audit_log
 * and the outbox, 20,000 rows each) fails the case by name.
 *
 * The SQL is caught where it leaves for the database: knex's query event on MariaDB (raw
 * statements included), better-sqlite3's statements on SQLite (knex's and the prepared
 * statements of src/db/prepared.ts alike).
 */
import test from 'ava';
import Database from 'better-sqlite3';
import mysql2 from 'mysql2';
import { listAudit } from '../../src/audit/audit.service.js';
import type { Db } from '../../src/db/connection.js';
import { adminGetOrder, adminListOrders } from '../../src/orders/admin-orders.service.js';
import { ordersRepository } from '../../src/orders/orders.repository.js';
import {
  findOrderByCheckoutSession,
  findOrderByPaymentIntent,
  listIntentCancelUnconfirmed,
  listOrders,
  listPendingOlderThan,
} from '../../src/orders/orders.service.js';
import { backlog, claimDue } from '../../src/outbox/outbox.repository.js';
import { adminListProducts } from '../../src/products/admin-products.service.js';
import { productQuerySchema } from '../../src/products/products.schemas.js';
import { adminListUsers } from '../../src/users/admin-users.service.js';
import { analyze, bulkAdminRows, bulkOrders, bulkProducts } from '../helpers/bulk.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { addToCart, createOrderFromCart, getCart, getProduct, listProducts } from '../helpers/services.js';

const PRODUCTS = 50_000;
const ORDERS = 200_000;
const USERS = 2_000;
/** The large tables: a full scan of one of these fails (the users search scans users: docs/data.md, Indexes). */
const WATCHED = ['products', 'orders', 'order_items', 'audit_log', 'outbox'];

let tdb: TestDatabase;
let db: Db;
let userId: number;
let orderId: number;

test.before(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  await bulkProducts(db, PRODUCTS);
  await bulkOrders(db, { users: USERS, orders: ORDERS });
  await bulkAdminRows(db, 20_000);
  await analyze(db, ['products', 'orders', 'order_items', 'users', 'audit_log', 'outbox']);
  userId = Number((await db('users').where('username', 'bulk7').first('id')).id);
  orderId = Number((await db('orders').where('user_id', userId).orderBy('id', 'desc').first('id')).id);
});

test.after.always(async () => {
  await tdb?.drop();
});

interface Statement {
  sql: string;
  bindings: unknown[];
}

/** The statements `run` sends to the database. */
async function capture(run: () => Promise<unknown>): Promise<Statement[]> {
  const seen: Statement[] = [];
  if (tdb.dialect === 'mysql') {
    // Every query mysql2 sends (knex's and prepared.ts's alike), its values already in its text.
    const proto = mysql2.Connection.prototype as unknown as { addCommand(cmd: { sql?: unknown }): unknown };
    const original = proto.addCommand;
    proto.addCommand = function (this: unknown, cmd: { sql?: unknown }) {
      if (typeof cmd.sql === 'string') seen.push({ sql: cmd.sql, bindings: [] });
      return original.call(this, cmd);
    };
    try {
      await run();
    } finally {
      proto.addCommand = original;
    }
    return seen;
  }
  // Every statement better-sqlite3 runs, with its parameters (knex's and prepared.ts's cached ones alike).
  const proto = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  const originals = Object.fromEntries(['all', 'get', 'run', 'iterate'].map((m) => [m, proto[m]]));
  for (const [m, original] of Object.entries(originals)) {
    proto[m] = function (this: { source: string }, ...args: unknown[]) {
      seen.push({ sql: this.source, bindings: args });
      return original.apply(this, args);
    };
  }
  try {
    await run();
  } finally {
    Object.assign(proto, originals);
  }
  return seen;
}

/** The tables (and their aliases) a statement names. */
function aliases(sql: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of sql.matchAll(/[`"]?(products|orders|order_items|audit_log|outbox)[`"]?(?:\s+(?:as\s+)?[`"]?(\w+)[`"]?)?/gi)) {
    const table = m[1].toLowerCase();
    found.set(table, table);
    const alias = m[2]?.toLowerCase();
    if (alias && !/^(where|set|on|join|inner|left|order|group|limit|for|values|select|as|union|using)$/.test(alias)) found.set(alias, table);
  }
  return found;
}

/** The plan's full scans of the watched tables, as lines to print; empty when there is none. */
async function fullScans(st: Statement): Promise<string[]> {
  const bad: string[] = [];
  const names = aliases(st.sql);
  if (tdb.dialect === 'mysql') {
    const [rows] = (await db.raw(`EXPLAIN ${st.sql}`, st.bindings as never)) as unknown as [
      Array<{ table: string | null; type: string | null; key: string | null; rows: number | null; Extra: string | null }>,
    ];
    for (const r of rows) {
      const table = names.get(String(r.table).toLowerCase());
      if (!table || !WATCHED.includes(table)) continue;
      if (r.type === 'ALL' || (r.key === null && Number(r.rows) > 1000)) bad.push(`${table}: type ${r.type}, key ${r.key}, rows ${r.rows}, ${r.Extra ?? ''}`);
    }
    return bad;
  }
  const conn = (await db.client.acquireConnection()) as Database.Database;
  try {
    const rows = conn.prepare(`EXPLAIN QUERY PLAN ${st.sql}`).all(...st.bindings) as Array<{ detail: string }>;
    // A bare SCAN of a table read in id order up to a LIMIT, with no sort, is a walk of its
    // primary key that stops at the page (SQLite shows it no differently from a full scan).
    const pkWalk = /order by [`"]?id[`"]? (asc|desc) limit/i.test(st.sql) && !rows.some((r) => r.detail.includes('TEMP B-TREE'));
    for (const r of rows) {
      const m = /^SCAN (\w+)(.*)$/.exec(r.detail);
      const table = m && names.get(m[1].toLowerCase());
      if (table && WATCHED.includes(table) && !/USING (COVERING )?INDEX/.test(m[2]) && !pkWalk) bad.push(`${table}: ${r.detail}`);
    }
    return bad;
  } finally {
    await db.client.releaseConnection(conn);
  }
}

const PLANNED = /^\s*(select|update|delete|insert\s+into\s+\S+\s*(\([^)]*\))?\s*select|with)\b/i;
const catalog = (q: Record<string, unknown>) => () => listProducts(db, { limit: 20, ...q });
const admin = (q: Record<string, unknown>, archived?: boolean) => () =>
  adminListProducts(db, { ...productQuerySchema.parse({ limit: 20, ...q }), archived }, 'usd');

const CASES: Array<[string, () => Promise<unknown>]> = [
  ['catalog: newest, first page', catalog({})],
  ['catalog: newest, a middle page', catalog({ offset: 24_000 })],
  ['catalog: sort price', catalog({ sort: 'price' })],
  ['catalog: sort -price', catalog({ sort: '-price' })],
  ['catalog: sort name', catalog({ sort: 'name' })],
  ['catalog: sort -name', catalog({ sort: '-name' })],
  ['catalog: price range', catalog({ min_price: '100', max_price: '150' })],
  ['catalog: price range, sort price', catalog({ min_price: '100', max_price: '150', sort: 'price' })],
  ['catalog: in stock', catalog({ in_stock: 'true' })],
  ['catalog: out of stock', catalog({ in_stock: 'false' })],
  ['catalog: search one word', catalog({ q: 'moonphase' })],
  ['catalog: search two words', catalog({ q: 'titanium rubber' })],
  ['catalog: search a word, sort price', catalog({ q: 'skeleton', sort: 'price' })],
  ['catalog: one product', () => getProduct(db, 1234)],
  ['admin: products with archived, sort price', admin({ sort: 'price' })],
  ['admin: products, low stock', admin({ low_stock: 0 })],
  ['admin: archived products only', admin({}, true)],
  ['cart: add, read', () => addToCart(db, userId, { product_id: 101, quantity: 1 }).then(() => getCart(db, userId))],
  ['orders: place an order from the cart', () => createOrderFromCart(db, userId, { idempotencyKey: 'plan-1' })],
  ['orders: a user’s orders with their lines', () => listOrders(db, { userId, limit: 20 })],
  ['orders: by payment intent', () => findOrderByPaymentIntent(db, 'pi_bulk_100001')],
  ['orders: by checkout session', () => findOrderByCheckoutSession(db, 'cs_bulk_99999')],
  ['orders: by idempotency key', () => ordersRepository.findByIdempotencyKey(db, userId, 'plan-1')],
  ['orders: pending older than', () => listPendingOlderThan(db, new Date('2026-08-01T00:00:00Z'))],
  ['orders: intent cancel unconfirmed', () => listIntentCancelUnconfirmed(db)],
  ['admin: orders, newest', () => adminListOrders(db, { limit: 20, offset: 0 })],
  ['admin: orders, a middle page', () => adminListOrders(db, { limit: 20, offset: 100_000 })],
  ['admin: orders by status', () => adminListOrders(db, { status: 'pending', limit: 20, offset: 0 })],
  ['admin: orders since', () => adminListOrders(db, { from: new Date('2026-11-25T00:00:00Z'), limit: 20, offset: 0 })],
  ['admin: orders by status since', () => adminListOrders(db, { status: 'shipped', from: new Date('2026-11-01T00:00:00Z'), limit: 20, offset: 0 })],
  ['admin: orders of a customer', () => adminListOrders(db, { customer: 'bulk7', limit: 20, offset: 0 })],
  ['admin: one order', () => adminGetOrder(db, orderId)],
  ['admin: users', () => adminListUsers(db, { limit: 20, offset: 0 })],
  ['admin: users by role', () => adminListUsers(db, { role: 'staff', limit: 20, offset: 0 })],
  ['admin: users search', () => adminListUsers(db, { q: 'bulk12', limit: 20, offset: 0 })],
  ['admin: audit', () => listAudit(db, { limit: 20, offset: 0 })],
  ['admin: audit by action', () => listAudit(db, { action: 'order.ship', limit: 20, offset: 0 })],
  ['admin: audit by target', () => listAudit(db, { target_type: 'product', target_id: '17', limit: 20, offset: 0 })],
  ['outbox: claim', () => claimDue(db, { limit: 10, leaseMs: 60_000, now: new Date('2026-01-01T00:00:00Z') })],
  ['outbox: backlog', () => backlog(db)],
];

for (const [name, run] of CASES) {
  test.serial(`${name}: no full scan of a large table`, async (t) => {
    const statements = (await capture(run)).filter((s) => PLANNED.test(s.sql));
    t.true(statements.length > 0, 'the case sent a query');
    for (const st of statements) {
      const scans = await fullScans(st);
      t.deepEqual(scans, [], `${name}\n${st.sql}`);
    }
  });
}
