import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT']);
const MAX_ATTEMPTS = 5;

/**
 * A transaction that starts again from the top when MariaDB picked it as a deadlock victim (or a
 * lock wait timed out, or another process held the SQLite file): the whole unit is retried, never
 * one statement, so the retry decides on fresh data.
 */
export async function retryingTransaction<T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if (typeof code !== 'string' || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 10 * attempt)));
    }
  }
}
