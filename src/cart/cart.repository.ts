import type { Db } from '../db/connection.js';
import { toDbTime } from '../db/connection.js';

/** A cart line joined with its product's current name, price, image and stock. */
export interface CartLineRow {
  product_id: number;
  quantity: number;
  name: string;
  price_cents: number;
  image_url: string | null;
  stock: number;
}

/** Rows changed by a raw statement: mysql2 answers [ResultSetHeader, fields], better-sqlite3 {changes}. */
function changedRows(result: unknown): number {
  const r = (Array.isArray(result) ? result[0] : result) as { affectedRows?: number; changes?: number } | undefined;
  return Number(r?.affectedRows ?? r?.changes ?? 0);
}

/**
 * Every write here is one guarded statement: the condition that makes it legal (enough stock,
 * a line to change, a quantity above 1) is in its WHERE, so it holds however many run at once.
 */
export const cartRepository = {
  lines(db: Db, userId: number): Promise<CartLineRow[]> {
    return db('cart_items as c')
      .join('products as p', 'p.id', 'c.product_id')
      .where('c.user_id', userId)
      .select('c.product_id', 'c.quantity', 'p.name', 'p.price_cents', 'p.image_url', 'p.stock')
      .orderBy([
        { column: 'c.added_at', order: 'asc' },
        { column: 'c.id', order: 'asc' },
      ]);
  },

  quantityOf(db: Db, userId: number, productId: number): Promise<number | undefined> {
    return db('cart_items')
      .where({ user_id: userId, product_id: productId })
      .first<{ quantity: number } | undefined>('quantity')
      .then((r) => (r ? Number(r.quantity) : undefined));
  },

  /** Adds to an existing line only while the new quantity stays within the product's stock. */
  addToLine(db: Db, userId: number, productId: number, quantity: number): Promise<number> {
    return db('cart_items')
      .where({ user_id: userId, product_id: productId })
      .whereRaw('quantity + ? <= (SELECT stock FROM products WHERE products.id = ?)', [quantity, productId])
      .update({ quantity: db.raw('quantity + ?', [quantity]) });
  },

  /**
   * Creates the line only if the product exists with enough stock (0 rows otherwise). A line
   * inserted meanwhile by a concurrent request makes this fail on UNIQUE(user_id, product_id).
   */
  async insertLine(db: Db, userId: number, productId: number, quantity: number): Promise<number> {
    const result = await db.raw(
      'INSERT INTO cart_items (user_id, product_id, quantity, added_at) SELECT ?, ?, ?, ? FROM products WHERE id = ? AND stock >= ?',
      [userId, productId, quantity, toDbTime(new Date()), productId, quantity],
    );
    return changedRows(result);
  },

  /** Takes one off a line that has more than one. */
  decrementLine(db: Db, userId: number, productId: number): Promise<number> {
    return db('cart_items')
      .where({ user_id: userId, product_id: productId })
      .andWhere('quantity', '>', 1)
      .update({ quantity: db.raw('quantity - 1') });
  },

  /** Removes a line only if it is down to exactly one. */
  removeLastOne(db: Db, userId: number, productId: number): Promise<number> {
    return db('cart_items').where({ user_id: userId, product_id: productId, quantity: 1 }).delete();
  },

  removeLine(db: Db, userId: number, productId: number): Promise<number> {
    return db('cart_items').where({ user_id: userId, product_id: productId }).delete();
  },

  clear(db: Db, userId: number): Promise<number> {
    return db('cart_items').where({ user_id: userId }).delete();
  },

  productStock(db: Db, productId: number): Promise<number | undefined> {
    return db('products')
      .where({ id: productId })
      .first<{ stock: number } | undefined>('stock')
      .then((r) => (r ? Number(r.stock) : undefined));
  },
};
