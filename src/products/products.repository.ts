import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { insertedId, likePattern, sqliteChangeCounter, toDbTime } from '../db/connection.js';
import { inTransaction } from '../db/transaction.js';
import { MAX_STOCK, type ProductQuery } from './products.schemas.js';

export interface ProductRow {
  id: number;
  name: string;
  description: string | null;
  price_cents: number;
  stock: number;
  image_url: string | null;
  /** Hidden from the catalog, kept for past orders (docs/data.md); 0/1 or a boolean by dialect. */
  archived: boolean | number;
  created_at: string;
  updated_at: string;
}

const ORDER: Record<ProductQuery['sort'], [string, 'asc' | 'desc']> = {
  newest: ['created_at', 'desc'],
  price: ['price_cents', 'asc'],
  '-price': ['price_cents', 'desc'],
  name: ['name', 'asc'],
  '-name': ['name', 'desc'],
};

type Filter = Omit<ProductQuery, 'min_price' | 'max_price'> & { minCents?: number; maxCents?: number; archived?: boolean };

function filtered(db: Db, f: Filter) {
  const q = db<ProductRow>('products');
  if (f.q) {
    const p = likePattern(f.q);
    q.where((w) => w.whereRaw("LOWER(name) LIKE ? ESCAPE '!'", [p]).orWhereRaw("LOWER(COALESCE(description, '')) LIKE ? ESCAPE '!'", [p]));
  }
  if (f.minCents !== undefined) q.where('price_cents', '>=', f.minCents);
  if (f.maxCents !== undefined) q.where('price_cents', '<=', f.maxCents);
  if (f.in_stock === true) q.where('stock', '>', 0);
  if (f.in_stock === false) q.where('stock', '=', 0);
  if (f.low_stock !== undefined) q.where('stock', '<=', f.low_stock);
  if (f.archived !== undefined) q.where('archived', f.archived);
  return q;
}

/** Deletes the products `narrow` picks (all without it) and counts the deletion (see fingerprint), in one transaction. */
function deleteProducts(db: Db, narrow: (q: Knex.QueryBuilder) => Knex.QueryBuilder = (q) => q): Promise<number> {
  return inTransaction(db, async (trx) => {
    const n = await narrow(trx('products')).delete();
    if (n > 0)
      await trx('catalog_changes')
        .where({ id: 1 })
        .update({ deletes: trx.raw('deletes + 1') });
    return n;
  });
}

export const productsRepository = {
  async list(db: Db, f: Filter): Promise<{ rows: ProductRow[]; total: number }> {
    const [col, dir] = ORDER[f.sort];
    const [rows, count] = await Promise.all([
      filtered(db, f).select('*').orderBy(col, dir).orderBy('id', dir).limit(f.limit).offset(f.offset),
      filtered(db, f).count({ n: '*' }),
    ]);
    return { rows, total: Number(count[0].n) };
  },

  findById(db: Db, id: number): Promise<ProductRow | undefined> {
    return db<ProductRow>('products').where({ id }).first();
  },

  findByName(db: Db, name: string): Promise<ProductRow | undefined> {
    return db<ProductRow>('products').where({ name }).orderBy('id').first();
  },

  async insert(db: Db, p: Pick<ProductRow, 'name' | 'description' | 'price_cents' | 'stock' | 'image_url'>): Promise<number> {
    const now = toDbTime(new Date());
    return insertedId(await db('products').insert({ ...p, created_at: now, updated_at: now }));
  },

  update(db: Db, id: number, patch: Partial<Pick<ProductRow, 'name' | 'description' | 'price_cents' | 'stock' | 'image_url' | 'archived'>>): Promise<number> {
    return db('products')
      .where({ id })
      .update({ ...patch, version: db.raw('version + 1'), updated_at: toDbTime(new Date()) });
  },

  /**
   * Adds `delta` (may be negative) in one guarded statement: the row is only touched when the
   * result stays at or above zero, so concurrent decrements can never oversell. Returns rows changed.
   */
  adjustStock(db: Db, id: number, delta: number): Promise<number> {
    const q = db('products').where('id', id);
    if (delta < 0) q.andWhere('stock', '>=', -delta);
    else q.andWhere('stock', '<=', MAX_STOCK - delta);
    return q.update({ stock: db.raw('stock + ?', [delta]), version: db.raw('version + 1'), updated_at: toDbTime(new Date()) });
  },

  /**
   * Changes whenever any product is added, changed or removed, by this process or another.
   * Read it BEFORE reading the data it guards.
   *
   * SQLite: the file's change counter (data_version on a connection of its own): it moves on
   * every commit by anyone, products or not.
   * MySQL (and in-memory SQLite): every update bumps the row's `version` (SUM rises), an insert
   * raises COUNT(*), and every delete bumps catalog_changes.deletes in its own transaction: all
   * four only ever grow, so an equal fingerprint means nothing changed.
   */
  async fingerprint(db: Db): Promise<string> {
    const counter = sqliteChangeCounter(db);
    if (counter !== undefined) return `d${counter}`;
    const r = await db('products').first(
      db.raw('COUNT(*) as n'),
      db.raw('COALESCE(SUM(version), 0) as v'),
      db.raw('COALESCE(MAX(id), 0) as m'),
      db.raw('(SELECT deletes FROM catalog_changes WHERE id = 1) as d'),
    );
    return `${r.n}.${r.v}.${r.m}.${r.d}`;
  },

  remove(db: Db, id: number): Promise<number> {
    return deleteProducts(db, (q) => q.where({ id }));
  },

  removeAll(db: Db): Promise<number> {
    return deleteProducts(db);
  },

  count(db: Db): Promise<number> {
    return db('products')
      .count({ n: '*' })
      .then((r) => Number(r[0].n));
  },
};
