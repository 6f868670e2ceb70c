/**
 * The catalog as the admin API and the CLI change it (docs/api.md, Admin API). Every change runs
 * in one transaction with its audit row (audit/audit.service.ts): a refused change writes nothing.
 */
import type { Knex } from 'knex';
import type { Actor } from '../auth/permissions.js';
import { changedFields, recordAudit } from '../audit/audit.service.js';
import type { Db } from '../db/connection.js';
import { isMysql } from '../db/dialect.js';
import { inTransaction } from '../db/transaction.js';
import { AppError, notFound } from '../errors.js';
import { parseMoney } from '../money.js';
import type { AdminNewProduct, AdminProduct, AdminProductPatch, StockAdjust } from './admin-products.schemas.js';
import { productsRepository as repo, type ProductRow } from './products.repository.js';
import type { ProductList, ProductQuery } from './products.schemas.js';
import { isArchived, searchProducts, toPublicProduct } from './products.service.js';
import { discardImage, storeImage } from './product-image.js';

export function toAdminProduct(row: ProductRow, currency: string): AdminProduct {
  return { ...toPublicProduct(row, currency), archived: isArchived(row) };
}

/** What the audit log keeps of a product: its own fields, price in cents. */
function auditFields(row: ProductRow): Record<string, unknown> {
  return {
    name: row.name,
    description: row.description ?? null,
    price_cents: Number(row.price_cents),
    stock: Number(row.stock),
    image_url: row.image_url ?? null,
    archived: isArchived(row),
  };
}

/** The row, locked for the rest of the transaction on MySQL (SQLite's transaction holds the file). */
async function lockedProduct(trx: Knex.Transaction, id: number): Promise<ProductRow> {
  const q = trx<ProductRow>('products').where({ id });
  if (isMysql(trx)) q.forUpdate();
  const row = await q.first();
  if (!row) throw notFound(`Product ${id}`);
  return row as ProductRow;
}

async function reread(trx: Knex.Transaction, id: number): Promise<ProductRow> {
  return (await repo.findById(trx, id))!;
}

/** The catalog's listing with `low_stock`, archived products included unless `archived` filters. */
export async function adminListProducts(
  db: Db,
  query: ProductQuery & { archived?: boolean },
  currency: string,
): Promise<ProductList & { items: AdminProduct[] }> {
  const { archived, ...f } = query;
  const list = await searchProducts(db, f, currency, { archived: archived ?? 'any' });
  // searchProducts shapes the public product; the archived flag is read back for this page.
  const rows = list.items.length
    ? await db<ProductRow>('products')
        .select('id', 'archived')
        .whereIn(
          'id',
          list.items.map((p) => p.id),
        )
    : [];
  const flag = new Map(rows.map((r) => [Number(r.id), isArchived(r as ProductRow)]));
  return { ...list, items: list.items.map((p) => ({ ...p, archived: flag.get(p.id) ?? false })) };
}

export async function adminGetProduct(db: Db, id: number, currency: string): Promise<AdminProduct> {
  const row = await repo.findById(db, id);
  if (!row) throw notFound(`Product ${id}`);
  return toAdminProduct(row, currency);
}

const centsOf = (p: { price?: string | number; price_cents?: number }): number | undefined =>
  p.price_cents !== undefined ? p.price_cents : p.price !== undefined ? parseMoney(p.price) : undefined;

export async function adminCreateProduct(db: Db, actor: Actor, input: AdminNewProduct, currency: string): Promise<AdminProduct> {
  const row = await inTransaction(db, async (trx) => {
    const id = await repo.insert(trx, {
      name: input.name,
      description: input.description ?? null,
      price_cents: centsOf(input)!,
      stock: input.stock,
      image_url: input.image_url ?? null,
    });
    if (input.archived) await repo.update(trx, id, { archived: true });
    const created = await reread(trx, id);
    await recordAudit(trx, actor, { action: 'product.create', targetType: 'product', targetId: id, after: auditFields(created) });
    return created;
  });
  return toAdminProduct(row, currency);
}

/** A partial update; the audit row holds the fields that changed (none changed: no row). */
export async function adminUpdateProduct(db: Db, actor: Actor, id: number, patch: AdminProductPatch, currency: string): Promise<AdminProduct> {
  const row = await inTransaction(db, async (trx) => {
    const before = await lockedProduct(trx, id);
    const change: Parameters<typeof repo.update>[2] = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.description !== undefined) change.description = patch.description ?? null;
    if (patch.image_url !== undefined) change.image_url = patch.image_url ?? null;
    const cents = centsOf(patch);
    if (cents !== undefined) change.price_cents = cents;
    if (patch.archived !== undefined) change.archived = patch.archived;
    await repo.update(trx, id, change);
    const after = await reread(trx, id);
    const diff = changedFields(auditFields(before), auditFields(after));
    if (Object.keys(diff.after).length > 0) {
      const action =
        Object.keys(diff.after).length === 1 && 'archived' in diff.after ? (patch.archived ? 'product.archive' : 'product.unarchive') : 'product.update';
      await recordAudit(trx, actor, { action, targetType: 'product', targetId: id, ...diff });
    }
    return after;
  });
  return toAdminProduct(row, currency);
}

