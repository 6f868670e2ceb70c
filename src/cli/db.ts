/**
 * The process's database for CLI commands. Knex's own messages would repeat, with a stack, what
 * the CLI already says in one line: here they go to stderr only with DEBUG=watchstore.
 */
import { inspect } from 'node:util';
import { debugEnabled } from '../config.js';
import { getDb, type Db } from '../db/connection.js';
import type { DbOptions } from '../db/knex-config.js';
import { migrationName } from '../db/migration-source.js';
import { setDbLogSink } from '../db/knex-config.js';

/** `options` apply when this opens the process's database (the first call). */
export async function openDb(options?: DbOptions): Promise<Db> {
  setDbLogSink((level, m) => {
    if (debugEnabled()) process.stderr.write(`knex ${level}: ${typeof m === 'string' ? m : inspect(m)}\n`);
  });
  return getDb(options);
}

/** The applied and the pending migrations, by name (as `migrate --status` and `doctor` show them). */
export async function listMigrations(db: Db): Promise<{ applied: string[]; pending: string[] }> {
  const [completed, pending] = (await db.migrate.list()) as [Array<{ name: string }>, Array<string | { file: string }>];
  return {
    applied: completed.map((m) => migrationName(m.name)),
    pending: pending.map((m) => migrationName(typeof m === 'string' ? m : m.file)),
  };
}
