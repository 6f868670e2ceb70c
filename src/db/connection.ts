/** One lazy Knex instance per process (getDb), and createDb for any other. */
import knexFactory, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config.js';
import { type DbOptions, knexConfig } from './knex-config.js';

export type Db = Knex;

export function createDb(database: DatabaseConfig, options: DbOptions = {}): Db {
  return knexFactory(knexConfig(database, options));
}

let instance: Db | undefined;

/**
 * The process's Knex instance, created on first use from the configuration (DB_TIMEOUT_MS unless
 * the first caller asks for another bound, as `watchstore migrate` does).
 */
export async function getDb(options?: DbOptions): Promise<Db> {
  if (!instance) {
    const { getConfig } = await import('../config.js');
    const config = getConfig();
    instance = createDb(config.database, { timeoutMs: config.dbTimeoutMs, ...options });
  }
  return instance;
}

/** Closes the pool so the process can exit at once. Safe to call when nothing was opened. */
export async function closeDb(): Promise<void> {
  const db = instance;
  instance = undefined;
  if (db) await db.destroy();
}
