/**
 * A large generated store, bulk-inserted in a few INSERT … SELECT statements over a table of
 * numbers (no row travels from Node), on both dialects: used by the query-plan test and by the
 * bench's `growth` scenario. Products are named and described from a small vocabulary, so
 * searches for its words find some of them.
 */
import type { Knex } from 'knex';

const isMysql = (db: Knex) => db.client.config.client === 'mysql2';

export const WORDS = ['steel', 'gold', 'titanium', 'ceramic', 'bronze', 'chronograph', 'diver', 'pilot', 'dress', 'field', 'skeleton', 'moonphase'];
const STRAPS = ['leather strap', 'steel bracelet', 'rubber strap', 'canvas strap', 'mesh bracelet', 'nato strap', 'alligator strap'];

/** `CASE expr WHEN 0 THEN 'a' … END`: the i-th word for expr = i. */
function pick(expr: string, list: string[]): string {
  return `CASE ${expr} ${list.map((w, i) => `WHEN ${i} THEN '${w}'`).join(' ')} END`;
}

/** SQL for a time `minutesExpr` minutes before 2026-11-30, in the stored text form. */
function minutesAgo(db: Knex, minutesExpr: string): string {
  return isMysql(db)
    ? `DATE_SUB('2026-11-30 00:00:00.000', INTERVAL (${minutesExpr}) MINUTE)`
    : `strftime('%Y-%m-%d %H:%M:%f', '2026-11-30 00:00:00', '-' || (${minutesExpr}) || ' minutes')`;
}

const concat = (db: Knex, ...parts: string[]) => (isMysql(db) ? `CONCAT(${parts.join(', ')})` : parts.map((p) => `(${p})`).join(' || '));
const intDiv = (db: Knex, a: string, b: number) => (isMysql(db) ? `(${a} DIV ${b})` : `(${a} / ${b})`);

/** Runs `insert` for 1…total in ranges of 50,000: each statement stays well inside DB_TIMEOUT_MS on a busy machine. */
async function inBatches(total: number, insert: (lo: number, hi: number) => Promise<unknown>): Promise<void> {
  for (let lo = 1; lo <= total; lo += 50_000) await insert(lo, Math.min(total, lo + 49_999));
}

/** A table bulk_seq(n) holding 1…max (max ≤ 1,000,000), made from a cross join of digits. */
async function ensureSequence(db: Knex, max: number): Promise<void> {
  await db.schema.dropTableIfExists('bulk_seq');
  await db.schema.createTable('bulk_seq', (t) => {
    t.integer('n').primary();
  });
  const digits =
    '(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)';
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  await db.raw(
    `INSERT INTO bulk_seq (n) SELECT n FROM (SELECT ${names.map((x, i) => `${x}.d * ${10 ** i}`).join(' + ')} + 1 AS n FROM ${names.map((x) => `${digits} ${x}`).join(' CROSS JOIN ')}) s WHERE n <= ?`,
    [max],
  );
}

/**
 * Adds `count` products (ids after the existing ones): 1 in 50 archived, 1 in 10 out of stock,
 * prices spread over 10.00–5,009.99, created a minute apart. Raises the catalog revision, as any
 * write to products must (docs/data.md, Catalog freshness).
 */
export async function bulkProducts(db: Knex, count: number): Promise<void> {
  await ensureSequence(db, count);
  const word = pick('n % 12', WORDS);
  const word2 = pick(`${intDiv(db, 'n', 12)} % 12`, WORDS);
  const strap = pick('n % 7', STRAPS);
  await inBatches(count, (lo, hi) =>
    db.raw(
      `INSERT INTO products (name, description, price_cents, stock, archived, created_at, updated_at)
     SELECT ${concat(db, "'Model '", 'n', "' '", word)},
            ${concat(db, "'A '", word2, "' watch on a '", strap, "', reference '", 'n', "'.'")},
            1000 + (n * 7919) % 500000, n % 10, CASE WHEN n % 50 = 0 THEN 1 ELSE 0 END,
            ${minutesAgo(db, 'n')}, ${minutesAgo(db, 'n')}
       FROM bulk_seq WHERE n BETWEEN ? AND ?`,
      [lo, hi],
    ),
  );
  await db.schema.dropTable('bulk_seq');
  await db('catalog_revision')
    .where({ id: 1 })
    .update({ revision: db.raw('revision + 1') });
}

