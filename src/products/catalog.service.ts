import { readFile } from 'node:fs/promises';
import type { Db } from '../db/connection.js';
import { inTransaction } from '../db/transaction.js';
import { AppError, validationError } from '../errors.js';
import { parseMoney } from '../money.js';
import { DEFAULT_CATALOG } from '../paths.js';
import { parseInput } from '../validation.js';
import { catalogSchema } from './catalog.schemas.js';
import { productsRepository as repo } from './products.repository.js';

export interface SeedResult {
  added: number;
  skipped: number;
  removed: number;
  total: number;
}

/** Reads and validates a catalog file; nothing is written if any entry is invalid. */
export async function readCatalog(file = DEFAULT_CATALOG) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw validationError(`Cannot read catalog file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw validationError(`Catalog file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const entries = parseInput(catalogSchema, json, 'catalog');
  return entries.map((e, i) => ({
    name: e.name,
    description: e.description ?? null,
    price_cents: parseMoney(e.price, `[${i}].price`),
    stock: e.stock,
    image_url: e.image ? `/images/${e.image}` : null,
  }));
}

/**
 * Loads the catalog in one transaction. Idempotent by product name: a product that already
 * exists is left as it is (its stock and price may have moved on). `reset` replaces the whole
 * catalog. Never touches accounts.
 */
export async function seedCatalog(db: Db, opts: { file?: string; reset?: boolean } = {}): Promise<SeedResult> {
  const entries = await readCatalog(opts.file);
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw validationError(`Catalog lists "${e.name}" twice.`);
    names.add(e.name);
  }
  return inTransaction(db, async (trx) => {
    const removed = opts.reset ? await repo.removeAll(trx) : 0;
    let added = 0;
    let skipped = 0;
    for (const e of entries) {
      if (!opts.reset && (await repo.findByName(trx, e.name))) {
        skipped++;
        continue;
      }
      await repo.insert(trx, e);
      added++;
    }
    const total = await repo.count(trx);
    if (total === 0) throw new AppError('CONFLICT', 'The catalog is empty after seeding.');
    return { added, skipped, removed, total };
  });
}
