/** `watchstore seed [--file F] [--reset]`: the sample catalog (never accounts). */
import path from 'node:path';
import { openDb } from '../db.js';
import { seedCatalog } from '../../products/catalog.service.js';
import { ui } from '../ui.js';

export interface SeedOptions {
  file?: string;
  reset?: boolean;
}

export async function seed(_args: string[], opts: SeedOptions): Promise<void> {
  const db = await openDb();
  const result = await seedCatalog(db, { file: opts.file ? path.resolve(opts.file) : undefined, reset: opts.reset === true });
  await ui.result(result, () => {
    ui.print(
      `Catalog seeded: ${result.added} added, ${result.skipped} skipped (already there), ${result.removed} removed; ` +
        `${result.total} products in the store.`,
    );
  });
}