/**
 * Adds `users` customers and `orders` orders spread over them (1 in 20 pending, the rest paid,
 * shipped, delivered or canceled), each with one line, every other one with two, over the
 * existing products; every order has a PaymentIntent or a Checkout Session id.
 */
export async function bulkOrders(db: Knex, opts: { users: number; orders: number }): Promise<void> {
  await ensureSequence(db, Math.max(opts.users, opts.orders));
  await db.raw(
    `INSERT INTO users (username, email, password_hash, role, created_at, updated_at)
     SELECT ${concat(db, "'bulk'", 'n')}, ${concat(db, "'bulk'", 'n', "'@example.com'")}, 'x', CASE WHEN n % 100 = 0 THEN 'staff' ELSE 'customer' END,
            ${minutesAgo(db, 'n')}, ${minutesAgo(db, 'n')}
       FROM bulk_seq WHERE n <= ?`,
    [opts.users],
  );
  const status = pick('n % 20', ['pending', 'canceled', 'paid', 'shipped', ...Array(16).fill('delivered')]);
  await inBatches(opts.orders, (lo, hi) =>
    db.raw(
      `INSERT INTO orders (user_id, status, total_cents, currency, payment_intent_id, checkout_session_id, created_at, updated_at)
     SELECT u.id, ${status}, 1000 + (n * 104729) % 900000, 'usd',
            CASE WHEN n % 3 = 0 THEN NULL ELSE ${concat(db, "'pi_bulk_'", 'n')} END,
            CASE WHEN n % 3 = 0 THEN ${concat(db, "'cs_bulk_'", 'n')} ELSE NULL END,
            ${minutesAgo(db, 'n')}, ${minutesAgo(db, 'n')}
       FROM bulk_seq JOIN users u ON u.username = ${concat(db, "'bulk'", `1 + n % ${Math.trunc(opts.users)}`)}
      WHERE n BETWEEN ? AND ?`,
      [lo, hi],
    ),
  );
  await db.schema.dropTable('bulk_seq');
  const [{ lo, hi }] = (await db('products').min({ lo: 'id' }).max({ hi: 'id' })) as Array<{ lo: number; hi: number }>;
  const span = Number(hi) - Number(lo) + 1;
  const [{ last }] = (await db('orders').max({ last: 'id' })) as Array<{ last: number }>;
  for (const [offset, filter] of [
    [0, ''],
    [7, 'AND o.id % 2 = 0'],
  ] as const) {
    await inBatches(Number(last), (from, to) =>
      db.raw(
        `INSERT INTO order_items (order_id, product_id, name, unit_price_cents, quantity)
         SELECT o.id, p.id, p.name, p.price_cents, 1 + o.id % 3
           FROM orders o JOIN products p ON p.id = ${Number(lo)} + (o.id * 31 + ${offset}) % ${span}
          WHERE o.id BETWEEN ? AND ? ${filter}`,
        [from, to],
      ),
    );
  }
}

/** Fills the admin's lists: `count` audit entries and as many outbox rows (most sent, some pending). */
export async function bulkAdminRows(db: Knex, count: number): Promise<void> {
  await ensureSequence(db, count);
  const action = pick('n % 4', ['product.update', 'order.ship', 'user.update', 'product.create']);
  await db.raw(
    `INSERT INTO audit_log (actor, action, target_type, target_id, created_at)
     SELECT ${concat(db, "'cli:bulk'", 'n % 5')}, ${action}, 'product', ${concat(db, "''", 'n % 1000')}, ${minutesAgo(db, 'n')} FROM bulk_seq`,
  );
  await db.raw(
    `INSERT INTO outbox (kind, topic, message_key, recipient, payload, status, available_at, created_at)
     SELECT 'email', 'order.paid', ${concat(db, "'bulk-'", 'n')}, 'someone@example.com', '{}', CASE WHEN n % 100 = 0 THEN 'pending' ELSE 'sent' END,
            ${minutesAgo(db, 'n')}, ${minutesAgo(db, 'n')} FROM bulk_seq`,
  );
  await db.schema.dropTable('bulk_seq');
}

/** Fresh statistics for the planner (after a bulk load). */
export async function analyze(db: Knex, tables: string[]): Promise<void> {
  if (isMysql(db)) for (const t of tables) await db.raw('ANALYZE TABLE ??', [t]);
  else await db.raw('ANALYZE');
}
