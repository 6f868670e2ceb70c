/** Dialect differences the repositories need, decided from knex's client (never its config). */
import type { Knex } from 'knex';

/**
 * True on MySQL/MariaDB. knex's mysql2 client reports the dialect `mysql`; the configured
 * `client` may be a class (the SQLite client is one), so it is not compared.
 */
export function isMysql(db: Knex): boolean {
  return (db.client as { dialect?: string }).dialect === 'mysql';
}
