import type { Db } from '../db/connection.js';
import { toDbTime } from '../db/values.js';
import { sqlAll, sqlGet, sqlRunThenAll } from '../db/prepared.js';

/** A cart line joined with its product's current name, price, image and stock. */
export interface CartLineRow {
  product_id: number;
  quantity: number;
  name: string;
  price_cents: number;
  image_url: string | null;
  stock: number;
}

const LINES = `SELECT c.product_id, c.quantity, p.name, p.price_cents, p.image_url, p.stock
   FROM cart_items c JOIN products p ON p.id = c.product_id
  WHERE c.user_id = ?
  ORDER BY c.added_at ASC, c.id ASC`;

const ADD_TO_LINE = `UPDATE cart_items SET quantity = quantity + ?
  WHERE user_id = ? AND product_id = ?
    AND quantity + ? <= (SELECT stock FROM products WHERE products.id = ? AND archived = 0)`;

const INSERT_LINE =
  'INSERT INTO cart_items (user_id, product_id, quantity, added_at) SELECT ?, ?, ?, ? FROM products WHERE id = ? AND archived = 0 AND stock >= ?';

/**
 * Every write here is one guarded statement: the condition that makes it legal (enough stock,
 * a line to change, a quantity above 1) is in its WHERE, so it holds however many run at once.
 */
export const cartRepository = {
  lines(db: Db, userId: number): Promise<CartLineRow[]> {
    return sqlAll<CartLineRow>(db, LINES, [userId]);
  },

  /** Each line's own id, by product (the old backend's cart answer names lines by it, docs/legacy.md). */
  async lineIds(db: Db, userId: number): Promise<Map<number, number>> {
    const rows: { id: number; product_id: number }[] = await db('cart_items').select('id', 'product_id').where('user_id', userId);
    return new Map(rows.map((r) => [Number(r.product_id), Number(r.id)]));
  },

  quantityOf(db: Db, userId: number, productId: number): Promise<number | undefined> {
    return sqlGet<{ quantity: number }>(db, 'SELECT quantity FROM cart_items WHERE user_id = ? AND product_id = ?', [userId, productId]).then((r) =>
      r ? Number(r.quantity) : undefined,
    );
  },

  /**
   * Adds to an existing line only while the new quantity stays within the product's stock; then
   * the cart's lines, read after the write on the same connection (sqlRunThenAll).
   */
  addToLineThenLines(db: Db, userId: number, productId: number, quantity: number): Promise<{ changes: number; rows: CartLineRow[] }> {
    return sqlRunThenAll<CartLineRow>(db, { sql: ADD_TO_LINE, params: [quantity, userId, productId, quantity, productId] }, { sql: LINES, params: [userId] });
  },

  /**
   * Creates the line only if the product exists, is not archived (docs/data.md), and has enough
   * stock (0 rows otherwise); then the cart's lines, read after the write. A line inserted
   * meanwhile by a concurrent request makes this fail on UNIQUE(user_id, product_id).
   */
  insertLineThenLines(db: Db, userId: number, productId: number, quantity: number): Promise<{ changes: number; rows: CartLineRow[] }> {
    return sqlRunThenAll<CartLineRow>(
      db,
      { sql: INSERT_LINE, params: [userId, productId, quantity, toDbTime(new Date()), productId, quantity] },
      { sql: LINES, params: [userId] },
    );
  },

  /** Whether the cart's owner still exists (asked only after a write failed on its foreign key). */
  async userExists(db: Db, userId: number): Promise<boolean> {
    return (await db('users').where({ id: userId }).first('id')) !== undefined;
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
    return sqlGet<{ stock: number }>(db, 'SELECT stock FROM products WHERE id = ? AND archived = 0', [productId]).then((r) =>
      r ? Number(r.stock) : undefined,
    );
  },
};
