/**
 * The running command's database (context.ts: the process's pool for the shipped CLI, whose
 * knex messages go to stderr only with DEBUG=watchstore; a test's database in-process).
 */
import type { Db } from '../db/connection.js';
import type { DbOptions } from '../db/knex-config.js';
import { migrationName } from '../db/migration-source.js';
import { currentContext } from './context.js';

/** `options` apply when this opens the run's database (the first call). */
export function openDb(options?: DbOptions): Promise<Db> {
  return currentContext().db(options);
}

/** The applied and the pending migrations, by name (as `migrate --status` and `doctor` show them). */
export async function listMigrations(db: Db): Promise<{ applied: string[]; pending: string[] }> {
  const [completed, pending] = (await db.migrate.list()) as [Array<{ name: string }>, Array<string | { file: string }>];
  return {
    applied: completed.map((m) => migrationName(m.name)),
    pending: pending.map((m) => migrationName(typeof m === 'string' ? m : m.file)),
  };
}
