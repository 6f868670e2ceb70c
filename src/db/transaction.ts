/**
 * Transactions that start again when the database gives up on them for a reason that is not
 * the work's fault: MariaDB chose it as a deadlock victim or a lock wait timed out, or another
 * process held the SQLite file. The whole unit is retried, never one statement, so a retry
 * decides on fresh data. Orders and payments use this one helper.
 */
import type { Knex } from 'knex';
import type { Db } from './connection.js';

const RETRYABLE_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT']);

/** How many times a transaction runs at most (200 concurrent buyers on MariaDB fit in this). */
export const MAX_TRANSACTION_ATTEMPTS = 8;

/** True for lock conflicts after which running the whole transaction again is safe. */
export function isRetryableLockError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

function isTransaction(db: Db): db is Knex.Transaction {
  return (db as Knex.Transaction).isTransaction === true;
}

/** Runs `work` in a new transaction, again from the start after a retryable lock conflict. */
export async function retryingTransaction<T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>, opts: { maxAttempts?: number } = {}): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? MAX_TRANSACTION_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (err) {
      if (!isRetryableLockError(err) || attempt >= maxAttempts) throw err;
      // A little jitter so the transactions that collided do not collide again in step.
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.floor(Math.random() * 10 * attempt)));
    }
  }
}

/**
 * In the caller's transaction when `db` is one (the caller owns commit and retry), else in a new
 * retrying one.
 */
export function inTransaction<T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return isTransaction(db) ? work(db) : retryingTransaction(db, work);
}
