/**
 * The signed-in user's cart: one line per product, never above the product's stock.
 *
 * Every change is a single guarded statement (see cart.repository.ts), so concurrency is
 * decided by the database, not by a read-then-write here. Reads after a refused statement only
 * decide which error to give (or to try again when the state moved underneath). The statements
 * deliberately run on their own rather than in one transaction: after a duplicate-key error
 * InnoDB keeps a shared lock on the clashing row until the transaction ends, and concurrent
 * retries inside such transactions deadlock each other; on their own they simply serialise.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/connection.js';
import { isForeignKeyViolation, isRetryableLockError, isUniqueViolation } from '../db/errors.js';
import { AppError, accountRemoved, notFound } from '../errors.js';
import { centsToNumber } from '../money.js';
import { parseInput } from '../validation.js';
import { cartRepository as repo, type CartLineRow } from './cart.repository.js';
import { addToCartSchema, cartProductSchema, type AddToCart, type Cart } from './cart.schemas.js';

const MAX_ATTEMPTS = 8;

/**
 * Runs `attempt` until it settles: it returns a result, or `undefined` to be tried again because
 * the state changed between its statements. Lock conflicts (MySQL deadlocks) are retried too.
 */
async function settle<T>(attempt: () => Promise<T | undefined>): Promise<T> {
  for (let i = 1; i <= MAX_ATTEMPTS; i++) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (err) {
      if (isRetryableLockError(err)) {
        await sleep(Math.floor(Math.random() * 5 * i));
        continue;
      }
      throw err;
    }
  }
  throw new AppError('CONFLICT', 'The cart changed too many times at once; please try again.');
}

function toCart(rows: CartLineRow[], currency: string): Cart {
  let count = 0;
  let totalCents = 0;
  const items = rows.map((r) => {
    const priceCents = Number(r.price_cents);
    const quantity = Number(r.quantity);
    const lineCents = priceCents * quantity;
    count += quantity;
    totalCents += lineCents;
    return {
      product_id: Number(r.product_id),
      name: r.name,
      price: centsToNumber(priceCents),
      price_cents: priceCents,
      quantity,
      line_total: centsToNumber(lineCents),
      line_total_cents: lineCents,
      image_url: r.image_url ?? null,
      stock: Number(r.stock),
    };
  });
  return { items, count, total: centsToNumber(totalCents), total_cents: totalCents, currency };
}

/** The cart with current names, prices and stock. `count` is the sum of the quantities. */
export async function getCart(db: Db, userId: number, currency: string): Promise<Cart> {
  return toCart(await repo.lines(db, userId), currency);
}

function outOfStock(productId: number, requested: number, stock: number, inCart: number): AppError {
  const available = Math.max(0, stock - inCart);
  const why = inCart > 0 ? `${stock} in stock and ${inCart} already in your cart` : `${stock} in stock`;
  return new AppError('OUT_OF_STOCK', `Cannot add ${requested} of product ${productId}: ${why}.`, [{ product_id: productId, requested, available }]);
}

/**
 * Adds `quantity` of a product: to the existing line, or as a new line. Concurrent adds by one
 * user end as one line whose quantity is their sum; an add that would take the line above the
 * product's stock is refused whole (409 OUT_OF_STOCK, details.available = how many more fit).
 * The cart it answers is read right after the write that succeeded, on the same connection.
 */
export async function addToCart(db: Db, userId: number, input: AddToCart | Record<string, unknown>, currency: string): Promise<Cart> {
  const { product_id: productId, quantity } = parseInput(addToCartSchema, input, 'body');
  const rows = await settle(async () => {
    const added = await repo.addToLineThenLines(db, userId, productId, quantity);
    if (added.changes > 0) return added.rows;
    // No line to add to (a line that is there but too full would refuse the insert on its unique key).
    if (!added.rows.some((r) => Number(r.product_id) === productId)) {
      try {
        const inserted = await repo.insertLineThenLines(db, userId, productId, quantity);
        if (inserted.changes > 0) return inserted.rows;
      } catch (err) {
        // A token outlives its user by up to 15 minutes: the new line then points at no user.
        if (isForeignKeyViolation(err) && !(await repo.userExists(db, userId))) throw accountRemoved(err);
        // The line exists: created by a concurrent first add.
        if (!isUniqueViolation(err)) throw err;
      }
    }
    const stock = await repo.productStock(db, productId);
    if (stock === undefined) throw notFound(`Product ${productId}`);
    const inCart = (await repo.quantityOf(db, userId, productId)) ?? 0;
    if (inCart + quantity <= stock) return undefined; // stock or the line moved meanwhile: try again
    throw outOfStock(productId, quantity, stock, inCart);
  });
  return toCart(rows, currency);
}

