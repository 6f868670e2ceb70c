/**
 * SQL for orders, their lines, and the two things an order touches: the buyer's cart lines and
 * product stock. Every function takes the Knex (or transaction) to run in.
 */
import type { Db } from '../db/connection.js';
import { insertedId, toDbTime } from '../db/values.js';
import { isMysql } from '../db/dialect.js';
import { productsRepository } from '../products/products.repository.js';
import type { OrderStatus } from './orders.schemas.js';

export interface OrderRow {
  id: number;
  user_id: number;
  status: OrderStatus;
  total_cents: number;
  currency: string;
  idempotency_key: string | null;
  payment_intent_id: string | null;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
  /** Canceled without Stripe confirming its PaymentIntent was canceled (reconcile follows up). */
  intent_cancel_unconfirmed_at: string | null;
  /** Refunded so far, in cents (docs/data.md, refunds). */
  refunded_cents?: number | string;
  /** The order's Stripe Checkout Session (hosted checkout), one per order. */
  checkout_session_id: string | null;
  shipping_cents: number;
  ship_name: string | null;
  ship_line1: string | null;
  ship_line2: string | null;
  ship_city: string | null;
  ship_postal_code: string | null;
  ship_region: string | null;
  ship_country: string | null;
}

/** The ship_* columns of an order. */
export interface ShipColumns {
  ship_name: string;
  ship_line1: string;
  ship_line2: string | null;
  ship_city: string;
  ship_postal_code: string;
  ship_region: string | null;
  ship_country: string;
}

export interface OrderItemRow {
  id: number;
  order_id: number;
  product_id: number | null;
  name: string;
  unit_price_cents: number;
  quantity: number;
}

export interface CartLine {
  product_id: number;
  quantity: number;
}

/** The buyer as order creation reads (and on MySQL locks) it. */
export interface Buyer {
  username: string | null;
  email: string | null;
  lines: CartLine[];
}

export interface ProductSnapshot {
  id: number;
  name: string;
  price_cents: number;
  stock: number;
  archived: boolean;
}

export interface OrderFilter {
  userId?: number;
  status?: OrderStatus;
  since?: Date;
  createdBefore?: Date;
}

function filtered(db: Db, f: OrderFilter) {
  const q = db<OrderRow>('orders');
  if (f.userId !== undefined) q.where('user_id', f.userId);
  if (f.status !== undefined) q.where('status', f.status);
  if (f.since !== undefined) q.where('created_at', '>=', toDbTime(f.since));
  if (f.createdBefore !== undefined) q.where('created_at', '<', toDbTime(f.createdBefore));
  return q;
}

