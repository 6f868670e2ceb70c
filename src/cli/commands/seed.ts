/** `watchstore seed [--file F] [--reset]`: the sample catalog (never accounts). */
import { cliConfig } from '../context.js';
import path from 'node:path';
import { openDb } from '../db.js';
import { seedCatalog } from '../../products/catalog.service.js';
import { listProducts } from '../../products/products.service.js';
import { ui, usageError } from '../ui.js';

export interface SeedOptions {
  file?: string;
  reset?: boolean;
  yes?: boolean;
}

export async function seed(_args: string[], opts: SeedOptions): Promise<number | void> {
  const db = await openDb();
  if (opts.reset) {
    const { total } = await listProducts(db, { limit: '1' }, (await cliConfig()).currency);
    const question = async () => `Delete all ${total} product${total === 1 ? '' : 's'} and load the catalog afresh?`;
    if (!opts.yes && !ui.interactive()) throw usageError(`seed --reset needs --yes when not run interactively; it would delete all ${total} products.`);
    if (!(await ui.confirmOrYes('seed --reset', opts.yes, question, 'Nothing changed.'))) return 1;
  }
  const result = await seedCatalog(db, { file: opts.file ? path.resolve(opts.file) : undefined, reset: opts.reset === true });
  await ui.result(result, () => {
    ui.print(
      `Catalog seeded: ${result.added} added, ${result.skipped} skipped (already there), ${result.removed} removed; ` +
        `${result.total} products in the store.`,
    );
  });
}