/** One more of a product already in the cart (404 if it is not there, 409 at its stock). */
export async function incrementLine(db: Db, userId: number, input: { product_id: number } | Record<string, unknown>, currency: string): Promise<Cart> {
  const { product_id: productId } = parseInput(cartProductSchema, input, 'body');
  const rows = await settle(async () => {
    const added = await repo.addToLineThenLines(db, userId, productId, 1);
    if (added.changes > 0) return added.rows;
    const inCart = await repo.quantityOf(db, userId, productId);
    if (inCart === undefined) throw notFound(`Product ${productId} in your cart`);
    const stock = (await repo.productStock(db, productId)) ?? 0;
    if (inCart + 1 <= stock) return undefined;
    throw outOfStock(productId, 1, stock, inCart);
  });
  return toCart(rows, currency);
}

/** One fewer; the line goes away at quantity 1 (never a line of 0). 404 if it is not in the cart. */
export async function decrementLine(db: Db, userId: number, input: { product_id: number } | Record<string, unknown>, currency: string): Promise<Cart> {
  const { product_id: productId } = parseInput(cartProductSchema, input, 'body');
  await settle(async () => {
    if ((await repo.decrementLine(db, userId, productId)) > 0) return true;
    if ((await repo.removeLastOne(db, userId, productId)) > 0) return true;
    // Neither matched: the line is gone, or another request changed its quantity in between.
    if ((await repo.quantityOf(db, userId, productId)) === undefined) throw notFound(`Product ${productId} in your cart`);
    return undefined;
  });
  return getCart(db, userId, currency);
}

/**
 * One fewer, but never below 1 (the old backend's rule, docs/legacy.md): 404 when the product is
 * not in the cart, 409 LINE_AT_MINIMUM-style CONFLICT at quantity 1 (the line stays).
 */
export async function decrementKeepingLine(db: Db, userId: number, input: { product_id: number } | Record<string, unknown>, currency: string): Promise<Cart> {
  const { product_id: productId } = parseInput(cartProductSchema, input, 'body');
  await settle(async () => {
    if ((await repo.decrementLine(db, userId, productId)) > 0) return true;
    const inCart = await repo.quantityOf(db, userId, productId);
    if (inCart === undefined) throw notFound(`Product ${productId} in your cart`);
    if (inCart <= 1) throw new AppError('CONFLICT', `Product ${productId} is down to 1 in your cart; remove the line instead.`);
    return undefined;
  });
  return getCart(db, userId, currency);
}

/** The ids of the user's cart lines, by product id. */
export function cartLineIds(db: Db, userId: number): Promise<Map<number, number>> {
  return repo.lineIds(db, userId);
}

/** Removes a product's line. 404 if the caller's cart does not have it (whoever else does). */
/** Removes a product's line (404 if it is not in the cart). Like every cart write, retried after a lock conflict. */
export async function removeFromCart(db: Db, userId: number, productId: number, currency: string): Promise<Cart> {
  await settle(async () => {
    if ((await repo.removeLine(db, userId, productId)) === 0) throw notFound(`Product ${productId} in your cart`);
    return true;
  });
  return getCart(db, userId, currency);
}

export async function clearCart(db: Db, userId: number, currency: string): Promise<Cart> {
  await settle(async () => {
    await repo.clear(db, userId);
    return true;
  });
  return getCart(db, userId, currency);
}
