/**
 * What a driver error means, on both dialects (mysql2 and better-sqlite3 codes): the one place
 * that knows the codes. Callers ask these questions instead of matching codes themselves.
 */

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** True when a write failed on a unique key. */
export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when a write failed on a foreign key: the row it points at is not there. */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === 'ER_NO_REFERENCED_ROW_2' || code === 'ER_NO_REFERENCED_ROW';
}

// ER_AUTOINC_READ_FAILED (1467): InnoDB's answer when a statement that takes the table's AUTO-INC
// lock (INSERT … SELECT, the cart's add) is chosen as a deadlock victim or times out waiting for
// it: a deadlock under another name (seen with orders and cart adds on three instances at once,
// test-cluster/), the transaction rolled back like any other.
const RETRYABLE_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_AUTOINC_READ_FAILED', 'SQLITE_BUSY_SNAPSHOT']);

/**
 * True for lock conflicts after which running the whole transaction again is safe: MariaDB chose
 * it as a deadlock victim or a lock wait timed out, or a SQLite transaction's snapshot went stale.
 * Not a plain SQLITE_BUSY: every SQLite transaction takes the write lock at BEGIN
 * (sqlite-immediate-client.ts), so that error comes only after busy_timeout (DB_TIMEOUT_MS) was
 * waited out, and waiting again would multiply the bound; it means unavailable (503).
 */
export function isRetryableLockError(err: unknown): boolean {
  return RETRYABLE_CODES.has(codeOf(err));
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  // mysql2's per-query timeout (DB_TIMEOUT_MS): the database stopped answering mid-query.
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_ACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_CON_COUNT_ERROR',
  'SQLITE_CANTOPEN',
  // The file stayed locked by another process for all of busy_timeout (DB_TIMEOUT_MS).
  'SQLITE_BUSY',
  'SQLITE_NOTADB',
]);

/**
 * True when the error means the database could not be reached or did not answer in time (rather
 * than a bad query): no pooled connection within DB_TIMEOUT_MS (knex's KnexTimeoutError), a query
 * that timed out, a refused or lost connection, a file locked too long.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; fatal?: unknown };
  if (e.name === 'KnexTimeoutError') return true;
  return UNAVAILABLE_CODES.has(codeOf(err)) || e.fatal === true;
}
