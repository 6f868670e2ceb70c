/**
 * Orders: a cart becomes an order in one transaction, and an order's state only ever moves
 * forward (docs/data.md): pending → paid → shipped → delivered, pending → canceled, and
 * paid|shipped|delivered → refunded (payments/refunds.service.ts).
 *
 * Concurrency is settled by the database, never by memory: stock by one guarded UPDATE per line,
 * state moves by `UPDATE … WHERE status IN (allowed-from)`, idempotency keys by the unique key
 * (user_id, idempotency_key). The HTTP routes, the payments code and the CLI all come through here.
 */
import type { Knex } from 'knex';
import { notifyOrderEvent, notifyWithSnapshot, type OrderEventFacts } from '../notifications/order-events.js';
import type { Db } from '../db/connection.js';
import { fromDbTime, toDbTime } from '../db/values.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction, retryingTransaction } from '../db/transaction.js';
import { AppError, notFound } from '../errors.js';
import { centsToNumber } from '../money.js';
import { productsRepository } from '../products/products.repository.js';
import { parseInput } from '../validation.js';
import { invalidTransition, movesInto } from './order-states.js';
import { ordersRepository as repo, type CartLine, type OrderItemRow, type OrderRow, type ShipColumns } from './orders.repository.js';
import {
  idempotencyKeySchema,
  markableStatusSchema,
  orderFilterSchema,
  orderIdSchema,
  orderStatusSchema,
  type OrderStatus,
  type PublicOrder,
  type ShippingAddress,
} from './orders.schemas.js';

export type { PublicOrder } from './orders.schemas.js';

/* ------------------------------------------------------------------------------------------ */
/* Shaping                                                                                    */

/** An order's ship_* columns as its address (null when it has none). */
export function shippingAddressOf(row: OrderRow): PublicOrder['shipping_address'] {
  if (!row.ship_line1) return null;
  return {
    name: row.ship_name ?? '',
    line1: row.ship_line1,
    line2: row.ship_line2 ?? null,
    city: row.ship_city ?? '',
    postal_code: row.ship_postal_code ?? '',
    region: row.ship_region ?? null,
    country: row.ship_country ?? '',
  };
}

/** The ship_* columns for an address (orders.schemas.ts shippingAddressSchema). */
export function shipColumns(a: ShippingAddress): ShipColumns {
  return {
    ship_name: a.name,
    ship_line1: a.line1,
    ship_line2: a.line2,
    ship_city: a.city,
    ship_postal_code: a.postal_code,
    ship_region: a.region,
    ship_country: a.country,
  };
}

/** Shipping settings (config.ts `shipping`): a flat cost, free from a subtotal if set. */
export interface ShippingRates {
  flatCents: number;
  freeOverCents?: number;
}

/** The shipping cost of an order whose lines come to `subtotalCents`. */
export function shippingCost(rates: ShippingRates | undefined, subtotalCents: number): number {
  if (!rates) return 0;
  if (rates.freeOverCents !== undefined && subtotalCents >= rates.freeOverCents) return 0;
  return rates.flatCents;
}

function toPublicOrder(row: OrderRow, items: OrderItemRow[]): PublicOrder {
  const totalCents = Number(row.total_cents);
  const shippingCents = Number(row.shipping_cents ?? 0);
  return {
    id: Number(row.id),
    status: row.status,
    total: centsToNumber(totalCents),
    total_cents: totalCents,
    shipping: centsToNumber(shippingCents),
    shipping_cents: shippingCents,
    shipping_address: shippingAddressOf(row),
    currency: row.currency,
    items: items.map((i) => {
      const unit = Number(i.unit_price_cents);
      const quantity = Number(i.quantity);
      return {
        product_id: i.product_id === null ? null : Number(i.product_id),
        name: i.name,
        unit_price: centsToNumber(unit),
        unit_price_cents: unit,
        quantity,
        line_total: centsToNumber(unit * quantity),
        line_total_cents: unit * quantity,
      };
    }),
    created_at: fromDbTime(row.created_at) ?? '',
    paid_at: fromDbTime(row.paid_at),
    refunded: centsToNumber(Number(row.refunded_cents ?? 0)),
    refunded_cents: Number(row.refunded_cents ?? 0),
    user_id: Number(row.user_id),
    payment_intent_id: row.payment_intent_id ?? null,
    checkout_session_id: row.checkout_session_id ?? null,
  };
}

