/**
 * Knex's configuration for each dialect: SQLite (better-sqlite3, the embedded default) and
 * MySQL/MariaDB (one mysql2 pool), with the bound on how long any step may wait on the database
 * (DB_TIMEOUT_MS, see docs/architecture.md).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { Knex } from 'knex';
import type { DatabaseConfig } from '../config.js';
import { MIGRATIONS_TABLE, MigrationSource } from './migration-source.js';
import { immediateSqliteClient } from './sqlite-immediate-client.js';

/** DB_TIMEOUT_MS when unset. */
export const DEFAULT_DB_TIMEOUT_MS = 5000;

/**
 * The bound for `watchstore migrate` (and the knexfile): an ALTER on a large table may rightly
 * run for minutes, and must not be cut off by the request bound.
 */
export const MIGRATION_TIMEOUT_MS = 30 * 60_000;

export interface DbOptions {
  /**
   * The longest any one step may wait on the database: a connection from the pool, a new
   * connection's handshake, a query's answer (MySQL), a locked SQLite file (busy_timeout).
   * Past it the step fails with an error isDatabaseUnavailable() recognises (HTTP 503).
   */
  timeoutMs?: number;
}

export type DbLogSink = (level: 'warn' | 'error' | 'deprecate' | 'debug', message: unknown) => void;

/** Knex's own messages: to stderr by default (never stdout, which carries --json output). */
let logSink: DbLogSink = (level, message) => process.stderr.write(`knex ${level}: ${typeof message === 'string' ? message : inspect(message)}\n`);

/** Where knex's warnings go: the CLI shows them only with DEBUG, the server logs them through pino. */
export function setDbLogSink(sink: DbLogSink): void {
  logSink = sink;
}

const log: Knex.Config['log'] = {
  warn: (m: unknown) => logSink('warn', m),
  error: (m: unknown) => logSink('error', m),
  deprecate: (m: unknown) => logSink('deprecate', m),
  debug: (m: unknown) => logSink('debug', m),
};

type Done = (err: Error | null, conn: unknown) => void;
type QueryCallback = (err: Error | null, ...rest: unknown[]) => void;
interface Mysql2Connection {
  query(options: unknown, values?: unknown, callback?: unknown): unknown;
  destroy(): void;
}

/**
 * Gives every query sent on a mysql2 connection a timeout (mysql2's own per-query `timeout`
 * option, unless the query sets one), and closes the connection when one expires: mysql2 then
 * fails the query (PROTOCOL_SEQUENCE_TIMEOUT) but would keep the stalled command at the head of
 * the connection's queue, so every later query on it would wait forever. Closed, it is discarded
 * by the pool (knex validates connections on release and acquire), which opens a fresh one once
 * the database answers again.
 */
function boundQueries(conn: Mysql2Connection, timeoutMs: number): void {
  const query = conn.query.bind(conn);
  conn.query = (options: unknown, values?: unknown, callback?: unknown) => {
    const opts = typeof options === 'string' ? { sql: options } : (options as object);
    const withTimeout = { timeout: timeoutMs, ...opts };
    const wrap = (cb: unknown) =>
      typeof cb === 'function'
        ? (err: Error | null, ...rest: unknown[]) => {
            if ((err as { code?: unknown } | null)?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') conn.destroy();
            (cb as QueryCallback)(err, ...rest);
          }
        : cb;
    if (typeof values === 'function') return query(withTimeout, wrap(values));
    return query(withTimeout, values, wrap(callback));
  };
}

/**
 * Puts the file in WAL mode (a no-op when it is already). Switching a file that is in rollback
 * mode (a copied or restored file) needs an exclusive lock, and when two processes open it at
 * once SQLite answers one of them SQLITE_BUSY at once, without waiting (its deadlock rule), so
 * the switch is tried again until `deadline`; busy_timeout bounds each try.
 */
async function switchToWal(conn: { pragma(s: string): unknown }, deadline: number): Promise<void> {
  for (;;) {
    try {
      conn.pragma('journal_mode = WAL');
      conn.pragma('synchronous = NORMAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * 40)));
    }
  }
}

export function knexConfig(database: DatabaseConfig, { timeoutMs = DEFAULT_DB_TIMEOUT_MS }: DbOptions = {}): Knex.Config {
  const migrations: Knex.MigratorConfig = { migrationSource: new MigrationSource(), tableName: MIGRATIONS_TABLE };
  if (database.client === 'sqlite') {
    if (database.filename !== ':memory:') mkdirSync(path.dirname(path.resolve(database.filename)), { recursive: true });
    return {
      client: immediateSqliteClient(),
      log,
      connection: { filename: database.filename },
      useNullAsDefault: true,
      migrations,
      // The one connection may be held by a transaction: waiting for it is bounded too.
      acquireConnectionTimeout: timeoutMs,
      pool: {
        // better-sqlite3 is synchronous: one connection serialises every statement and transaction.
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(s: string): unknown }, done: Done) {
          try {
            // busy_timeout first: switching a new file to WAL needs the lock too. It bounds the
            // wait for a file another process holds locked; past it, SQLITE_BUSY.
            conn.pragma(`busy_timeout = ${Math.trunc(timeoutMs)}`);
            conn.pragma('foreign_keys = ON');
          } catch (err) {
            done(err as Error, conn);
            return;
          }
          switchToWal(conn, Date.now() + timeoutMs).then(
            () => done(null, conn),
            (err: Error) => done(err, conn),
          );
        },
      },
    };
  }
  return {
    client: 'mysql2',
    log,
    connection: {
      host: database.host,
      port: database.port,
      user: database.user,
      password: database.password,
      database: database.database,
      timezone: 'Z',
      dateStrings: true,
      // Money columns are BIGINT: without bigNumberStrings, mysql2 returns them as JS numbers while
      // they fit in 2^53 (cents never come near), as strings beyond; readers still wrap them in Number().
      supportBigNumbers: true,
      charset: 'utf8mb4',
      connectTimeout: timeoutMs,
      // Knex sends every statement with query(), never execute(), so mysql2's cache of prepared
      // statements stays empty; but it allocates all its slots up front (16,000 by default:
      // ~0.5 MB of heap per pooled connection, 5 MB for the pool).
      maxPreparedStatements: 1,
      // No multipleStatements: one text never carries two statements, so a value that ever reached
      // SQL text by mistake could not start a statement of its own (sqlRunThenAll, src/db/prepared.ts).
    },
    migrations,
    acquireConnectionTimeout: timeoutMs,
    pool: {
      min: 0,
      // 20, not 10: with 50 clients on 2 cores, add to cart served 3,140 and 3,096 req/s against
      // 2,898 and 2,588 with 10 (bench/README.md, "Add to cart on MariaDB"); 30 did no better.
      // More statements in flight let MariaDB commit them in fewer log flushes.
      max: 20,
      afterCreate(conn: Mysql2Connection, done: Done) {
        boundQueries(conn, timeoutMs);
        conn.query("SET time_zone = '+00:00'", (err: Error | null) => done(err, conn));
      },
    },
  };
}
