/**
 * The migrations in migrations/, named without their extension, so the compiled .js files (the
 * CLI) and the .ts sources (tests under tsx) are the same migrations to knex.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

/** Where knex records the applied migrations. */
export const MIGRATIONS_TABLE = 'knex_migrations';

const here = path.dirname(fileURLToPath(import.meta.url));
/** migrations/ beside src/ — in the source tree and in dist/ alike. */
export const MIGRATIONS_DIR = path.resolve(here, '../../migrations');

/** A migration's name without its extension: the same for the .ts source and the compiled .js. */
export function migrationName(file: string): string {
  return file.replace(/\.(ts|js)$/, '');
}

export class MigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    const ext = path.extname(fileURLToPath(import.meta.url)); // .ts under tsx, .js when compiled
    return readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts'))
      .sort();
  }
  getMigrationName(file: string): string {
    return migrationName(file);
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href);
  }
}