async function withItems(db: Db, rows: OrderRow[]): Promise<PublicOrder[]> {
  const items = await repo.itemsOf(
    db,
    rows.map((r) => Number(r.id)),
  );
  const byOrder = new Map<number, OrderItemRow[]>();
  for (const i of items) {
    const list = byOrder.get(Number(i.order_id)) ?? [];
    list.push(i);
    byOrder.set(Number(i.order_id), list);
  }
  return rows.map((r) => toPublicOrder(r, byOrder.get(Number(r.id)) ?? []));
}

/** The order as the customer's HTTP API shows it (docs/api.md's `order`). */
export function toHttpOrder(o: PublicOrder) {
  const { user_id: _u, payment_intent_id: _p, checkout_session_id: _s, ...rest } = o;
  return rest;
}

export function parseOrderId(id: unknown): number {
  return parseInput(orderIdSchema, id, 'order id');
}

/* ------------------------------------------------------------------------------------------ */
/* Cart → order                                                                               */

class KeyTaken extends Error {}

function sameLines(a: CartLine[], b: CartLine[]): boolean {
  if (a.length !== b.length) return false;
  const key = (l: CartLine) => `${l.product_id}:${l.quantity}`;
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.every((k, i) => k === right[i]);
}

/** The first order made with this key, waiting briefly for its transaction to become visible. */
async function orderWithKey(db: Db, userId: number, key: string): Promise<OrderRow> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const row = await repo.findByIdempotencyKey(db, userId, key);
    if (row) return row;
    if (Date.now() > deadline) throw new AppError('CONFLICT', 'A request with this Idempotency-Key is still being processed. Retry shortly.');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Turns the user's whole cart into one pending order, in one transaction: the order row (with the
 * idempotency key, so a concurrent request with the same key stops right there), one guarded stock
 * take per line in product id order, names and prices snapshotted from the products as they are
 * now, the order lines, and the ordered cart lines removed. Any short line rolls everything back
 * and is reported: OUT_OF_STOCK with `[{product_id, requested, available}]` for every short line.
 *
 * Idempotency rule. A key names one order per user, stored in the database (UNIQUE(user_id,
 * idempotency_key)). When the key was already used, the request is a retry of the first one if the
 * cart now is either empty (the first request emptied it, which is what a retry normally sees) or
 * holds exactly the lines that order was made from (same product ids and quantities); then the
 * first order is returned with `created: false` and nothing changes. A different non-empty cart
 * means the key is being reused for another purchase: IDEMPOTENCY_KEY_REUSED, nothing changes.
 * Failed attempts (empty cart, out of stock) roll back and leave no trace of the key, so they can
 * be retried with it.
 */
