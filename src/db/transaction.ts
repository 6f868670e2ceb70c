/**
 * Transactions that start again when the database gives up on them for a reason that is not
 * the work's fault: MariaDB chose it as a deadlock victim or a lock wait timed out, or another
 * process held the SQLite file. The whole unit is retried, never one statement, so a retry
 * decides on fresh data. Orders and payments use this one helper.
 */
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { isRetryableLockError } from './errors.js';

/** How many times a transaction runs at most (200 concurrent buyers on MariaDB fit in this). */
export const MAX_TRANSACTION_ATTEMPTS = 8;

type Hook = (trx: Knex.Transaction) => Promise<unknown>;

/** The last steps of each transaction opened here, run once its work is done, before commit. */
const finalSteps = new WeakMap<Knex.Transaction, Map<string, Hook>>();

/**
 * Runs `step` as the last statement of `trx`, once, however many times it is asked for under the
 * same `key` (so a lock it takes is held only from there to the commit). Returns false when `trx`
 * was not opened by retryingTransaction: then nothing is scheduled and the caller runs the step
 * itself, at once.
 */
export function atEndOfTransaction(trx: Knex.Transaction, key: string, step: Hook): boolean {
  const steps = finalSteps.get(trx);
  if (!steps) return false;
  if (!steps.has(key)) steps.set(key, step);
  return true;
}

function isTransaction(db: Db): db is Knex.Transaction {
  return (db as Knex.Transaction).isTransaction === true;
}

/** Runs `run` again after a retryable lock conflict, at most `maxAttempts` times in all. */
async function retryOnLockConflict<T>(run: () => Promise<T>, maxAttempts: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isRetryableLockError(err) || attempt >= maxAttempts) throw err;
      // A little jitter so the transactions that collided do not collide again in step.
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.floor(Math.random() * 10 * attempt)));
    }
  }
}

/** Runs `work` in a new transaction, again from the start after a retryable lock conflict. */
export function retryingTransaction<T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>, opts: { maxAttempts?: number } = {}): Promise<T> {
  return retryOnLockConflict(
    () =>
      db.transaction(async (trx) => {
        const steps = new Map<string, Hook>();
        finalSteps.set(trx, steps);
        const result = await work(trx);
        for (const step of steps.values()) await step(trx);
        return result;
      }),
    opts.maxAttempts ?? MAX_TRANSACTION_ATTEMPTS,
  );
}

/**
 * Runs one autocommit statement again after a deadlock or lock-wait timeout. Only for statements
 * that are safe to repeat (a deadlock victim's statement was rolled back whole), such as
 * "revoke what is still active": concurrent sign-outs of one session on MariaDB lock the same rows
 * in different orders and the database picks a victim. Never a 500 for two browser tabs.
 */
export function retryingStatement<T>(work: () => Promise<T>): Promise<T> {
  return retryOnLockConflict(work, 5);
}

/**
 * In the caller's transaction when `db` is one (the caller owns commit and retry), else in a new
 * retrying one.
 */
export function inTransaction<T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return isTransaction(db) ? work(db) : retryingTransaction(db, work);
}
