/**
 * knex's better-sqlite3 client, except that every transaction starts with `BEGIN IMMEDIATE`.
 *
 * knex opens them with a plain (deferred) `BEGIN`: such a transaction takes the write lock only
 * at its first write, and if another process (the CLI, a second server) holds it by then, SQLite
 * answers SQLITE_BUSY at once, without waiting out busy_timeout, because a reader that waited for
 * the lock could deadlock. Taken at BEGIN, the lock is waited for like any other (up to
 * busy_timeout). Within one process nothing changes: its one connection runs one transaction at
 * a time anyway. Built on knex's private classes: see knex-internals.ts for the version pin.
 */
import type { Knex } from 'knex';
import { type KnexClientClass, sqliteInternals } from './knex-internals.js';

let immediateSqlite: KnexClientClass | undefined;

/** The client class, to pass as knex's `client` option. */
export function immediateSqliteClient(): Knex.Config['client'] {
  if (!immediateSqlite) {
    const { BetterSqlite3Client, SqliteTransaction } = sqliteInternals();
    class ImmediateTransaction extends SqliteTransaction {
      begin(conn: unknown): Promise<unknown> {
        return this.query(conn, 'BEGIN IMMEDIATE;');
      }
    }
    immediateSqlite = class ImmediateSqliteClient extends BetterSqlite3Client {
      transaction(...args: unknown[]) {
        return new ImmediateTransaction(this, ...args);
      }
    };
  }
  return immediateSqlite as unknown as Knex.Config['client'];
}