export async function createOrderFromCart(
  db: Db,
  userId: number,
  opts: {
    idempotencyKey?: string;
    /** The store's currency (the caller's config). */
    currency: string;
    /** The store's shipping rates (config.ts `shipping`); none: ships free. */
    shipping?: ShippingRates;
    /** Where it goes, when the buyer said so at checkout (PaymentIntents). */
    shippingAddress?: ShippingAddress;
  },
): Promise<{ order: PublicOrder; created: boolean }> {
  const key = opts.idempotencyKey === undefined ? null : parseInput(idempotencyKeySchema, opts.idempotencyKey, 'Idempotency-Key');
  const currency = opts.currency;

  let order: PublicOrder;
  try {
    order = await retryingTransaction(db, async (trx) => {
      // One attempt per user at a time: a second request with the same key waits here until the
      // first commits (its insert then fails as a duplicate) or rolls back (then it goes ahead).
      // Requests from different users never wait on each other here.
      // A token can outlive its user (removed meanwhile): that is signing in again, not an empty cart.
      const buyer = await repo.lockBuyerAndCart(trx, userId);
      if (!buyer) throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
      // Under the user's lock a used key can only belong to a finished request: this is a replay.
      if (key !== null && (await repo.findByIdempotencyKey(trx, userId, key))) throw new KeyTaken();
      const { lines } = buyer;
      if (lines.length === 0) throw new AppError('EMPTY_CART', 'Your cart is empty.');

      // Stock first, one guarded take per line in product id order (the lock order every writer
      // of these rows keeps). Holding the rows, the names and prices read next are the latest
      // committed ones: the snapshot the order keeps, never the client's.
      const short = new Set<CartLine>();
      for (const line of lines) {
        if ((await productsRepository.adjustStock(trx, line.product_id, -line.quantity)) === 0) short.add(line);
      }
      const products = new Map(
        (
          await repo.productSnapshots(
            trx,
            lines.map((l) => l.product_id),
          )
        ).map((p) => [p.id, p]),
      );
      // An archived product (docs/data.md) is no longer sold, even from a cart filled before: its
      // line is refused like a short one (a take made from it rolls back with the rest).
      const refused = lines.filter((l) => short.has(l) || products.get(l.product_id)?.archived !== false);
      if (refused.length > 0) {
        const details = refused.map((l) => {
          const p = products.get(l.product_id);
          return { product_id: l.product_id, requested: l.quantity, available: p && !p.archived ? p.stock : 0 };
        });
        const what = details.map((d) => `product ${d.product_id} has ${d.available} left, ${d.requested} requested`).join('; ');
        throw new AppError('OUT_OF_STOCK', `Not enough stock: ${what}.`, details);
      }
      const items = lines.map((l) => {
        const p = products.get(l.product_id)!;
        return { product_id: l.product_id, name: p.name, unit_price_cents: p.price_cents, quantity: l.quantity };
      });
      const subtotalCents = items.reduce((sum, i) => sum + i.unit_price_cents * i.quantity, 0);
      const shippingCents = shippingCost(opts.shipping, subtotalCents);
      const totalCents = subtotalCents + shippingCents;
      const ship = opts.shippingAddress ? shipColumns(opts.shippingAddress) : undefined;

      const createdAt = new Date();
      let id: number;
      try {
        id = await repo.insertOrder(
          trx,
          { user_id: userId, currency, idempotency_key: key, total_cents: totalCents, shipping_cents: shippingCents, ...ship },
          createdAt,
        );
      } catch (err) {
        if (key !== null && isUniqueViolation(err)) throw new KeyTaken();
        throw err;
      }
      await repo.insertItems(trx, id, items);
      await repo.removeCartLines(
        trx,
        userId,
        lines.map((l) => l.product_id),
      );
      const at = toDbTime(createdAt);
      const row: OrderRow = {
        id,
        user_id: userId,
        status: 'pending',
        total_cents: totalCents,
        currency,
        idempotency_key: key,
        payment_intent_id: null,
        created_at: at,
        updated_at: at,
        paid_at: null,
        intent_cancel_unconfirmed_at: null,
        checkout_session_id: null,
        shipping_cents: shippingCents,
        ship_name: null,
        ship_line1: null,
        ship_line2: null,
        ship_city: null,
        ship_postal_code: null,
        ship_region: null,
        ship_country: null,
        ...ship,
      };
      // The new order's messages, from what this transaction just wrote (orderSnapshot would read
      // back the same: the buyer's row is locked, DATETIME(3) keeps created_at to the millisecond).
      await notifyWithSnapshot(trx, 'order.placed', {
        id,
        status: 'pending',
        user_id: userId,
        username: buyer.username,
        email: buyer.email,
        currency,
        total_cents: totalCents,
        shipping_cents: shippingCents,
        refunded_cents: 0,
        created_at: fromDbTime(at),
        paid_at: null,
        items: items.map((i) => ({ product_id: i.product_id, name: i.name, unit_price_cents: i.unit_price_cents, quantity: i.quantity })),
        shipping_address: shippingAddressOf(row),
        tracking_number: null,
        carrier: null,
      });
      return toPublicOrder(
        row,
        items.map((i, n) => ({ ...i, id: n + 1, order_id: id })),
      );
    });
  } catch (err) {
    if (!(err instanceof KeyTaken)) throw err;
    return { order: await replay(db, userId, key!), created: false };
  }
  return { order, created: true };
}

async function replay(db: Db, userId: number, key: string): Promise<PublicOrder> {
  const [first] = await withItems(db, [await orderWithKey(db, userId, key)]);
  const cart = await repo.cartLines(db, userId);
  const madeFrom = first.items.map((i) => ({ product_id: i.product_id ?? -1, quantity: i.quantity }));
  if (cart.length > 0 && !sameLines(cart, madeFrom)) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different cart. Use a new key for a new order.');
  }
  return first;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading                                                                                    */

/** One order; NOT_FOUND when missing or, with `userId`, not that user's (no existence leak). */
export async function getOrder(db: Db, orderId: number, opts: { userId?: number } = {}): Promise<PublicOrder> {
  const row = await repo.findById(db, orderId);
  if (!row || (opts.userId !== undefined && Number(row.user_id) !== opts.userId)) throw notFound(`Order ${orderId}`);
  return (await withItems(db, [row]))[0];
}