export const ordersRepository = {
  /**
   * The buyer's cart lines (product id order) and the buyer's username and e-mail (what the
   * order's messages show), in one statement that also says whether the buyer still exists
   * (undefined when not). On MySQL it locks the buyer's row and lines, so one user's
   * order attempts queue one behind the other instead of meeting on the idempotency key, where
   * InnoDB's duplicate-key locking would make the waiters deadlock when the first rolls back; on
   * SQLite the transaction holds the database's write lock already (BEGIN IMMEDIATE, see
   * connection.ts). Product id order is the order in which stock rows get locked, so two orders
   * never wait on each other in a circle.
   */
  async lockBuyerAndCart(db: Db, userId: number): Promise<Buyer | undefined> {
    const query = db('users as u')
      .leftJoin('cart_items as c', 'c.user_id', 'u.id')
      .where('u.id', userId)
      .orderBy('c.product_id')
      .select<{ username: string | null; email: string | null; product_id: number | null; quantity: number | null }[]>(
        'u.username',
        'u.email',
        'c.product_id',
        'c.quantity',
      );
    const rows = await (isMysql(db) ? query.forUpdate() : query);
    if (rows.length === 0) return undefined;
    return {
      username: rows[0].username ?? null,
      email: rows[0].email ?? null,
      lines: rows.filter((r) => r.product_id !== null).map((r) => ({ product_id: Number(r.product_id), quantity: Number(r.quantity) })),
    };
  },

  /** The buyer's cart lines in product id order (an idempotent replay compares them with the order). */
  cartLines(db: Db, userId: number): Promise<CartLine[]> {
    return db('cart_items')
      .select('product_id', 'quantity')
      .where('user_id', userId)
      .orderBy('product_id', 'asc')
      .then((rows: CartLine[]) => rows.map((r) => ({ product_id: Number(r.product_id), quantity: Number(r.quantity) })));
  },

  removeCartLines(db: Db, userId: number, productIds: number[]): Promise<number> {
    return db('cart_items').where('user_id', userId).whereIn('product_id', productIds).delete();
  },

  /** Stock coming back from a canceled order: no upper bound, it was in stock before. */
  returnStock(db: Db, productId: number, quantity: number): Promise<number> {
    // Through the products repository, which raises the catalog revision with it.
    return productsRepository.returnStock(db, productId, quantity);
  },

  /**
   * Names, prices, stock and whether archived, as last committed. Called once the order holds
   * these rows (its stock takes), so on MySQL the locking read costs no wait and sees past the
   * transaction's snapshot.
   */
  productSnapshots(db: Db, ids: number[]): Promise<ProductSnapshot[]> {
    const q = db('products').select('id', 'name', 'price_cents', 'stock', 'archived').whereIn('id', ids);
    if (isMysql(db)) q.forShare();
    return q.then((rows: { id: number; name: string; price_cents: number; stock: number; archived: boolean | number }[]) =>
      rows.map((r) => ({
        id: Number(r.id),
        name: r.name,
        price_cents: Number(r.price_cents),
        stock: Number(r.stock),
        archived: r.archived === true || Number(r.archived) === 1,
      })),
    );
  },

  async insertOrder(
    db: Db,
    o: { user_id: number; currency: string; idempotency_key: string | null; total_cents: number; shipping_cents: number } & Partial<ShipColumns>,
    createdAt = new Date(),
  ): Promise<number> {
    const now = toDbTime(createdAt);
    const row = { ...o, status: 'pending', created_at: now, updated_at: now };
    return insertedId(await db('orders').insert(row));
  },

  async insertItems(db: Db, orderId: number, items: Omit<OrderItemRow, 'id' | 'order_id'>[]): Promise<void> {
    await db('order_items').insert(items.map((i) => ({ ...i, order_id: orderId })));
  },

  findById(db: Db, id: number): Promise<OrderRow | undefined> {
    return db<OrderRow>('orders').where('id', id).first();
  },

  findByIdempotencyKey(db: Db, userId: number, key: string): Promise<OrderRow | undefined> {
    return db<OrderRow>('orders').where({ user_id: userId, idempotency_key: key }).first();
  },

  findByPaymentIntent(db: Db, paymentIntentId: string): Promise<OrderRow | undefined> {
    return db<OrderRow>('orders').where('payment_intent_id', paymentIntentId).first();
  },

  itemsOf(db: Db, orderIds: number[]): Promise<OrderItemRow[]> {
    if (orderIds.length === 0) return Promise.resolve([]);
    return db<OrderItemRow>('order_items').whereIn('order_id', orderIds).orderBy('order_id').orderBy('id');
  },

  /**
   * Newest first; ties (same millisecond) broken by id. The page's ids are found on the index
   * alone, then their rows read: a deep page (offset 100,000) walks index entries, where reading
   * whole rows to skip them would make MariaDB prefer a full scan and a sort (docs/data.md, Indexes).
   */
  async list(db: Db, f: OrderFilter & { limit: number; offset: number }): Promise<{ rows: OrderRow[]; total: number }> {
    const page = filtered(db, f).select('id').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset);
    const [rows, count] = await Promise.all([
      db<OrderRow>('orders').join(page.as('page'), 'page.id', 'orders.id').select('orders.*').orderBy('orders.created_at', 'desc').orderBy('orders.id', 'desc'),
      filtered(db, f).count({ n: '*' }),
    ]);
    return { rows, total: Number(count[0].n) };
  },

  /** Oldest first: the order `orders expire` works through them. */
  listPendingBefore(db: Db, cutoff: Date): Promise<OrderRow[]> {
    return filtered(db, { status: 'pending', createdBefore: cutoff }).select('*').orderBy('created_at', 'asc').orderBy('id', 'asc');
  },

  /**
   * The guarded state move: `UPDATE orders SET status = to WHERE id = ? AND status IN (from)`.
   * Rows changed: 1 when this call made the move, 0 when the order was elsewhere (or missing).
   */
  moveStatus(
    db: Db,
    orderId: number,
    from: readonly OrderStatus[],
    to: OrderStatus,
    extra: { paid_at?: string; intent_cancel_unconfirmed_at?: string } = {},
    guard: { withoutIntent?: boolean } = {},
  ): Promise<number> {
    const q = db('orders')
      .where('id', orderId)
      .whereIn('status', from as OrderStatus[]);
    // No payment started at Stripe: neither a PaymentIntent nor a Checkout Session.
    if (guard.withoutIntent) q.whereNull('payment_intent_id').whereNull('checkout_session_id');
    return q.update({ status: to, ...extra, updated_at: toDbTime(new Date()) });
  },

  /** Canceled orders whose PaymentIntent Stripe has not confirmed canceled, oldest first. */
  markIntentCancelUnconfirmed(db: Db, orderId: number): Promise<number> {
    return db('orders')
      .where({ id: orderId, status: 'canceled' })
      .whereNotNull('payment_intent_id')
      .whereNull('intent_cancel_unconfirmed_at')
      .update({ intent_cancel_unconfirmed_at: toDbTime(new Date()) });
  },

  listIntentCancelUnconfirmed(db: Db): Promise<OrderRow[]> {
    return db<OrderRow>('orders').whereNotNull('intent_cancel_unconfirmed_at').orderBy('intent_cancel_unconfirmed_at', 'asc').orderBy('id', 'asc');
  },

  clearIntentCancelUnconfirmed(db: Db, orderId: number): Promise<number> {
    return db('orders').where('id', orderId).whereNotNull('intent_cancel_unconfirmed_at').update({ intent_cancel_unconfirmed_at: null });
  },

  findByCheckoutSession(db: Db, sessionId: string): Promise<OrderRow | undefined> {
    return db<OrderRow>('orders').where('checkout_session_id', sessionId).first();
  },

  /** Sets the Checkout Session when none is set (or the same one is): rows changed. */
  setCheckoutSession(db: Db, orderId: number, sessionId: string): Promise<number> {
    return db('orders')
      .where('id', orderId)
      .andWhere((w) => w.whereNull('checkout_session_id').orWhere('checkout_session_id', sessionId))
      .update({ checkout_session_id: sessionId, updated_at: toDbTime(new Date()) });
  },

  /** Stores where the order goes (from a completed session) when it has no address yet. */
  setShippingAddress(db: Db, orderId: number, ship: ShipColumns): Promise<number> {
    return db('orders')
      .where('id', orderId)
      .whereNull('ship_line1')
      .update({ ...ship, updated_at: toDbTime(new Date()) });
  },

  /** Stores the e-mail Stripe's hosted page collected, when the order has none yet. */
  setCustomerEmail(db: Db, orderId: number, email: string): Promise<number> {
    return db('orders').where('id', orderId).whereNull('customer_email').update({ customer_email: email });
  },

  /** Sets the intent when none is set (or the same one is): rows changed. */
  setPaymentIntent(db: Db, orderId: number, paymentIntentId: string): Promise<number> {
    return db('orders')
      .where('id', orderId)
      .andWhere((w) => w.whereNull('payment_intent_id').orWhere('payment_intent_id', paymentIntentId))
      .update({ payment_intent_id: paymentIntentId, updated_at: toDbTime(new Date()) });
  },

  /** Usernames for order listings (the CLI shows who bought). */
  async usernames(db: Db, userIds: number[]): Promise<Map<number, string>> {
    if (userIds.length === 0) return new Map();
    const rows: { id: number; username: string }[] = await db('users')
      .select('id', 'username')
      .whereIn('id', [...new Set(userIds)]);
    return new Map(rows.map((r) => [Number(r.id), r.username]));
  },
};
