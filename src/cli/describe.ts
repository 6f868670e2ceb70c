/** Small pure helpers that turn configuration into text safe to print (never a password). */
import type { DatabaseConfig } from '../config.js';

/** Where the database is, as `sqlite:./data/x.sqlite` or `mysql://user@host:port/db`. */
export function describeDatabase(db: DatabaseConfig): string {
  return db.client === 'sqlite' ? `sqlite:${db.filename}` : `mysql://${db.user}@${db.host}:${db.port}/${db.database}`;
}

/** A Redis URL without its credentials. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis (unparseable URL)';
  }
}

/**
 * The one line for a database error whose cause the operator can act on, naming the database
 * (`where`, from describeDatabase): not migrated, schema behind, no such database, cannot open.
 * Undefined for anything else.
 */
export function databaseFailure(err: unknown, where: string): string | undefined {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = String(e.message ?? err).split('\n')[0];
  // Knex puts the SQL in front of the driver's message; the driver's part is what people need.
  const reason = message.split(' - ').pop() ?? message;
  if (code === 'ER_NO_SUCH_TABLE' || /no such table/i.test(message)) {
    return `the database ${where} is not migrated (${reason}): run \`watchstore migrate\``;
  }
  if (code === 'ER_BAD_FIELD_ERROR' || /no such column/i.test(message)) {
    return `the database schema of ${where} is behind the code (${reason}): run \`watchstore migrate\``;
  }
  if (code === 'ER_BAD_DB_ERROR') return `the database ${where} does not exist: create it (CREATE DATABASE), then run \`watchstore migrate\``;
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_NOTADB') return `cannot open the database ${where}: ${reason}`;
  return undefined;
}