export async function findOrderByPaymentIntent(db: Db, paymentIntentId: string): Promise<PublicOrder | undefined> {
  const row = await repo.findByPaymentIntent(db, paymentIntentId);
  return row ? (await withItems(db, [row]))[0] : undefined;
}

export async function listOrders(
  db: Db,
  f: { userId?: number; status?: string; since?: Date; before?: Date; limit?: number; offset?: number },
): Promise<{ items: PublicOrder[]; total: number }> {
  const status = f.status === undefined ? undefined : parseInput(orderStatusSchema, f.status, 'status');
  const { rows, total } = await repo.list(db, {
    userId: f.userId,
    status,
    since: f.since,
    createdBefore: f.before,
    limit: f.limit ?? 20,
    offset: f.offset ?? 0,
  });
  return { items: await withItems(db, rows), total };
}

/** Pending orders created before `cutoff`, oldest first (what `orders expire` cancels). */
export async function listPendingOlderThan(db: Db, cutoff: Date): Promise<PublicOrder[]> {
  return withItems(db, await repo.listPendingBefore(db, cutoff));
}

/**
 * Canceled orders whose PaymentIntent Stripe never confirmed canceled (customer cancels while
 * Stripe was unreachable or not configured), oldest first: `orders reconcile` follows them up.
 */
export async function listIntentCancelUnconfirmed(db: Db): Promise<PublicOrder[]> {
  return withItems(db, await repo.listIntentCancelUnconfirmed(db));
}

/** Stripe's final word on such an order's intent is known: it needs no more following up. */
export async function clearIntentCancelUnconfirmed(db: Db, orderId: number): Promise<void> {
  await repo.clearIntentCancelUnconfirmed(db, orderId);
}

/** Parses the CLI's `orders list` options (status, since YYYY-MM-DD, limit). */
export function parseOrderFilter(input: { status?: string; since?: string; limit?: string | number }) {
  return parseInput(orderFilterSchema, input, 'filter');
}

/** Usernames of the given users, for listings that show who ordered. */
export function usernamesOf(db: Db, userIds: number[]): Promise<Map<number, string>> {
  return repo.usernames(db, userIds);
}

/* ------------------------------------------------------------------------------------------ */
/* Payment intent                                                                             */

export async function findOrderByCheckoutSession(db: Db, sessionId: string): Promise<PublicOrder | undefined> {
  const row = await repo.findByCheckoutSession(db, sessionId);
  return row ? (await withItems(db, [row]))[0] : undefined;
}

/** Stores the order's Checkout Session id when it has none (or already has this one). */
export async function attachCheckoutSession(db: Db, orderId: number, sessionId: string): Promise<void> {
  let changed: number;
  try {
    changed = await repo.setCheckoutSession(db, orderId, sessionId);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('CONFLICT', `Checkout Session ${sessionId} already belongs to another order.`);
    throw err;
  }
  if (changed === 0) {
    const row = await repo.findById(db, orderId);
    if (!row) throw notFound(`Order ${orderId}`);
    throw new AppError('CONFLICT', `Order ${orderId} already has Checkout Session ${row.checkout_session_id}.`);
  }
}

/** Stores where an order goes, unless it already has an address. */
export async function setShippingAddress(db: Db | Knex.Transaction, orderId: number, address: ShippingAddress): Promise<void> {
  await repo.setShippingAddress(db, orderId, shipColumns(address));
}

/**
 * Stores the customer's e-mail as Stripe's hosted page collected it, unless one is stored: the
 * order's messages go there when the account has no e-mail (notifications/order-events.ts).
 */
export async function setCustomerEmail(db: Db | Knex.Transaction, orderId: number, email: string): Promise<void> {
  await repo.setCustomerEmail(db, orderId, email);
}

