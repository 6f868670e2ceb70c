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
import { isMysql, migrationName, type Db } from '../db/connection.js';
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
  const config = db.client.config.migrations as Knex.MigratorConfig;
  const table = config.tableName ?? 'knex_migrations';
  if (!(await db.schema.hasTable(table))) {
    const all = await config.migrationSource!.getMigrations([]);
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

  // One transaction (BEGIN IMMEDIATE on SQLite, see connection.ts): two servers started at once
  // on a new file take turns, so the second finds the schema and the catalog already there
  // instead of racing the first to create knex's bookkeeping tables or to seed.
  const result = await db.transaction(async (trx) => {
    const [, applied] = (await trx.migrate.latest()) as [number, string[]];
    const seeded = (await productsRepository.count(trx)) === 0 ? (await seedCatalog(trx)).added : 0;
    return { migrated: applied.map(migrationName), seeded };
  });
  const { migrated, seeded } = result;
  if (migrated.length) logger.info({ migrations: migrated }, `applied ${migrated.length} migration${migrated.length === 1 ? '' : 's'} to the embedded database`);
  if (seeded) logger.info({ products: seeded }, `the catalog was empty: loaded ${seeded} sample products`);
  return result;
}
