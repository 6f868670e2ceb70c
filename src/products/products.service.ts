import type { Db } from '../db/connection.js';
import { fromDbTime } from '../db/values.js';
import { AppError, notFound } from '../errors.js';
import { centsToNumber, parseMoney } from '../money.js';
import { parseInput } from '../validation.js';
import { productsRepository as repo, type ProductRow } from './products.repository.js';
import {
  newProductSchema,
  productIdSchema,
  productPatchSchema,
  productQuerySchema,
  stockChangeSchema,
  stockSchema,
  type CatalogQuery,
  type NewProduct,
  type ProductList,
  type ProductPatch,
  type ProductQuery,
  type PublicProduct,
} from './products.schemas.js';

/** A product as the API and the CLI show it, priced in the store's `currency` (the caller's config). */
export function toPublicProduct(row: ProductRow, currency: string): PublicProduct {
  const stock = Number(row.stock);
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description ?? null,
    price: centsToNumber(Number(row.price_cents)),
    price_cents: Number(row.price_cents),
    currency,
    stock,
    in_stock: stock > 0,
    image_url: row.image_url ?? null,
    created_at: fromDbTime(row.created_at) ?? '',
  };
}

export function parseProductId(id: unknown): number {
  return parseInput(productIdSchema, id, 'product id');
}

export async function listProducts(db: Db, query: Record<string, unknown>, currency: string) {
  return searchProducts(db, parseInput(productQuerySchema, query, 'query'), currency);
}

/** The catalog listing for an already-validated query (the HTTP route validates with its own schema). */
export async function searchProducts(
  db: Db,
  f: CatalogQuery | ProductQuery,
  currency: string,
  opts: { archived?: boolean | 'any' } = {},
): Promise<ProductList> {
  // The schemas read the price bounds in major units and hand them over in cents.
  const { min_price: minCents, max_price: maxCents, ...rest } = f;
  // Archived products are out of the catalog (docs/data.md) unless the caller (the admin API) asks.
  const archived = opts.archived === 'any' ? undefined : (opts.archived ?? false);
  const { rows, total } = await repo.list(db, { ...rest, minCents, maxCents, archived });
  return { items: rows.map((r) => toPublicProduct(r, currency)), total, limit: f.limit, offset: f.offset };
}

async function requireProduct(db: Db, id: number): Promise<ProductRow> {
  const row = await repo.findById(db, id);
  if (!row) throw notFound(`Product ${id}`);
  return row;
}

export async function getProduct(db: Db, id: unknown, currency: string): Promise<PublicProduct> {
  return toPublicProduct(await requireProduct(db, parseProductId(id)), currency);
}

/** One catalog product by an id the caller has already validated, priced in `currency`; an archived one is not found. */
export async function getProductById(db: Db, id: number, currency: string): Promise<PublicProduct> {
  const row = await requireProduct(db, id);
  if (isArchived(row)) throw notFound(`Product ${id}`);
  return toPublicProduct(row, currency);
}

export const isArchived = (row: ProductRow): boolean => Boolean(Number(row.archived));

export async function createProduct(db: Db, input: NewProduct, currency: string): Promise<PublicProduct> {
  const p = parseInput(newProductSchema, input, 'product');
  const id = await repo.insert(db, {
    name: p.name,
    description: p.description ?? null,
    price_cents: parseMoney(p.price),
    stock: p.stock,
    image_url: p.image_url ?? null,
  });
  return toPublicProduct(await requireProduct(db, id), currency);
}

export async function updateProduct(db: Db, id: unknown, input: ProductPatch, currency: string): Promise<PublicProduct> {
  const pid = parseProductId(id);
  const p = parseInput(productPatchSchema, input, 'product');
  const patch: Parameters<typeof repo.update>[2] = {};
  if (p.name !== undefined) patch.name = p.name;
  if (p.description !== undefined) patch.description = p.description ?? null;
  if (p.image_url !== undefined) patch.image_url = p.image_url ?? null;
  if (p.price !== undefined) patch.price_cents = parseMoney(p.price);
  if (Object.keys(patch).length === 0) {
    throw new AppError('VALIDATION_FAILED', 'Nothing to update: give at least one of name, price, description, image.');
  }
  if ((await repo.update(db, pid, patch)) === 0) throw notFound(`Product ${pid}`);
  return toPublicProduct(await requireProduct(db, pid), currency);
}

/**
 * Sets (`"5"`) or adjusts (`"+3"`, `"-1"`) stock. Adjustments are one guarded statement, so
 * stock never goes below zero however many run at once; a decrement that would is refused.
 */
export async function changeStock(db: Db, id: unknown, change: string, currency: string): Promise<PublicProduct> {
  const pid = parseProductId(id);
  const c = parseInput(stockChangeSchema, change, 'stock change');
  if ('set' in c) {
    const stock = parseInput(stockSchema, c.set, 'stock');
    if ((await repo.update(db, pid, { stock })) === 0) throw notFound(`Product ${pid}`);
  } else if ((await repo.adjustStock(db, pid, c.delta)) === 0) {
    const row = await requireProduct(db, pid);
    if (c.delta > 0) {
      throw new AppError('VALIDATION_FAILED', `Product ${pid} has ${row.stock} in stock; adding ${c.delta} would pass the limit of 1,000,000.`);
    }
    throw new AppError('OUT_OF_STOCK', `Product ${pid} has ${row.stock} in stock; cannot take ${-c.delta}.`, [
      { product_id: pid, requested: -c.delta, available: Number(row.stock) },
    ]);
  }
  return toPublicProduct(await requireProduct(db, pid), currency);
}

export async function removeProduct(db: Db, id: unknown, currency: string): Promise<PublicProduct> {
  const pid = parseProductId(id);
  const row = await requireProduct(db, pid);
  await repo.remove(db, pid);
  return toPublicProduct(row, currency);
}
