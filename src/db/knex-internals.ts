/**
 * The one place that reaches into knex's private modules (for the SQLite client in
 * sqlite-immediate-client.ts). Their paths and shapes are not part of knex's public API and may
 * change in any release, so the project pins knex exactly (package.json) and checks at start-up
 * that the installed knex is the one these lines were written against.
 */
import { createRequire } from 'node:module';

/** The knex release the private modules below were read from. Keep equal to package.json's pin. */
export const PATCHED_KNEX_VERSION = '3.3.0';

const require = createRequire(import.meta.url);

/** Throws, naming both versions, unless the installed knex is PATCHED_KNEX_VERSION. */
export function assertKnexVersion(installed: string = (require('knex/package.json') as { version: string }).version): void {
  if (installed !== PATCHED_KNEX_VERSION) {
    throw new Error(
      `knex ${installed} is installed, but src/db/sqlite-immediate-client.ts patches knex ${PATCHED_KNEX_VERSION}'s private modules. ` +
        `Install knex@${PATCHED_KNEX_VERSION} (npm install knex@${PATCHED_KNEX_VERSION} --save-exact), or check the patch against ${installed} and update PATCHED_KNEX_VERSION in src/db/knex-internals.ts.`,
    );
  }
}

export type KnexClientClass = new (config: object) => object;
export type KnexTransactionClass = new (...args: unknown[]) => { query(conn: unknown, sql: string): Promise<unknown> };

/** knex's better-sqlite3 client class and its SQLite transaction class (private modules). */
export function sqliteInternals(): { BetterSqlite3Client: KnexClientClass; SqliteTransaction: KnexTransactionClass } {
  assertKnexVersion();
  return {
    BetterSqlite3Client: require('knex/lib/dialects/better-sqlite3/index.js') as KnexClientClass,
    SqliteTransaction: require('knex/lib/dialects/sqlite3/execution/sqlite-transaction.js') as KnexTransactionClass,
  };
}
