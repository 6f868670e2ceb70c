/**
 * What the server does to its database before it listens.
 *
 * The embedded SQLite store sets itself up (migrate, then the sample catalog when there are no
 * products yet), so `npm start` on a fresh checkout shows a working shop. A MySQL database is
 * shared and operated on purpose: the server never migrates it, and refuses to start while
 * migrations are pending.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { isMysql } from '../db/dialect.js';
import { migrationName, MIGRATIONS_TABLE } from '../db/migration-source.js';
import type { Db } from '../db/connection.js';
import { AppError } from '../errors.js';
import { seedCatalog } from '../products/catalog.service.js';
import { productsRepository } from '../products/products.repository.js';

export interface BootstrapResult {
  migrated: string[];
  seeded: number;
}

/**
 * How many migrations are not applied. Read-only: knex's own migrate.list() would create its
 * bookkeeping tables in a database nobody has migrated yet.
 */
async function pendingMigrations(db: Db): Promise<number> {
  if (!(await db.schema.hasTable(MIGRATIONS_TABLE))) {
    const all = await (db.client.config.migrations as Knex.MigratorConfig).migrationSource!.getMigrations([]);
    return all.length;
  }
  const [, pending] = (await db.migrate.list()) as [unknown[], unknown[]];
  return pending.length;
}

export async function prepareDatabase(db: Db, logger: Logger): Promise<BootstrapResult> {
  if (isMysql(db)) {
    const n = await pendingMigrations(db);
    if (n > 0) {
      throw new AppError('SERVICE_UNAVAILABLE', `${n} migration${n === 1 ? '' : 's'} pending: run \`watchstore migrate\``);
    }
    return { migrated: [], seeded: 0 };
  }

  const migrated = (await migrateEmbedded(db, () => logger.info('waiting for the migration lock: another process is migrating this database'))).map(
    migrationName,
  );
  // Seeded in one transaction (BEGIN IMMEDIATE on SQLite, see connection.ts) that checks for
  // products first: of several servers starting together, one loads the catalog.
  const seeded = await db.transaction(async (trx) => ((await productsRepository.count(trx)) === 0 ? (await seedCatalog(trx)).added : 0));
  const result = { migrated, seeded };
  if (migrated.length)
    logger.info({ migrations: migrated }, `applied ${migrated.length} migration${migrated.length === 1 ? '' : 's'} to the embedded database`);
  if (seeded) logger.info({ products: seeded }, `the catalog was empty: loaded ${seeded} sample products`);
  return result;
}

const MIGRATION_LOCK_WAIT_MS = 30_000;

/**
 * Migrates the embedded store, safely when several servers start at once.
 *
 * A new file gets its whole schema in one transaction: whoever takes the write lock first creates
 * everything, the others find it there. (Left to itself, knex creates its bookkeeping tables
 * outside any transaction, and two processes racing there could even insert two lock rows, after
 * which it would report the migrations locked forever.) In there, a migration that rebuilds a
 * table cannot switch foreign keys off, but a new file has no rows for a rebuild to lose.
 *
 * A store that already exists is migrated as `watchstore migrate` does it: one migration at a
 * time outside any transaction, so rebuilds keep their rows, under knex's own lock, which a
 * second server waits for.
 */
async function migrateEmbedded(db: Db, onFirstWait: () => void): Promise<string[]> {
  const fresh = await db.transaction(async (trx) => {
    if (await trx.schema.hasTable(MIGRATIONS_TABLE)) return undefined;
    return ((await trx.migrate.latest()) as [number, string[]])[1];
  });
  if (fresh) return fresh;
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
  let waited = false;
  for (;;) {
    try {
      return ((await db.migrate.latest()) as [number, string[]])[1];
    } catch (err) {
      if ((err as Error)?.name !== 'MigrationLocked' || Date.now() > deadline) throw err;
      if (!waited) onFirstWait();
      waited = true;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