/** Archives (hides from the catalog, past orders intact) or brings back a product. */
export function adminArchiveProduct(db: Db, actor: Actor, id: number, archived: boolean, currency: string): Promise<AdminProduct> {
  return adminUpdateProduct(db, actor, id, { archived }, currency);
}

/**
 * Deletes a product no pending order holds (its lines in past orders keep their snapshot and
 * lose the link). The product row is locked first, so an order being placed for it either
 * finished before (and is seen) or finds it gone. Refused with CONFLICT otherwise: archive it.
 */
export async function adminDeleteProduct(db: Db, actor: Actor, id: number, currency: string): Promise<AdminProduct> {
  const row = await inTransaction(db, async (trx) => {
    const before = await lockedProduct(trx, id);
    const held = await trx('order_items')
      .join('orders', 'orders.id', 'order_items.order_id')
      .where('order_items.product_id', id)
      .where('orders.status', 'pending')
      .count({ n: '*' });
    if (Number(held[0].n) > 0) {
      throw new AppError('CONFLICT', `Product ${id} is in ${held[0].n} pending order(s) and cannot be deleted; archive it instead (PATCH {"archived": true}).`);
    }
    await repo.remove(trx, id);
    await recordAudit(trx, actor, { action: 'product.delete', targetType: 'product', targetId: id, before: auditFields(before) });
    return before;
  });
  return toAdminProduct(row, currency);
}

/**
 * `{delta}`: one guarded UPDATE (stock never below zero, however many orders race it);
 * `{set}`: the new level. The audit row holds the stock before and after.
 */
export async function adminAdjustStock(db: Db, actor: Actor, id: number, change: StockAdjust, currency: string): Promise<AdminProduct> {
  const row = await inTransaction(db, async (trx) => {
    let before: number;
    if ('set' in change) {
      before = Number((await lockedProduct(trx, id)).stock);
      await repo.update(trx, id, { stock: change.set });
    } else if ((await repo.adjustStock(trx, id, change.delta)) === 0) {
      const now = await repo.findById(trx, id);
      if (!now) throw notFound(`Product ${id}`);
      if (change.delta > 0) {
        throw new AppError('VALIDATION_FAILED', `Product ${id} has ${now.stock} in stock; adding ${change.delta} would pass the limit of 1,000,000.`);
      }
      throw new AppError('OUT_OF_STOCK', `Product ${id} has ${now.stock} in stock; cannot take ${-change.delta}.`, [
        { product_id: id, requested: -change.delta, available: Number(now.stock) },
      ]);
    } else {
      before = NaN;
    }
    const after = await reread(trx, id);
    if (Number.isNaN(before)) before = Number(after.stock) - (change as { delta: number }).delta;
    await recordAudit(trx, actor, {
      action: 'product.stock',
      targetType: 'product',
      targetId: id,
      before: { stock: before },
      after: { stock: Number(after.stock) },
    });
    return after;
  });
  return toAdminProduct(row, currency);
}

/**
 * A new image for a product (docs/api.md, "Product images"): checked and re-encoded by
 * product-image.ts, stored under its content hash, then image_url set in one transaction with
 * its audit row (`product.image`). The previous file is kept. A refused image writes nothing; a
 * file stored for a write that then fails is taken back out unless something names it.
 */
export async function adminSetProductImage(db: Db, actor: Actor, id: number, bytes: Uint8Array, imagesDir: string, currency: string): Promise<AdminProduct> {
  if (!(await repo.findById(db, id))) throw notFound(`Product ${id}`);
  const stored = await storeImage(bytes, imagesDir);
  try {
    const row = await inTransaction(db, async (trx) => {
      const before = await lockedProduct(trx, id);
      await repo.update(trx, id, { image_url: stored.url });
      const after = await reread(trx, id);
      await recordAudit(trx, actor, {
        action: 'product.image',
        targetType: 'product',
        targetId: id,
        before: { image_url: before.image_url ?? null },
        after: { image_url: stored.url },
      });
      return after;
    });
    return toAdminProduct(row, currency);
  } catch (err) {
    await discardImage(db, stored);
    throw err;
  }
}