/** Stores the order's PaymentIntent id when it has none (or already has this one). */
export async function attachPaymentIntent(db: Db, orderId: number, paymentIntentId: string): Promise<void> {
  let changed: number;
  try {
    changed = await repo.setPaymentIntent(db, orderId, paymentIntentId);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('CONFLICT', `PaymentIntent ${paymentIntentId} already belongs to another order.`);
    throw err;
  }
  if (changed === 0) {
    const row = await repo.findById(db, orderId);
    if (!row) throw notFound(`Order ${orderId}`);
    throw new AppError('CONFLICT', `Order ${orderId} already has PaymentIntent ${row.payment_intent_id}.`);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* State moves                                                                                */

/**
 * The one way an order changes state: a guarded `UPDATE … WHERE status IN (states the table in
 * order-states.ts lets move into \`to\`)`. True when this call moved it; false when the order
 * was not in such a state (or, with `onlyWithoutIntent`, had a PaymentIntent).
 *
 * A move into `canceled` gives the stock back in the same transaction, and only the call whose
 * update moved the order returns it, so however many cancels (customer, webhook, expiry) race,
 * stock comes back exactly once.
 *
 * `paidAt`: stored as paid_at on a move into `paid`. `intentCancelUnconfirmed`: the order has a
 * PaymentIntent that Stripe could not be asked to cancel; it is marked for `orders reconcile` in
 * the same statement. `onlyWithoutIntent`: the caller saw no PaymentIntent; a checkout that
 * attached one since must not be left payable for a canceled order, so then nothing moves and
 * the caller looks again.
 */
export async function moveOrder(db: Db | Knex.Transaction, orderId: number, to: OrderStatus, opts: MoveOptions = {}): Promise<boolean> {
  const extra = {
    ...(to === 'paid' ? { paid_at: toDbTime(opts.paidAt ?? new Date()) } : {}),
    ...(opts.intentCancelUnconfirmed ? { intent_cancel_unconfirmed_at: toDbTime(new Date()) } : {}),
  };
  return inTransaction(db, async (trx) => {
    if ((await repo.moveStatus(trx, orderId, movesInto(to), to, extra, { withoutIntent: opts.onlyWithoutIntent })) === 0) return false;
    if (to === 'canceled') {
      const items = (await repo.itemsOf(trx, [orderId])).filter((i) => i.product_id !== null);
      // Product id order, the same lock order as order creation.
      items.sort((a, b) => Number(a.product_id) - Number(b.product_id));
      for (const i of items) await repo.returnStock(trx, Number(i.product_id), Number(i.quantity));
    }
    await opts.afterMove?.(trx);
    // The move's e-mail and webhooks, in its transaction (after afterMove: a shipped order's
    // tracking number is in the message).
    await notifyOrderEvent(trx, `order.${to as Exclude<OrderStatus, 'pending'>}`, orderId, opts.facts);
    return true;
  });
}

export interface MoveOptions {
  paidAt?: Date;
  intentCancelUnconfirmed?: boolean;
  onlyWithoutIntent?: boolean;
  /**
   * Runs in the move's transaction once the order has moved (not when it did not): an admin
   * move's extra columns and its audit row (docs/data.md, audit_log) commit with it or not at all.
   */
  afterMove?: (trx: Knex.Transaction) => Promise<void>;
  /** What the move's messages say beyond the order itself (an expiry rather than a cancel). */
  facts?: OrderEventFacts;
}

/** pending → paid with paid_at (moveOrder). */
export function markPaid(db: Db | Knex.Transaction, orderId: number, paidAt: Date = new Date(), opts: Pick<MoveOptions, 'afterMove'> = {}): Promise<boolean> {
  return moveOrder(db, orderId, 'paid', { paidAt, ...opts });
}

/** pending → canceled, stock back exactly once (moveOrder). */
export function cancelOrder(db: Db | Knex.Transaction, orderId: number, opts: Omit<MoveOptions, 'paidAt'> = {}): Promise<boolean> {
  return moveOrder(db, orderId, 'canceled', opts);
}

/**
 * The shop owner's move (`orders mark`): shipped (from paid), delivered (from shipped), or
 * canceled (from pending, giving stock back). Anything else is INVALID_TRANSITION.
 */
export async function markStatus(db: Db, orderId: number, to: 'shipped' | 'delivered' | 'canceled'): Promise<PublicOrder> {
  const target = parseInput(markableStatusSchema, to, 'status');
  // Canceling here never touches Stripe, so it is only for orders without a PaymentIntent;
  // one with an intent is canceled through payments/cancel.service.ts (as the CLI does).
  const moved = await moveOrder(db, orderId, target, { onlyWithoutIntent: target === 'canceled' });
  const order = await getOrder(db, orderId);
  if (!moved) {
    if (target === 'canceled' && order.status === 'pending' && order.payment_intent_id) {
      throw new AppError('INVALID_TRANSITION', `Order ${order.id} has a PaymentIntent: cancel it through the payments service so the intent is canceled too.`);
    }
    throw invalidTransition(order, target);
  }
  return order;
}

/** A canceled order whose PaymentIntent Stripe could not be told to cancel: reconcile follows up. */
export async function markIntentCancelUnconfirmed(db: Db, orderId: number): Promise<void> {
  await repo.markIntentCancelUnconfirmed(db, orderId);
}
