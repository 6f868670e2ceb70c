/**
 * The cart's SQL (src/cart/cart.repository.ts) and the per-request revision reads (catalog,
 * sessions), and only those, run on the driver's connection (borrowed from knex's pool and given
 * back) rather than through knex, with statements prepared
 * once per connection on SQLite. Knex compiles its query builder and better-sqlite3 prepares every
 * statement anew on each call, which costs more than running it.
 *
 * Kept because the bench pays for it (bench/README.md, "Prepared statements" and "Add to cart on
 * MariaDB"): add to cart ran about twice as many requests per catalog request as the same queries
 * through knex's query builder, on MariaDB and on SQLite, and faster than the same SQL through
 * knex.raw.
 *
 * What knex no longer sees for these queries, on both dialects: they do not go through knex's
 * query runner, so no `query` / `query-response` / `query-error` events, nothing in
 * `DEBUG=knex:query` / `knex:bindings` logs, no `.timeout()`, and errors arrive as the driver threw
 * them (knex would prefix their message with the SQL and its bindings; their `code` is the same).
 * The pool's acquire timeout still applies, and on MySQL so does the per-query timeout
 * (DB_TIMEOUT_MS), which src/db/knex-config.ts puts on the connection itself.
 *
 * `sqlRunThenAll` runs a write and then the read that answers it on one connection (autocommit:
 * the read sees the write); when the write fails the read does not run and the write's error is
 * thrown. Two round trips on MySQL: sending both in one text would save one (bench/README.md, "Add
 * to cart on MariaDB") but needs mysql2's `multipleStatements` on every pooled connection, which
 * would let any value that ever reached SQL text by mistake run statements of its own.
 *
 * The SQL must be portable (`?` placeholders, no dialect syntax) and constant: values are only
 * ever parameters. Works inside a knex transaction too: its client hands out the transaction's
 * connection.
 */
import type { Knex } from 'knex';
import { isMysql } from './dialect.js';

type Runner = Knex | Knex.Transaction;

/**
 * What a parameter may be: the values both drivers bind the same way. better-sqlite3 refuses
 * booleans and Dates (mysql2 would bind them), so they are kept out at compile time: pass 0/1,
 * and toDbTime(date).
 */
export type SqlBinding = string | number | bigint | null | Buffer;
// (knex's RawBinding type has no bigint, but mysql2 binds one as the integer it is.)
interface Statement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number };
}
interface SqliteConnection {
  prepare(sql: string): Statement;
}
interface MysqlConnection {
  query(options: { sql: string }, values: readonly SqlBinding[], callback: (err: Error | null, result: unknown) => void): void;
}

const statementsOf = new WeakMap<object, Map<string, Statement>>();

/**
 * Knex refuses a query on a transaction that has committed or rolled back; the SQLite path below
 * takes the connection without knex's query runner, so it checks here (on both dialects, for one
 * behaviour). Otherwise the statement would run outside the transaction — with SQLite's single
 * connection, possibly inside whichever transaction holds it now.
 */
function assertUsable(db: Runner): void {
  const trx = db as Knex.Transaction;
  if (trx.isTransaction && trx.isCompleted()) {
    throw new Error('Transaction query already complete: a prepared statement cannot run on a transaction that has committed or rolled back');
  }
}

/** Runs `use` on the SQLite connection, with its statements prepared once per connection. */
async function withStatements<R>(db: Runner, use: (statement: (sql: string) => Statement) => R): Promise<R> {
  const conn = (await db.client.acquireConnection()) as SqliteConnection;
  try {
    let statements = statementsOf.get(conn);
    if (!statements) {
      statements = new Map();
      statementsOf.set(conn, statements);
    }
    const known = statements;
    return use((sql) => {
      let st = known.get(sql);
      if (!st) {
        st = conn.prepare(sql);
        known.set(sql, st);
      }
      return st;
    });
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/** mysql2's result of `sql` (text protocol; mysql2 escapes `params` into it) on `conn`. */
function mysqlQuery(conn: MysqlConnection, sql: string, params: readonly SqlBinding[]): Promise<unknown> {
  return new Promise((resolve, reject) => conn.query({ sql }, params, (err, result) => (err ? reject(err) : resolve(result))));
}

/** Runs `use` on a pooled MySQL connection, given back afterwards. */
async function withMysql<R>(db: Runner, use: (conn: MysqlConnection) => Promise<R>): Promise<R> {
  const conn = (await db.client.acquireConnection()) as MysqlConnection;
  try {
    return await use(conn);
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/**
 * Runs `sql` with `params`: on MySQL (`fromMysql` picks the answer out of mysql2's result), on
 * SQLite as the connection's prepared statement (`fromSqlite` runs it).
 */
async function run<R>(db: Runner, sql: string, params: readonly SqlBinding[], fromMysql: (result: unknown) => R, fromSqlite: (st: Statement) => R): Promise<R> {
  assertUsable(db);
  if (isMysql(db as Knex)) return fromMysql(await withMysql(db, (conn) => mysqlQuery(conn, sql, params)));
  return withStatements(db, (statement) => fromSqlite(statement(sql)));
}

/** Rows of a SELECT. */
export function sqlAll<T>(db: Runner, sql: string, params: readonly SqlBinding[]): Promise<T[]> {
  return run(
    db,
    sql,
    params,
    (rows) => rows as T[],
    (st) => st.all(...params) as T[],
  );
}

/** The first row of a SELECT, or undefined. */
export function sqlGet<T>(db: Runner, sql: string, params: readonly SqlBinding[]): Promise<T | undefined> {
  return run(
    db,
    sql,
    params,
    (rows) => (rows as T[])[0],
    (st) => st.get(...params) as T | undefined,
  );
}

/** Runs an INSERT/UPDATE/DELETE; the number of rows it changed. */
export function sqlRun(db: Runner, sql: string, params: readonly SqlBinding[]): Promise<number> {
  return run(
    db,
    sql,
    params,
    (result) => Number((result as { affectedRows: number }).affectedRows),
    (st) => st.run(...params).changes,
  );
}

/**
 * Runs an INSERT/UPDATE/DELETE, then a SELECT after it: the rows it changed and the SELECT's rows.
 * On one connection (see the header); the SELECT does not run when the write fails.
 */
export async function sqlRunThenAll<T>(
  db: Runner,
  write: { sql: string; params: readonly SqlBinding[] },
  read: { sql: string; params: readonly SqlBinding[] },
): Promise<{ changes: number; rows: T[] }> {
  assertUsable(db);
  if (isMysql(db as Knex)) {
    return withMysql(db, async (conn) => {
      const written = (await mysqlQuery(conn, write.sql, write.params)) as { affectedRows: number };
      return { changes: Number(written.affectedRows), rows: (await mysqlQuery(conn, read.sql, read.params)) as T[] };
    });
  }
  return withStatements(db, (statement) => {
    const changes = statement(write.sql).run(...write.params).changes;
    return { changes, rows: statement(read.sql).all(...read.params) as T[] };
  });
}
