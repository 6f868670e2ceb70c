/**
 * Whether a database's schema matches the code: the migrations applied (knex_migrations) against
 * the migrations this build ships. Used by `/api/health` (a schema behind or ahead answers 503)
 * and by `watchstore restore` (docs/data.md, migrations).
 */
import { readdirSync } from 'node:fs';
import type { Db } from './connection.js';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE, migrationName } from './migration-source.js';

/** The migrations this build ships, by name, in order. */
export function codeMigrations(): string[] {
  const names = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .map(migrationName);
  return [...new Set(names)].sort();
}

export interface SchemaState {
  state: 'current' | 'behind' | 'ahead';
  /** In the code, not applied. */
  pending: string[];
  /** Applied, unknown to the code (a newer build migrated this database). */
  unknown: string[];
}

/** One read of the migrations table (an absent table counts as nothing applied). */
export async function schemaState(db: Db, code: string[] = codeMigrations()): Promise<SchemaState> {
  let applied: string[] = [];
  try {
    applied = ((await db(MIGRATIONS_TABLE).select('name')) as Array<{ name: string }>).map((r) => migrationName(r.name));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (!(e.code === 'ER_NO_SUCH_TABLE' || /no such table/i.test(String(e.message)))) throw err;
  }
  const unknown = applied.filter((m) => !code.includes(m));
  const pending = code.filter((m) => !applied.includes(m));
  return { state: unknown.length > 0 ? 'ahead' : pending.length > 0 ? 'behind' : 'current', pending, unknown };
}
